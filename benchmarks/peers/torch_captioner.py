#!/usr/bin/env python3
"""PyTorch peer of benchmarks/bench_captioner.cpp: the committed captioner
(models/scenes-captioner.safetensors) in PyTorch, through the twin of
tools/captioner_reference.py (the parity test checks that twin against
freqcap to ~1e-7 and word for word), on the same inputs.

usage: /usr/bin/python3 benchmarks/peers/torch_captioner.py --threads 1 [--json out.json]

Cases (the demo's eight 128x128 scenes tiled to the batch):
  image_tokens/64     backbone forward -> image tokens [64, 64, 128] (eval, no_grad)
  greedy/64           encoder + greedy decoding with a key/value cache (eval, no_grad)
  caption_images/64   both of the above
  train_step/32       32 images' cached tokens x 5 captions: train mode, zero_grad,
                      encoder, decoder (teacher forcing), masked token cross-entropy,
                      backward, clip_grad_norm_ 5, Adam step (lr 1e-3)
Captions for the training step are models/scenes-demo/test.json's, split on
spaces and looked up in the model's vocabulary (freqcap's tokenizer gives the
same ids on these plain lowercase captions). Channels_last is tried for the
backbone and the faster layout is kept. Times are medians over rounds (wall and
process CPU ms per call); the script re-executes itself once with thread counts
and glibc's malloc thresholds in its environment (peer_env.py).
"""
import argparse
import json
import pathlib
import sys

import peer_env

ROOT = pathlib.Path(__file__).resolve().parents[2]


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    peer_env.add_common_args(p, min_time=2.0)
    p.add_argument("--model", default=str(ROOT / "models" / "scenes-captioner.safetensors"))
    p.add_argument("--demo", default=str(ROOT / "models" / "scenes-demo"))
    return p.parse_args()


args = parse()
peer_env.pin_threads(args.threads)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(ROOT / "tools"))
import captioner_reference as ref  # noqa: E402

torch.set_num_threads(args.threads)


def time_ms(fn):
    return peer_env.time_ms(fn, args.rounds, args.min_time)


def encode_captions(captions, vocab, seq_len):
    """(inputs, targets) [len, seq_len - 1]: <start> words <end>, 0-padded, as the trainer encodes them."""
    ids = {w: i for i, w in enumerate(vocab)}
    inputs = torch.zeros(len(captions), seq_len - 1, dtype=torch.int64)
    targets = torch.zeros_like(inputs)
    for r, c in enumerate(captions):
        seq = ([ref.START] + [ids.get(w, 1) for w in c.lower().split()] + [ref.END])[:seq_len]
        inputs[r, :len(seq) - 1] = torch.tensor(seq[:-1])
        targets[r, :len(seq) - 1] = torch.tensor(seq[1:])
    return inputs, targets


def main():
    torch.manual_seed(0)
    model, vocab, config = ref.load(args.model)
    demo = ref.read_images(pathlib.Path(args.demo) / "images", config["image_size"])
    images = demo.repeat(8, 1, 1, 1)  # 64
    max_len = config["seq_len"] - 1
    out = []

    def report(name, fn, batch, layout=""):
        wall, cpu = time_ms(fn)
        out.append({"case": name, "layout": layout, "wall_ms": wall, "cpu_ms": cpu, "images_per_s": batch / wall * 1e3})
        print(f"{name:22s} {layout:14s} {wall:9.2f} ms wall {cpu:9.2f} ms cpu  {batch / wall * 1e3:8.1f} images/s",
              flush=True)
        return wall

    with torch.no_grad():
        best, best_layout = None, None
        for layout in ("nchw", "channels_last"):
            fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
            model.backbone.to(memory_format=fmt)
            x = images.contiguous(memory_format=fmt)
            wall = report("image_tokens/64", lambda: model.image_tokens(x), 64, layout)
            if best is None or wall < best:
                best, best_layout = wall, layout
        fmt = torch.channels_last if best_layout == "channels_last" else torch.contiguous_format
        model.backbone.to(memory_format=fmt)
        x = images.contiguous(memory_format=fmt)
        tokens = model.image_tokens(x).contiguous()
        report("greedy/64", lambda: model.greedy(model.encoder(tokens), max_len), 64)
        report("caption_images/64", lambda: model.greedy(model.encoder(model.image_tokens(x)), max_len), 64,
               best_layout)

    # Training step: 32 images' cached tokens, 5 captions each (caption-major rows).
    refs = json.load(open(pathlib.Path(args.demo) / "test.json"))
    per_image = [refs[k][:5] for k in sorted(refs)] * 4  # 32 images
    captions = [per_image[i][k] for k in range(5) for i in range(32)]
    inputs, targets = encode_captions(captions, vocab, config["seq_len"])
    mask = targets != 0
    train_tokens = tokens[:32].clone()
    params = list(model.encoder.parameters()) + list(model.decoder.parameters())
    adam = torch.optim.Adam(params, lr=1e-3)
    model.encoder.train()
    model.decoder.train()

    def step():
        adam.zero_grad()
        memory = model.encoder(train_tokens)
        logits = model.decoder(inputs, torch.cat([memory] * 5, 0))
        loss = F.cross_entropy(logits[mask], targets[mask])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        adam.step()

    report("train_step/32", step, 32)
    if args.json:
        json.dump({"threads": args.threads, "torch": torch.__version__, "results": out}, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
