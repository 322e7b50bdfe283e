#!/usr/bin/env python3
"""Checks docs/compression.json and docs/compression.svg.

usage: check_compression.py REPO_ROOT WORK_DIR

- every row is an object with the keys issue 4 asks for (model, data,
  dense_weights, fr_stored_numbers, dense_accuracy, fr_accuracy, command),
  accuracies are fractions in 0..1 (dense_accuracy may be null for FR-only
  rows), counts are positive integers, and each command runs freqcap-compress;
- fr_stored_numbers = fr_kept_weights + fr_dense_numbers where both are given,
  and fr_keep_per_layer sums to fr_kept_weights;
- scripts/plot-compression redraws docs/compression.svg byte for byte.
"""
import json
import subprocess
import sys
from pathlib import Path

root, work = Path(sys.argv[1]), Path(sys.argv[2])
errors = []
rows = json.loads((root / "docs" / "compression.json").read_text())
if not isinstance(rows, list) or not rows:
    sys.exit("docs/compression.json: expected a non-empty list of rows")

REQUIRED = ("model", "data", "dense_weights", "fr_stored_numbers", "dense_accuracy", "fr_accuracy", "command")
for i, row in enumerate(rows):
    where = f"docs/compression.json row {i} ({row.get('model')}, {row.get('command', '')[:60]}...)"
    missing = [k for k in REQUIRED if k not in row]
    if missing:
        errors.append(f"{where}: missing keys {missing}")
        continue
    for key in ("dense_weights", "fr_stored_numbers"):
        if not isinstance(row[key], int) or row[key] <= 0:
            errors.append(f"{where}: {key} = {row[key]!r} is not a positive integer")
    for key in ("dense_accuracy", "fr_accuracy"):
        v = row[key]
        if v is None and key == "dense_accuracy":
            continue
        if not isinstance(v, (int, float)) or not 0 <= v <= 1:
            errors.append(f"{where}: {key} = {v!r} is not a fraction in 0..1")
    if "freqcap-compress" not in row["command"]:
        errors.append(f"{where}: command does not run freqcap-compress")
    if "fr_kept_weights" in row and "fr_dense_numbers" in row:
        if row["fr_kept_weights"] + row["fr_dense_numbers"] != row["fr_stored_numbers"]:
            errors.append(f"{where}: fr_kept_weights + fr_dense_numbers != fr_stored_numbers")
    if "fr_keep_per_layer" in row and "fr_kept_weights" in row:
        if sum(row["fr_keep_per_layer"]) != row["fr_kept_weights"]:
            errors.append(f"{where}: fr_keep_per_layer does not sum to fr_kept_weights")

work.mkdir(parents=True, exist_ok=True)
redrawn = work / "compression.svg"
subprocess.run([sys.executable, str(root / "scripts" / "plot-compression"), str(root / "docs" / "compression.json"),
                str(redrawn)], check=True, stdout=subprocess.DEVNULL)
if redrawn.read_bytes() != (root / "docs" / "compression.svg").read_bytes():
    errors.append("docs/compression.svg is stale: run scripts/plot-compression")

for e in errors:
    print(e)
print(f"{len(rows)} rows checked, {len(errors)} problems")
sys.exit(1 if errors else 0)
