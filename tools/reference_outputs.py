#!/usr/bin/env python3
"""Reference outputs of a torchvision backbone for freqcap's parity tests.

    /usr/bin/python3 tools/reference_outputs.py --model NAME --out-dir DIR \
        [--shapes 2x224x224,1x160x96] [--seed 0] [--pretrained]

    /usr/bin/python3 tools/reference_outputs.py --image-fixtures tests/fixtures/image

Writes DIR/NAME.weights.safetensors (the state dict as export_torchvision.py
writes it, with randomised BatchNorm statistics unless --pretrained) and
DIR/NAME.reference.safetensors holding, per shape NxHxW with index i,
input_i [N, 3, H, W] (standard normal, seeded), features_i (the model's
`features`, or layer4's output for ResNet) and logits_i, all computed in eval
mode in float32. Its metadata gives the model name, the shapes and the
parameter count. Both files are written via a temporary file and rename;
DIR/NAME.done is written last.

--image-fixtures DIR writes the small committed fixtures of
tests/test_image.cpp instead: gradient.png / gradient.jpg / grey.png /
truncated.png, and image.safetensors with their pixels as torchvision.io
decodes them and torch.nn.functional.interpolate(mode="bilinear",
align_corners=False, antialias=True/False), torchvision's Resize(int) and
CenterCrop outputs for a random image.
"""
import argparse
import os
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import export_torchvision as ex  # noqa: E402


def features(model, name, x):
    if name == "resnet50":
        m = model
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        return m.layer4(m.layer3(m.layer2(m.layer1(x))))
    return model.features(x)


def image_fixtures(out):
    import torch.nn.functional as F
    import torchvision.io as tio
    import torchvision.transforms.functional as TF
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    h, w = 23, 31
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    rgb = torch.stack([(xx * 255) // (w - 1), (yy * 255) // (h - 1), ((xx * 7 + yy * 13) % 256)]).to(torch.uint8)
    tio.write_png(rgb, str(out / "gradient.png"))
    tio.write_jpeg(rgb, str(out / "gradient.jpg"), quality=95)
    tio.write_png(rgb[1:2], str(out / "grey.png"))
    data = (out / "gradient.png").read_bytes()
    (out / "truncated.png").write_bytes(data[: len(data) // 2])
    t = {"png_pixels": tio.read_image(str(out / "gradient.png")).float() / 255,
         "jpg_pixels": tio.read_image(str(out / "gradient.jpg")).float() / 255,
         "grey_pixels": tio.read_image(str(out / "grey.png")).float() / 255}
    g = torch.Generator().manual_seed(5)
    x = torch.rand(1, 3, 19, 27, generator=g)
    t["resize_input"] = x
    for oh, ow in [(10, 12), (4, 5), (31, 40), (25, 15), (19, 27), (1, 1)]:
        for aa in (True, False):
            y = F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False, antialias=aa)
            t[f"resize_{'aa' if aa else 'plain'}_{oh}x{ow}"] = y
    t["shorter_12"] = TF.resize(x[0], 12, antialias=True)
    t["crop_10x12"] = TF.center_crop(x[0], [10, 12])
    t["crop_12x18"] = TF.center_crop(x[0], [12, 18])
    ex.write_safetensors(out / "image.safetensors", t, {"generator": "tools/reference_outputs.py --image-fixtures"})
    print(f"{out}: image fixtures")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--image-fixtures":
        return image_fixtures(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=ex.MODELS)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--shapes", default="2x224x224,1x160x96", help="comma-separated NxHxW list")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pretrained", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = pathlib.Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = ex.build(args.model, args.pretrained, args.seed)
    if not args.pretrained:
        ex.perturb_batchnorm(model, args.seed)
    ex.export(model, args.model, out / f"{args.model}.weights.safetensors")
    g = torch.Generator().manual_seed(args.seed + 2)
    tensors = {}
    shapes = args.shapes.split(",")
    with torch.no_grad():
        for i, s in enumerate(shapes):
            n, h, w = (int(v) for v in s.split("x"))
            x = torch.randn(n, 3, h, w, generator=g)
            tensors[f"input_{i}"] = x
            tensors[f"features_{i}"] = features(model, args.model, x)
            tensors[f"logits_{i}"] = model(x)
    ex.write_safetensors(out / f"{args.model}.reference.safetensors", tensors,
                         {"model": args.model, "shapes": args.shapes,
                          "parameter_count": ex.parameter_count(model)})
    done = out / f"{args.model}.done.{os.getpid()}"
    done.write_text("ok\n")
    os.replace(done, out / f"{args.model}.done")
    print(f"{out}: {args.model} references for {args.shapes}")


if __name__ == "__main__":
    main()
