#!/usr/bin/env python3
"""Export a torchvision backbone's state dict as safetensors for freqcap.

    /usr/bin/python3 tools/export_torchvision.py --model resnet50 --out resnet50.safetensors [--pretrained]

NAME is one of alexnet, efficientnet_b0, efficientnet_b1, resnet50,
mobilenet_v2. By default the weights are torchvision's random initialisation
(seeded by --seed); --pretrained uses the ImageNet weights when they are
already in the torch hub cache (~/.cache/torch/hub/checkpoints; nothing is
downloaded). Names and shapes are torchvision's state-dict ones (BatchNorm
running statistics and num_batches_tracked included); float tensors are F32,
integer buffers I64. The file's __metadata__ records the model name and its
parameter count. Needs only Debian's python3-torch and python3-torchvision.
"""
import argparse
import json
import os
import struct
import sys

import torch
import torchvision

MODELS = ["alexnet", "efficientnet_b0", "efficientnet_b1", "resnet50", "mobilenet_v2"]
_ST = {torch.float32: "F32", torch.int64: "I64"}


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} (float32 / int64) to `path` via a temporary file and rename."""
    header, offset, items = {}, 0, []
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype.is_floating_point:
            t = t.float()
        elif t.dtype != torch.int64:
            t = t.long()
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _ST[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        items.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = f"{path}.{os.getpid()}.tmp"  # unique: parallel test processes may write the same file
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in items:
            f.write(data)
    os.replace(tmp, path)


def cached_weights(name):
    """The DEFAULT ImageNet weights enum of `name` if its file is in the hub cache, else exit with an error."""
    weights = torchvision.models.get_model_weights(name).DEFAULT
    path = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(weights.url))
    if not os.path.exists(path):
        sys.exit(f"error: --pretrained: {path} is not in the torch cache (download {weights.url} there first)")
    return weights


def build(name, pretrained=False, seed=0):
    """The torchvision model `name` in eval mode (random init from `seed` unless pretrained)."""
    if name not in MODELS:
        sys.exit(f"error: unknown model '{name}' (known: {', '.join(MODELS)})")
    torch.manual_seed(seed)
    weights = cached_weights(name) if pretrained else None
    model = getattr(torchvision.models, name)(weights=weights)
    return model.eval()


def perturb_batchnorm(model, seed):
    """Gives every BatchNorm non-trivial affine parameters and running statistics, so that
    a parity test exercises them (a fresh torchvision model has 1/0 everywhere)."""
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=g))
                m.bias.copy_(0.1 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + torch.rand(c, generator=g))
                m.num_batches_tracked.fill_(7)


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def export(model, name, out):
    write_safetensors(out, model.state_dict(), {"model": name, "parameter_count": parameter_count(model),
                                                "torchvision": torchvision.__version__})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=MODELS)
    ap.add_argument("--out", required=True, help="output .safetensors file")
    ap.add_argument("--pretrained", action="store_true", help="ImageNet weights from the torch hub cache")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random initialisation")
    ap.add_argument("--perturb-bn", action="store_true",
                    help="random BatchNorm affine parameters and running statistics (for parity tests)")
    args = ap.parse_args()
    model = build(args.model, args.pretrained, args.seed)
    if args.perturb_bn:
        perturb_batchnorm(model, args.seed)
    export(model, args.model, args.out)
    print(f"{args.out}: {args.model}, {parameter_count(model)} parameters, {len(model.state_dict())} tensors")


if __name__ == "__main__":
    main()
