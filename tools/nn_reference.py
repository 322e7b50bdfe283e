#!/usr/bin/env python3
"""Writes PyTorch reference data for freqcap's nn/ modules and optimizers:

tests/fixtures/nn/modules.safetensors
    For each case <c>: the module's state dict as "<c>.state.<name>" (PyTorch's
    names and dtypes: float32, int64 num_batches_tracked), inputs "<c>.x",
    outputs "<c>.y", and for some cases the parameter gradients of
    loss = sum(y * r) as "<c>.grad.<name>" (r is "<c>.r"). Cases: Linear,
    Conv2d (stride/padding/groups, and dilation without bias), BatchNorm2d and
    BatchNorm1d (one training step, the buffers after it, then eval on a
    second input),
    LayerNorm (one and two normalised axes), Embedding with padding_idx, and a
    Sequential(Conv2d, BatchNorm2d, ReLU, Flatten, Linear) in eval mode.

tests/fixtures/nn/optim.safetensors
    Two parameters ("p0" [3, 4], "p1" [5]), five fixed gradients per
    parameter ("grad.<t>.<p>"), and for each optimizer configuration <o> the
    parameters after each step ("<o>.<t>.<p>", t = 1..5), from torch.optim's
    single-tensor (foreach=False) path.

The files are written by hand (8-byte header length, JSON header, data), as
the safetensors format specifies, so no extra package is needed.
Run: /usr/bin/python3 tools/nn_reference.py
"""
import json
import pathlib
import struct

import torch
import torch.nn as nn

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "nn"
DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for b in blobs:
            f.write(b)


def randomize(module):
    """Non-default values everywhere, so a loader that skips a tensor fails."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn(p.shape) * 0.5)
        for name, b in module.named_buffers():
            if name.endswith("running_var"):
                b.copy_(torch.rand(b.shape) + 0.5)
            elif name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape) * 0.3)


def add_state(out, case, module):
    for name, t in module.state_dict().items():
        out[f"{case}.state.{name}"] = t.clone()


def add_grads(out, case, module, y):
    r = torch.randn(y.shape)
    module.zero_grad()
    (y * r).sum().backward()
    out[f"{case}.r"] = r
    for name, p in module.named_parameters():
        out[f"{case}.grad.{name}"] = p.grad.clone()


def modules():
    torch.manual_seed(20240601)
    out = {}

    lin = nn.Linear(5, 3)
    randomize(lin)
    add_state(out, "linear", lin)
    x = torch.randn(2, 4, 5)
    y = lin(x)
    out["linear.x"], out["linear.y"] = x, y.detach()
    add_grads(out, "linear", lin, y)

    conv = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    randomize(conv)
    add_state(out, "conv", conv)
    x = torch.randn(2, 4, 7, 6)
    y = conv(x)
    out["conv.x"], out["conv.y"] = x, y.detach()
    add_grads(out, "conv", conv, y)

    conv = nn.Conv2d(3, 4, (3, 2), stride=(1, 2), padding=(2, 0), dilation=(2, 1), bias=False)
    randomize(conv)
    add_state(out, "conv_dil", conv)
    x = torch.randn(1, 3, 6, 7)
    out["conv_dil.x"], out["conv_dil.y"] = x, conv(x).detach()

    bn = nn.BatchNorm2d(3)
    randomize(bn)
    add_state(out, "bn", bn)  # the state before training
    x = torch.randn(4, 3, 5, 5) * 2 + 1
    bn.train()
    out["bn.x"], out["bn.y_train"] = x, bn(x).detach()
    for name, t in bn.state_dict().items():
        out[f"bn.after.{name}"] = t.clone()
    bn.eval()
    x2 = torch.randn(2, 3, 4, 4)
    out["bn.x2"], out["bn.y_eval"] = x2, bn(x2).detach()

    ln = nn.LayerNorm(8)
    randomize(ln)
    add_state(out, "ln", ln)
    x = torch.randn(2, 3, 8) * 3 + 0.5
    y = ln(x)
    out["ln.x"], out["ln.y"] = x, y.detach()
    add_grads(out, "ln", ln, y)

    ln2 = nn.LayerNorm([4, 5], eps=1e-6)
    randomize(ln2)
    add_state(out, "ln2", ln2)
    x = torch.randn(3, 4, 5)
    out["ln2.x"], out["ln2.y"] = x, ln2(x).detach()

    emb = nn.Embedding(10, 4, padding_idx=2)
    add_state(out, "emb", emb)
    idx = torch.tensor([[1, 2, 9], [2, 0, 1]], dtype=torch.int64)
    y = emb(idx)
    out["emb.idx"], out["emb.y"] = idx, y.detach()
    add_grads(out, "emb", emb, y)

    seq = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4 * 4 * 4, 5))
    randomize(seq)
    seq[1].num_batches_tracked.fill_(7)
    seq.eval()
    add_state(out, "seq", seq)
    x = torch.randn(2, 3, 4, 4)
    out["seq.x"], out["seq.y"] = x, seq(x).detach()

    # Last, so the random draws of the cases above stay as they were.
    bn1 = nn.BatchNorm1d(5, momentum=0.3)
    randomize(bn1)
    add_state(out, "bn1d", bn1)
    x = torch.randn(6, 5) * 3 - 1
    bn1.train()
    out["bn1d.x"], out["bn1d.y_train"] = x, bn1(x).detach()
    for name, t in bn1.state_dict().items():
        out[f"bn1d.after.{name}"] = t.clone()
    bn1.eval()
    x2 = torch.randn(3, 5)
    out["bn1d.x2"], out["bn1d.y_eval"] = x2, bn1(x2).detach()

    write_safetensors(OUT / "modules.safetensors", out)


OPTIMIZERS = {
    "sgd": lambda ps: torch.optim.SGD(ps, lr=0.1),
    "sgd_momentum": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "sgd_nesterov": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, weight_decay=0.02, nesterov=True),
    "adam": lambda ps: torch.optim.Adam(ps, lr=0.01, foreach=False),
    "adam_l2": lambda ps: torch.optim.Adam(ps, lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1, foreach=False),
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.02, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.1, foreach=False),
}


def optim():
    torch.manual_seed(777)
    p0, p1 = torch.randn(3, 4), torch.randn(5)
    grads = [(torch.randn(3, 4), torch.randn(5)) for _ in range(5)]
    out = {"p0": p0, "p1": p1}
    for t, (g0, g1) in enumerate(grads, 1):
        out[f"grad.{t}.p0"], out[f"grad.{t}.p1"] = g0, g1
    for name, make in OPTIMIZERS.items():
        params = [p0.clone().requires_grad_(True), p1.clone().requires_grad_(True)]
        opt = make(params)
        for t, (g0, g1) in enumerate(grads, 1):
            params[0].grad, params[1].grad = g0.clone(), g1.clone()
            opt.step()
            out[f"{name}.{t}.p0"], out[f"{name}.{t}.p1"] = params[0].detach().clone(), params[1].detach().clone()
    write_safetensors(OUT / "optim.safetensors", out)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    modules()
    optim()
    for f in sorted(OUT.glob("*.safetensors")):
        print(f, f.stat().st_size, "bytes")
