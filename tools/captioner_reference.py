#!/usr/bin/env python3
"""The captioner in PyTorch: an independent twin of freqcap's `model::Captioner`
(scenes_cnn backbone, Keras-semantics transformer encoder and decoder) that
loads a freqcap model file, for the parity test and the benchmark peer.

    /usr/bin/python3 tools/captioner_reference.py --model models/scenes-captioner.safetensors \
        --images models/scenes-demo/images --out DIR/captioner.reference.safetensors

Writes, computed in eval mode in float32 from the PNGs in --images (sorted by
name, decoded by torchvision.io, pixels / 255): `input` [N, 3, S, S], the image
tokens `tokens` [N, h*w, C], the encoder output `memory` [N, h*w, E], the greedy
token ids `greedy` [N, L] (0 after a caption ends, as padding), teacher-forced
logits `logits` [N, L, V] for the inputs <start> + greedy ids (0-padded: the
padding mask is exercised), and the greedy captions as JSON in the metadata
(`captions`). Written via a temporary file and rename.

The modules follow docs/captioner.md and docs/transformer.md, written from the
description, not from freqcap's code: post-LN blocks, LayerNorm eps 1e-3,
key_dim per head with scores scaled by 1/sqrt(key_dim) and masked scores set
to -1e9, token embedding x sqrt(E) plus learned positions.
"""
import argparse
import json
import math
import os
import pathlib
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import export_torchvision as ex  # noqa: E402

DTYPES = {"F32": torch.float32, "F16": torch.float16, "I64": torch.int64}
PAD, START, END = 0, 2, 3


def read_safetensors(path):
    """(tensors, metadata) of a safetensors file."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, h in header.items():
        a, b = h["data_offsets"]
        t = torch.frombuffer(bytearray(blob[a:b]), dtype=DTYPES[h["dtype"]]) if b > a else torch.empty(0)
        out[name] = t.reshape(h["shape"]).to(torch.float32 if h["dtype"] == "F16" else DTYPES[h["dtype"]])
    return out, meta


class ScenesCNN(nn.Module):
    """Six conv(3x3, no bias) + BN + ReLU blocks, max pools at 3 and 5."""

    def __init__(self, classes):
        super().__init__()
        blocks = [(3, 16, 2), (16, 32, 2), (32, 48, 1), "pool", (48, 96, 1), "pool", (96, 128, 1), (128, 128, 1)]
        self.features = nn.Sequential(*(
            nn.MaxPool2d(2) if b == "pool" else nn.Sequential(
                nn.Conv2d(b[0], b[1], 3, b[2], 1, bias=False), nn.BatchNorm2d(b[1]), nn.ReLU())
            for b in blocks))
        self.fc = nn.Linear(128, classes)


class Attention(nn.Module):
    """Keras MultiHeadAttention(num_heads, key_dim)."""

    def __init__(self, embed, heads, key_dim):
        super().__init__()
        self.heads, self.key_dim = heads, key_dim
        self.query, self.key, self.value = (nn.Linear(embed, heads * key_dim) for _ in range(3))
        self.output = nn.Linear(heads * key_dim, embed)

    def split(self, x):  # [B, T, H*D] -> [B, H, T, D]
        return x.view(x.shape[0], x.shape[1], self.heads, self.key_dim).transpose(1, 2)

    def attend(self, q, k, v, mask=None):
        """q [B, H, Tq, D], k, v [B, H, Tk, D]; mask [B or 1, 1, Tq, Tk] True = visible."""
        s = (q @ k.transpose(2, 3)) * (1.0 / math.sqrt(self.key_dim))
        if mask is not None:
            s = s.masked_fill(~mask, -1e9)
        y = torch.softmax(s, dim=-1) @ v
        return self.output(y.transpose(1, 2).reshape(q.shape[0], q.shape[2], -1))

    def forward(self, x, kv, mask=None):
        return self.attend(self.split(self.query(x)), self.split(self.key(kv)), self.split(self.value(kv)), mask)


class EncoderBlock(nn.Module):
    def __init__(self, cin, embed, heads, key_dim):
        super().__init__()
        self.norm_1 = nn.LayerNorm(cin, eps=1e-3)
        self.dense = nn.Linear(cin, embed)
        self.attention = Attention(embed, heads, key_dim)
        self.norm_2 = nn.LayerNorm(embed, eps=1e-3)

    def forward(self, x, position=None):
        h = F.relu(self.dense(self.norm_1(x)))
        if position is not None:
            h = h + position
        return self.norm_2(h + self.attention(h, h))


class Encoder(nn.Module):
    def __init__(self, cin, embed, heads, key_dim, layers, positions):
        super().__init__()
        self.image_position = nn.Parameter(torch.zeros(positions, embed)) if positions else None
        self.layers = nn.ModuleList(
            EncoderBlock(cin if i == 0 else embed, embed, heads, key_dim) for i in range(layers))

    def forward(self, tokens):
        x = tokens
        for i, block in enumerate(self.layers):
            x = block(x, self.image_position if i == 0 else None)
        return x


class Embedding(nn.Module):
    def __init__(self, vocab, seq_len, embed):
        super().__init__()
        self.token, self.position = nn.Embedding(vocab, embed), nn.Embedding(seq_len, embed)

    def forward(self, ids, start=0):
        e = self.token.weight.shape[1]
        return self.token(ids) * math.sqrt(e) + self.position.weight[start:start + ids.shape[1]]


class DecoderBlock(nn.Module):
    def __init__(self, embed, heads, key_dim, ff):
        super().__init__()
        self.self_attention = Attention(embed, heads, key_dim)
        self.cross_attention = Attention(embed, heads, key_dim)
        self.norm_1, self.norm_2, self.norm_3 = (nn.LayerNorm(embed, eps=1e-3) for _ in range(3))
        self.ff_1, self.ff_2 = nn.Linear(embed, ff), nn.Linear(ff, embed)
        self.drop_attn, self.drop_ff, self.drop_out = nn.Dropout(0.1), nn.Dropout(0.3), nn.Dropout(0.5)

    def rest(self, x, sa, ca):
        """The block after its two attentions' callables: sa(x), ca(h1)."""
        h1 = self.norm_1(x + sa(x))
        h2 = self.norm_2(h1 + ca(h1))
        f = self.ff_2(self.drop_ff(F.relu(self.ff_1(h2))))
        return self.drop_out(self.norm_3(f + h2))

    def forward(self, x, memory, mask):
        return self.rest(x, lambda h: self.self_attention(h, h, mask), lambda h: self.cross_attention(h, memory))


