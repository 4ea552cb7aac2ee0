#!/usr/bin/env python3
"""PyTorch's step times for the optimizers and sizes of `cargo bench --bench step`.

One thread (torch.set_num_threads(1)), float64, CPU. For each optimizer and n it
times PyTorch's single-tensor path (foreach=False) and its multi-tensor path
(foreach=True, one tensor, so one list of one) and prints the median nanoseconds
per parameter per step, as markdown rows. Like the Rust bench, each timed
iteration is two steps, with g and then -g.

Run with the pinned venv (scripts/reference/requirements.txt):

    /root/venv-ref/bin/python scripts/reference/bench_torch.py [--quick]
"""
import json
import math
import statistics
import sys
import time

import torch

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)

SIZES = [1_000, 100_000, 1_000_000, 10_000_000]

OPTIMIZERS = {
    "sgd": lambda p, fe: torch.optim.SGD(p, lr=1e-3, foreach=fe),
    "sgd-momentum": lambda p, fe: torch.optim.SGD(p, lr=1e-3, momentum=0.9, foreach=fe),
    "sgd-nesterov": lambda p, fe: torch.optim.SGD(
        p, lr=1e-3, momentum=0.9, nesterov=True, foreach=fe),
    "adagrad": lambda p, fe: torch.optim.Adagrad(p, foreach=fe),
    "rmsprop": lambda p, fe: torch.optim.RMSprop(p, foreach=fe),
    "rmsprop-centered": lambda p, fe: torch.optim.RMSprop(p, centered=True, foreach=fe),
    "adadelta": lambda p, fe: torch.optim.Adadelta(p, foreach=fe),
    "adam": lambda p, fe: torch.optim.Adam(p, foreach=fe),
    "adamw": lambda p, fe: torch.optim.AdamW(p, foreach=fe),
    "adamw-amsgrad": lambda p, fe: torch.optim.AdamW(p, amsgrad=True, foreach=fe),
    "rprop": lambda p, fe: torch.optim.Rprop(p, foreach=fe),
    "asgd": lambda p, fe: torch.optim.ASGD(p, foreach=fe),
    "adamax": lambda p, fe: torch.optim.Adamax(p, foreach=fe),
    "nadam": lambda p, fe: torch.optim.NAdam(p, foreach=fe),
    "radam": lambda p, fe: torch.optim.RAdam(p, foreach=fe),
    "adafactor": lambda p, fe: torch.optim.Adafactor(p, foreach=fe),
    "muon": lambda p, fe: torch.optim.Muon(p),
    "sparseadam": lambda p, fe: torch.optim.SparseAdam(p),
}
# Matrix parameters, shaped as `cargo bench --bench step` shapes them (rows the
# largest divisor of n not above its square root); Muon at the two smaller sizes.
MATRIX = {"adafactor": SIZES, "muon": SIZES[:2]}


def shape(n):
    rows = max(r for r in range(1, math.isqrt(n) + 1) if n % r == 0)
    return (rows, n // rows)


def per_param(make, n, foreach, budget, matrix=False, sparse=False):
    i = torch.arange(n, dtype=torch.float64)
    theta = torch.nn.Parameter(torch.sin(i))
    g = torch.cos(i * 0.7)
    if matrix:
        theta = torch.nn.Parameter(torch.sin(i).reshape(shape(n)))
        g = g.reshape(shape(n))
    flipped = -g
    if sparse:
        # SparseAdam takes sparse gradients only; every entry is present here.
        g, flipped = g.to_sparse(), flipped.to_sparse()
    opt = make([theta], foreach)
    theta.grad = g
    opt.step()  # builds the state
    samples = []
    # At least 5 samples; small n repeats inside a sample to stay above timer noise.
    reps = max(1, int(2e6 // n))
    deadline = time.perf_counter() + budget
    while len(samples) < 5 or (time.perf_counter() < deadline and len(samples) < 50):
        start = time.perf_counter_ns()
        for _ in range(reps):
            theta.grad = g
            opt.step()
            theta.grad = flipped
            opt.step()
        samples.append((time.perf_counter_ns() - start) / reps)
    return statistics.median(samples) / (2 * n)


def main():
    quick = "--quick" in sys.argv
    out = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    budget = 0.5 if quick else 2.0
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, float64")
    print("ns per parameter per step (median)\n")
    print("| optimizer | n | single-tensor | foreach |")
    print("|---|---|---|---|")
    results = {}
    for name, make in OPTIMIZERS.items():
        for n in MATRIX.get(name, SIZES):
            matrix = name in MATRIX
            sparse = name == "sparseadam"
            single = per_param(make, n, False, budget, matrix, sparse)
            # Muon and SparseAdam have one implementation (no foreach flag).
            one = name in ("muon", "sparseadam")
            multi = None if one else per_param(make, n, True, budget, matrix)
            results.setdefault(name, {})[str(n)] = {"single": single, "foreach": multi}
            shown = "-" if multi is None else f"{multi:.2f}"
            print(f"| {name} | {n:.0e} | {single:.2f} | {shown} |", flush=True)
    if out:
        with open(out, "w") as f:
            json.dump({"torch": torch.__version__, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
