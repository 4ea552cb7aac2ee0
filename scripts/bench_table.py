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
    "rprop": 2, "asgd": 1, "adamax": 2, "nadam": 2, "radam": 2, "lion": 1,
    "sparseadam": 2,
}
# The optimizers whose rule checks first (`Rule::refusal`); the others stage.
CHECK_FIRST = {"sgd", "sgd-momentum", "sgd-nesterov", "rprop", "asgd", "adamax", "lion"}
# Optimizers whose state is not per coordinate: no floor kernels.
MATRIX = ["adafactor", "muon"]
# PyTorch's times, written by scripts/reference/bench_torch.py --json FILE.
TORCH = os.environ.get("BENCH_TORCH", "target/bench-torch.json")


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
    torch = {}
    if os.path.exists(TORCH):
        with open(TORCH) as f:
            torch = json.load(f)["results"]
    print("ns per parameter per step (median). Floors: `bytes` moves the bytes of an")
    print("in-place step, `staged` those of the crate's one-pass design (backup and")
    print("spare written), `fused` runs the rule's arithmetic in place, unchecked.")
    print("r/in-place = step / max(bytes, fused); r/staged = step / max(staged, fused);")
    print("x torch = PyTorch single-tensor time / step (above 1: the crate is faster).\n")
    print("| optimizer | n | step | bytes | staged | fused | r/in-place | r/staged "
          "| torch single | torch foreach | x torch |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in list(BUFFERS) + MATRIX:
        k = BUFFERS.get(name)
        for n in SIZES:
            s = per_param("step", name, n)
            if s is None:
                continue
            b = per_param("floor", f"bytes-{k}", n) if k is not None else None
            st = per_param("floor", f"staged-{k}", n) if k is not None else None
            f = per_param("floor", f"fused-{name}", n) if k is not None else None
            r1 = s / max(b, f) if b and f else None
            r2 = s / max(st, f) if st and f else None
            t = torch.get(name, {}).get(str(n), {})
            single, multi = t.get("single"), t.get("foreach")
            speed = single / s if single else None
            print(f"| {name} | {n:.0e} | {fmt(s)} | {fmt(b)} | {fmt(st)} | {fmt(f)} "
                  f"| {fmt(r1)} | {fmt(r2)} | {fmt(single)} | {fmt(multi)} | {fmt(speed)} |")
    print("\nthe two ways to refuse a step whole, ns per parameter per step; "
          "`fused` is the rule's arithmetic in place, unchecked\n")
    print("| optimizer | n | staged | check first | fused | faster | the rule uses |")
    print("|---|---|---|---|---|---|---|")
    for name in BUFFERS:
        for n in [100000, 10000000]:
            st = per_param("refusal", f"{name}-staged", n)
            cf = per_param("refusal", f"{name}-check-first", n)
            f = per_param("floor", f"fused-{name}", n)
            if st is None or cf is None:
                continue
            best = "check first" if cf < st else "staged"
            uses = "check first" if name in CHECK_FIRST else "staged"
            print(f"| {name} | {n:.0e} | {fmt(st)} | {fmt(cf)} | {fmt(f)} | {best} | {uses} |")

if __name__ == "__main__":
    main()
