#!/usr/bin/env python3
"""Prints the step bench (benches/step.rs) as tables of nanoseconds per parameter.

Reads criterion's estimates under target/criterion. Each criterion iteration is
two steps, so the median time is divided by 2 n. Usage (after `cargo bench --bench step`):

    python3 scripts/bench_table.py [target/criterion]
"""
import json
import os
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
SIZES = [1000, 100000, 1000000, 10000000]
# Number of state buffers each optimizer keeps: its "bytes" floor.
BUFFERS = {
    "sgd": 0, "sgd-momentum": 1, "sgd-nesterov": 1, "adagrad": 1, "rmsprop": 1,
    "rmsprop-centered": 2, "adadelta": 2, "adam": 2, "adamw": 2, "adamw-amsgrad": 3,
    "rprop": 2,
}


def per_param(group, name, n):
    path = os.path.join(ROOT, group, name, str(n), "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"] / (2 * n)
    except FileNotFoundError:
        return None


def fmt(x):
    return "-" if x is None else f"{x:.2f}"


def main():
    print("ns per parameter per step (median); ratio = step / max(bytes floor, fused floor)\n")
    print("| optimizer | n | step | bytes floor | fused floor | ratio |")
    print("|---|---|---|---|---|---|")
    for name, k in BUFFERS.items():
        for n in SIZES:
            s = per_param("step", name, n)
            b = per_param("floor", f"bytes-{k}", n)
            f = per_param("floor", f"fused-{name}", n)
            floors = [x for x in (b, f) if x is not None]
            ratio = s / max(floors) if s is not None and floors else None
            print(f"| {name} | {n:.0e} | {fmt(s)} | {fmt(b)} | {fmt(f)} | {fmt(ratio)} |")
    print("\nrefusal candidates (Adam), ns per parameter per step\n")
    print("| n | two-pass | staged | in place, unchecked | bytes-2 |")
    print("|---|---|---|---|---|")
    for n in [100000, 10000000]:
        row = [per_param("refusal", x, n) for x in
               ("two-pass", "staged", "fused-in-place-unchecked", "bytes-2")]
        print(f"| {n:.0e} | " + " | ".join(fmt(x) for x in row) + " |")


if __name__ == "__main__":
    main()
