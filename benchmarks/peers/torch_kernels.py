#!/usr/bin/env python3
"""PyTorch peer of benchmarks/bench_kernels.cpp: times torch.bmm / torch.matmul
and torch.nn.functional.conv2d on the same shapes at a given thread count.
Conv is timed in NCHW and in channels_last; the faster is reported (and named).

usage: /usr/bin/python3 benchmarks/peers/torch_kernels.py --threads 1 [--json out.json]
Prints one line per case: name, wall milliseconds per call (median of timed
rounds) and process CPU milliseconds per call (all threads; on a shared,
busy machine the 1-thread CPU time is the robust number).
"""
import argparse
import json
import sys

import peer_env


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    peer_env.add_common_args(p, min_time=0.5)
    return p.parse_args()


args = parse()
peer_env.pin_threads(args.threads)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_grad_enabled(False)

GEMM = [  # (name, batch, m, n, k) — same as bench_kernels.cpp
    ("16x(64x64x64)", 16, 64, 64, 64),
    ("8x(128x512x512)", 8, 128, 512, 512),
    ("1x(512x512x512)", 1, 512, 512, 512),
    ("1x(400x512x512)", 1, 400, 512, 512),
]
CONV = [  # (name, n, c, hw, k, r, stride, pad, groups)
    ("N16_3x3_64to64_56", 16, 64, 56, 64, 3, 1, 1, 1),
    ("N1_1x1_256to64_56", 1, 256, 56, 64, 1, 1, 0, 1),
    ("N1_dw3x3_144_75", 1, 144, 75, 144, 3, 1, 1, 144),
    ("N1_3x3s2_3to32_299", 1, 3, 299, 32, 3, 2, 1, 1),
]


def time_ms(fn):
    return peer_env.time_ms(fn, args.rounds, args.min_time, warmup=3)


def main():
    torch.manual_seed(0)
    out = []
    for name, b, m, n, k in GEMM:
        a = torch.rand(b, m, k) * 2 - 1
        bb = torch.rand(b, k, n) * 2 - 1
        if b == 1:
            a2, b2 = a[0].contiguous(), bb[0].contiguous()
            ms, cpu = time_ms(lambda: torch.matmul(a2, b2))
        else:
            ms, cpu = time_ms(lambda: torch.bmm(a, bb))
        out.append({"name": f"gemm/{name}", "ms": ms, "cpu_ms": cpu,
                    "gflops": 2 * b * m * n * k / ms / 1e6})
    for name, n, c, hw, k, r, stride, pad, groups in CONV:
        x = torch.rand(n, c, hw, hw) * 2 - 1
        w = torch.rand(k, c // groups, r, r) * 2 - 1
        bias = torch.rand(k)
        best = None
        for layout in ("nchw", "channels_last"):
            xx, ww = x, w
            if layout == "channels_last":
                xx = x.contiguous(memory_format=torch.channels_last)
                ww = w.contiguous(memory_format=torch.channels_last)
            ms, cpu = time_ms(
                lambda: F.conv2d(xx, ww, bias, stride=stride, padding=pad, groups=groups))
            if best is None or cpu < best[1]:
                best = (ms, cpu, layout)
        oh = (hw + 2 * pad - r) // stride + 1
        flops = 2 * n * k * (c // groups) * r * r * oh * oh
        out.append({"name": f"conv2d/{name}", "ms": best[0], "cpu_ms": best[1],
                    "layout": best[2], "gflops": flops / best[0] / 1e6})
    meta = {"torch": torch.__version__, "threads": args.threads,
            "backend": torch.backends.mkldnn.is_available() and "mkldnn" or "native"}
    for r in out:
        extra = f"  ({r['layout']})" if "layout" in r else ""
        print(f"{r['name']:32s} {r['ms']:10.3f} ms wall {r['cpu_ms']:10.3f} ms cpu "
              f"{r['gflops']:8.1f} GFLOP/s{extra}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": out}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
