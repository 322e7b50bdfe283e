#!/usr/bin/env python3
"""Write a small safetensors file by hand (struct + json + torch tensor bytes).

An independent writer for freqcap's reader tests: it lays the file out the way
the reference implementation does (8-byte little-endian header length, compact
JSON header with "__metadata__" first, tensors sorted by descending dtype
alignment then by name, header padded with spaces to a multiple of 8). The
tensor values are defined by the formulas below, which tests/test_safetensors.cpp
recomputes.

    /usr/bin/python3 tools/safetensors_reference.py tests/fixtures/io/reference.safetensors
"""
import json
import struct
import sys

import torch

# The reference implementation's dtype order (increasing alignment).
DTYPE_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
               "I32", "U32", "F32", "F64", "I64", "U64"]
TORCH_TO_ST = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
               torch.float64: "F64", torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8"}


def tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.contiguous()
    # View as raw bytes (little-endian host), independent of dtype support in numpy.
    return t.view(torch.uint8).numpy().tobytes() if t.numel() else b""


def save(path: str, tensors: dict, metadata: dict) -> None:
    items = sorted(tensors.items(), key=lambda kv: (-DTYPE_ORDER.index(TORCH_TO_ST[kv[1].dtype]), kv[0]))
    header = {}
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    offset, blobs = 0, []
    for name, t in items:
        data = tensor_bytes(t)
        header[name] = {"dtype": TORCH_TO_ST[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/io/reference.safetensors"
    i, j = torch.meshgrid(torch.arange(3), torch.arange(4), indexing="ij")
    ci, cj = torch.meshgrid(torch.arange(2), torch.arange(3), indexing="ij")
    tensors = {
        "linear.weight": ((i * 4 + j).to(torch.float32) / 8.0 - 0.75),
        "half": torch.tensor([0.1, -2.5, 65504.0, 1e-7, 3.14159], dtype=torch.float32).to(torch.float16),
        "brain": torch.tensor([[1.0 / 3.0, -1e30], [7.0, 0.0078125]], dtype=torch.float32).to(torch.bfloat16),
        "double": torch.tensor([3.141592653589793, -1e-300, 2.0 ** 60], dtype=torch.float64),
        "tokens": torch.tensor([0, -1, 2 ** 40, 9], dtype=torch.int64),
        "counts": (ci * 3 + cj - 2).to(torch.int32),
        "mask": (torch.arange(6) * 51).to(torch.uint8),
    }
    save(out, tensors, {"writer": "tools/safetensors_reference.py", "format": "pt"})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
