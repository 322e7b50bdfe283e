#!/usr/bin/env python3
"""Writes tests/fixtures/autograd/nn_ops.json: PyTorch reference values for
freqcap's autograd NN ops (conv2d, batch_norm, layer_norm, pools, losses,
embedding). Every case stores its inputs, a random projection r of the output
(loss = sum(out * r)), the forward output and the gradients of that loss, all
computed in float64. Run: /usr/bin/python3 tools/autograd_reference.py
"""
import json
import pathlib

import torch
import torch.nn.functional as F

torch.manual_seed(1234)
torch.set_default_dtype(torch.float64)
OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "autograd" / "nn_ops.json"


def t(x):
    x = x.detach()
    return {"shape": list(x.shape), "data": [float(v) if x.is_floating_point() else int(v) for v in x.reshape(-1).tolist()]}


def rnd(*shape):
    return torch.randn(*shape).requires_grad_(True)


def finish(name, inputs, out, params=None, extra=None):
    """loss = sum(out * r); record out and d loss / d input for float inputs."""
    r = torch.randn(out.shape) if out.dim() > 0 else torch.tensor(1.0)
    (out * r).sum().backward()
    case = {"params": params or {}, "inputs": {k: t(v) for k, v in inputs.items()}, "r": t(r), "out": t(out),
            "grads": {k: t(v.grad) for k, v in inputs.items() if torch.is_tensor(v) and v.requires_grad}}
    if extra:
        case["extra"] = {k: t(v) for k, v in extra.items()}
    cases[name] = case


cases = {}

for name, xs, ws, p in [
    ("conv_groups", (2, 4, 7, 6), (6, 2, 3, 2), dict(stride=[2, 1], padding=[1, 2], dilation=[2, 1], groups=2)),
    ("conv_depthwise", (2, 3, 5, 5), (3, 1, 3, 3), dict(stride=[1, 1], padding=[1, 1], dilation=[1, 1], groups=3)),
    ("conv_pointwise", (3, 5, 4, 3), (2, 5, 1, 1), dict(stride=[1, 1], padding=[0, 0], dilation=[1, 1], groups=1)),
    ("conv_strided", (2, 3, 9, 8), (4, 3, 3, 3), dict(stride=[2, 2], padding=[1, 1], dilation=[1, 1], groups=1)),
]:
    x, w, b = rnd(*xs), rnd(*ws), rnd(ws[0])
    y = F.conv2d(x, w, b, stride=p["stride"], padding=p["padding"], dilation=p["dilation"], groups=p["groups"])
    finish(name, {"x": x, "w": w, "b": b}, y, p)

for training in (True, False):
    x, w, b = rnd(4, 3, 3, 2), rnd(3), rnd(3)
    rm, rv = torch.randn(3), torch.rand(3) + 0.5
    rm0, rv0 = rm.clone(), rv.clone()
    y = F.batch_norm(x, rm, rv, w, b, training=training, momentum=0.1, eps=1e-5)
    finish("batch_norm_" + ("train" if training else "eval"), {"x": x, "w": w, "b": b}, y,
           {"training": training}, {"running_mean_in": rm0, "running_var_in": rv0,
                                    "running_mean_out": rm, "running_var_out": rv})

x, w, b = rnd(3, 4, 5), rnd(5), rnd(5)
finish("layer_norm", {"x": x, "w": w, "b": b}, F.layer_norm(x, (5,), w, b, eps=1e-5))

for name, p in [("max_pool_pad_ceil", dict(kernel=[3, 3], stride=[2, 2], padding=[1, 1], dilation=[1, 1], ceil_mode=True)),
                ("max_pool_dilated", dict(kernel=[2, 3], stride=[1, 2], padding=[1, 1], dilation=[2, 2], ceil_mode=False))]:
    x = rnd(2, 2, 7, 6)
    y = F.max_pool2d(x, p["kernel"], p["stride"], p["padding"], p["dilation"], ceil_mode=p["ceil_mode"])
    finish(name, {"x": x}, y, p)

for name, p in [("avg_pool_incl", dict(kernel=[3, 3], stride=[2, 2], padding=[1, 1], ceil_mode=True, count_include_pad=True)),
                ("avg_pool_excl", dict(kernel=[3, 2], stride=[2, 1], padding=[1, 1], ceil_mode=True, count_include_pad=False))]:
    x = rnd(2, 2, 7, 6)
    y = F.avg_pool2d(x, p["kernel"], p["stride"], p["padding"], ceil_mode=p["ceil_mode"],
                     count_include_pad=p["count_include_pad"])
    finish(name, {"x": x}, y, p)

x = rnd(2, 2, 7, 5)
finish("adaptive_avg_pool", {"x": x}, F.adaptive_avg_pool2d(x, (3, 2)), {"out": [3, 2]})

for name, smoothing in [("cross_entropy", 0.0), ("cross_entropy_smooth", 0.1)]:
    x = rnd(6, 5)
    tg = torch.tensor([0, 4, -100, 2, 1, 3])
    finish(name, {"logits": x}, F.cross_entropy(x, tg, ignore_index=-100, label_smoothing=smoothing),
           {"label_smoothing": smoothing}, {"targets": tg})

x = rnd(2, 4, 6)
tg = torch.tensor([[1, 5, 0, 0], [2, 3, 4, 0]])
mask = (tg != 0).to(torch.float64)
per_token = F.cross_entropy(x.reshape(-1, 6), tg.reshape(-1), reduction="none").reshape(2, 4)
finish("masked_cross_entropy", {"logits": x}, (per_token * mask).sum() / mask.sum(), {}, {"targets": tg, "mask": mask})

wt = rnd(7, 3)
idx = torch.tensor([[1, 0, 6], [0, 2, 1]])
finish("embedding", {"w": wt}, F.embedding(idx, wt, padding_idx=0), {"padding_idx": 0}, {"indices": idx})

# Probability targets (rows deliberately not summing to 1), and the distillation
# loss built on them: 0.3 * CE(x, labels) + 0.7 * T^2 * CE(x / T, softmax(teacher / T)), T = 2.
x = rnd(5, 4)
probs = torch.softmax(torch.randn(5, 4), 1) * torch.tensor([[1.0], [0.5], [1.0], [2.0], [1.0]])
finish("cross_entropy_probs", {"logits": x}, F.cross_entropy(x, probs), {}, {"probs": probs})
x, teacher = rnd(5, 4), torch.randn(5, 4)
tg = torch.tensor([3, 0, 1, 1, 2])
kd = 0.3 * F.cross_entropy(x, tg) + 0.7 * 4.0 * F.cross_entropy(x / 2.0, torch.softmax(teacher / 2.0, 1))
finish("distillation", {"logits": x}, kd, {"temperature": 2.0, "weight": 0.7}, {"teacher": teacher, "targets": tg})

OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps({"torch_version": torch.__version__, "cases": cases}, indent=None) + "\n")
print(f"wrote {OUT} ({len(cases)} cases)")