class Decoder(nn.Module):
    def __init__(self, vocab, seq_len, embed, heads, key_dim, ff, layers):
        super().__init__()
        self.embedding = Embedding(vocab, seq_len, embed)
        self.layers = nn.ModuleList(DecoderBlock(embed, heads, key_dim, ff) for _ in range(layers))
        self.output = nn.Linear(embed, vocab)

    def forward(self, ids, memory):
        """Teacher forcing: ids [B, T] -> logits [B, T, V] (causal + key padding mask)."""
        t = ids.shape[1]
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        mask = causal[None, None] & (ids != PAD)[:, None, None, :]
        x = self.embedding(ids)
        for block in self.layers:
            x = block(x, memory, mask)
        return self.output(x)

    def start(self, memory):
        """Decoding state: per block, empty self K/V of capacity seq_len and the cross K/V."""
        b, cap = memory.shape[0], self.embedding.position.weight.shape[0]
        state = []
        for block in self.layers:
            a = block.self_attention
            k = torch.empty(b, a.heads, cap, a.key_dim)
            state.append([k, torch.empty_like(k), block.cross_attention.split(block.cross_attention.key(memory)),
                          block.cross_attention.split(block.cross_attention.value(memory))])
        return state

    def step(self, state, ids, t):
        """Logits [R, V] of the next token after ids [R] at position t; fills the caches."""
        x = self.embedding(ids[:, None], t)
        for block, st in zip(self.layers, state):
            a, c = block.self_attention, block.cross_attention

            def sa(h, a=a, st=st):
                st[0][:, :, t] = a.split(a.key(h))[:, :, 0]
                st[1][:, :, t] = a.split(a.value(h))[:, :, 0]
                return a.attend(a.split(a.query(h)), st[0][:, :, :t + 1], st[1][:, :, :t + 1])

            x = block.rest(x, sa, lambda h, c=c, st=st: c.attend(c.split(c.query(h)), st[2], st[3]))
        return self.output(x)[:, 0]


