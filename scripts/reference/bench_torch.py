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
}


def per_param(make, n, foreach, budget):
    i = torch.arange(n, dtype=torch.float64)
    theta = torch.nn.Parameter(torch.sin(i))
    g = torch.cos(i * 0.7)
    flipped = -g
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
    budget = 0.5 if quick else 2.0
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, float64")
    print("ns per parameter per step (median)\n")
    print("| optimizer | n | single-tensor | foreach |")
    print("|---|---|---|---|")
    for name, make in OPTIMIZERS.items():
        for n in SIZES:
            single = per_param(make, n, False, budget)
            multi = per_param(make, n, True, budget)
            print(f"| {name} | {n:.0e} | {single:.2f} | {multi:.2f} |", flush=True)


if __name__ == "__main__":
    main()
