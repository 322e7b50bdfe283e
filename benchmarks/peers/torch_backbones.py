#!/usr/bin/env python3
"""PyTorch peer of benchmarks/bench_backbones.cpp: forward latency of the
torchvision backbones (eval, no_grad, logits) at N x 3 x 299 x 299; with
--train, the peer of bench_fr's *_train_dense: one training step (train mode,
zero_grad, forward, backward of sum(logits * R)) at N x 3 x S x S, 10 classes.

usage: /usr/bin/python3 benchmarks/peers/torch_backbones.py --threads 1 [--batch 1 16]
       [--models alexnet ...] [--json out.json]
       /usr/bin/python3 benchmarks/peers/torch_backbones.py --threads 1 --train --batch 64
       --size 32 --models efficientnet_b0
Each model is timed in NCHW and in channels_last; both are printed and the
faster one is marked. Times are medians over rounds: wall ms and process CPU
ms per call. The script re-executes itself once with OMP/OpenBLAS thread
counts and glibc's MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ set, since
they must be in the environment when the process starts.
"""
import argparse
import json
import sys

import peer_env

MODELS = ["alexnet", "efficientnet_b0", "efficientnet_b1", "resnet50", "mobilenet_v2"]


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    peer_env.add_common_args(p, min_time=2.0)
    p.add_argument("--batch", type=int, nargs="+", default=[1])
    p.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    p.add_argument("--train", action="store_true", help="time a training step (10 classes) instead")
    p.add_argument("--size", type=int, default=299, help="input height and width")
    return p.parse_args()


args = parse()
peer_env.pin_threads(args.threads)

import torch  # noqa: E402
import torchvision  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_grad_enabled(args.train)


def time_ms(fn):
    return peer_env.time_ms(fn, args.rounds, args.min_time)


def main():
    torch.manual_seed(0)
    out = []
    for name in args.models:
        ctor = getattr(torchvision.models, name)
        model = ctor(weights=None, num_classes=10).train() if args.train else ctor(weights=None).eval()
        for b in args.batch:
            x = torch.randn(b, 3, args.size, args.size)
            r = torch.randn(b, 10) if args.train else None

            def call(m, xx):
                if not args.train:
                    return m(xx)
                m.zero_grad()
                (m(xx) * r).sum().backward()

            res = {}
            for layout in ("nchw", "channels_last"):
                if layout == "channels_last":
                    m = model.to(memory_format=torch.channels_last)
                    xx = x.contiguous(memory_format=torch.channels_last)
                else:
                    m, xx = model, x
                res[layout] = time_ms(lambda: call(m, xx))
            best = min(res, key=lambda k: res[k][0])
            for layout, (ms, cpu) in res.items():
                out.append({"name": f"{name}/{b}", "layout": layout, "ms": ms, "cpu_ms": cpu,
                            "best": layout == best})
                print(f"{name + '/' + str(b):22s} {layout:14s} {ms:10.2f} ms wall {cpu:10.2f} ms cpu"
                      f"{'  *' if layout == best else ''}", flush=True)
            model = model.to(memory_format=torch.contiguous_format)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                                "threads": args.threads}, "results": out}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