class Captioner(nn.Module):
    def __init__(self, config, vocab_size, tokens):
        super().__init__()
        e, h, kd = config["embed_dim"], config["num_heads"], config["key_dim"] or config["embed_dim"] // config["num_heads"]
        if config["backbone"] != "scenes_cnn":
            raise SystemExit(f"captioner_reference: only the scenes_cnn backbone is mirrored, not {config['backbone']}")
        self.backbone = ScenesCNN(config["backbone_classes"])
        self.encoder = Encoder(128, e, h, kd, config["enc_layers"], tokens if config["image_positions"] else 0)
        self.decoder = Decoder(vocab_size, config["seq_len"] - 1, e, h, kd, config["ff_dim"], config["dec_layers"])

    def image_tokens(self, x):
        f = self.backbone.features(x)
        return f.permute(0, 2, 3, 1).reshape(f.shape[0], -1, f.shape[1])

    @torch.no_grad()
    def greedy(self, memory, max_len):
        """Greedy ids per image; finished rows leave the batch (first maximum wins ties)."""
        n = memory.shape[0]
        out = [[] for _ in range(n)]
        active = torch.arange(n)
        ids = torch.full((n,), START, dtype=torch.int64)
        state = self.decoder.start(memory)
        for t in range(max_len):
            tok = torch.log_softmax(self.decoder.step(state, ids, t), dim=-1).argmax(dim=-1)
            keep = tok != END
            for r in torch.nonzero(keep)[:, 0].tolist():
                out[active[r]].append(int(tok[r]))
            if not keep.any():
                break
            if not keep.all():
                state = [[s[keep] for s in layer] for layer in state]
            active, ids = active[keep], tok[keep]
        return out


def load(path):
    """(Captioner in eval mode with the file's weights, vocabulary list, config)."""
    tensors, meta = read_safetensors(path)
    config, vocab = json.loads(meta["freqcap.config"]), json.loads(meta["freqcap.vocabulary"])
    tokens = tensors["encoder.image_position"].shape[0] if "encoder.image_position" in tensors else 0
    model = Captioner(config, len(vocab), tokens)
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"captioner_reference: {path}: missing {missing}, unexpected {unexpected}")
    return model.eval(), vocab, config


def decode(ids, vocab):
    return " ".join(vocab[i] for i in ids if i not in (PAD, START))


def read_images(folder, size):
    import torchvision.io as tio
    files = sorted(p for p in pathlib.Path(folder).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not files:
        raise SystemExit(f"captioner_reference: no images in {folder}")
    x = torch.stack([tio.read_image(str(p), tio.ImageReadMode.RGB) for p in files]).float() / 255.0
    if x.shape[-1] != size or x.shape[-2] != size:
        raise SystemExit(f"captioner_reference: images must be {size}x{size} (no resize is mirrored)")
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, vocab, config = load(args.model)
    x = read_images(args.images, config["image_size"])
    max_len = config["seq_len"] - 1
    with torch.no_grad():
        tokens = model.image_tokens(x)
        memory = model.encoder(tokens)
        greedy = model.greedy(memory, max_len)
        ids = torch.zeros(len(greedy), max_len, dtype=torch.int64)
        inputs = torch.zeros_like(ids)
        for i, g in enumerate(greedy):
            ids[i, :len(g)] = torch.tensor(g, dtype=torch.int64)
            seq = [START] + g
            inputs[i, :min(len(seq), max_len)] = torch.tensor(seq[:max_len], dtype=torch.int64)
        logits = model.decoder(inputs, memory)
    out = {"input": x, "tokens": tokens, "memory": memory, "greedy": ids, "inputs": inputs, "logits": logits}
    meta = {"captions": json.dumps([decode(g, vocab) for g in greedy]), "model": os.path.basename(args.model)}
    ex.write_safetensors(args.out, out, meta)


if __name__ == "__main__":
    main()
