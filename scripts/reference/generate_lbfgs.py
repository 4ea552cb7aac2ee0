"""Fixtures for L-BFGS: PyTorch's LBFGS on the Rosenbrock function.

    python scripts/reference/generate_lbfgs.py   # writes tests/fixtures/pytorch/lbfgs.json

Each case is a `descent run` invocation (problem rosenbrock, a = 1, b = 100, in
n = 2 or n = 4 dimensions, a start `x0`, PyTorch's LBFGS keyword arguments) and
PyTorch's iterates: `expected[k]` holds the parameters and the loss after the
k-th call of `step(closure)` (one call may run up to `max_iter` inner
iterations), plus the number of closure evaluations that call made. The loss is
the chained Rosenbrock sum written out in torch operations; its gradient comes
from autograd, which rounds differently from the crate's dual numbers, so the
tests compare within a derived bound rather than bit for bit.
"""
import json
import platform
import sys

import torch

from generate import OUT

torch.set_default_dtype(torch.float64)

CASES = [
    ("classic,strong_wolfe", [-1.2, 1.0], {"line_search_fn": "strong_wolfe"}, 8),
    ("classic,none", [-1.2, 1.0], {"lr": 0.5, "max_iter": 5}, 8),
    ("far,strong_wolfe", [2.5, -1.5], {"line_search_fn": "strong_wolfe", "history_size": 5}, 8),
    ("origin,strong_wolfe", [0.0, 0.0], {"line_search_fn": "strong_wolfe", "max_iter": 10}, 6),
    ("4d,strong_wolfe", [-1.0, 1.5, -0.5, 2.0], {"line_search_fn": "strong_wolfe", "history_size": 10}, 8),
    ("tolerances,strong_wolfe", [-1.5, 2.0], {"line_search_fn": "strong_wolfe", "tolerance_grad": 1e-5, "tolerance_change": 1e-6}, 10),
]


def rosenbrock(x, a=1.0, b=100.0):
    return ((a - x[:-1]) ** 2 + b * (x[1:] - x[:-1] ** 2) ** 2).sum()


def run(x0, hyper, steps):
    x = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    opt = torch.optim.LBFGS([x], **hyper)
    evals = [0]

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        evals[0] += 1
        return loss

    out = []
    for _ in range(steps):
        before = evals[0]
        opt.step(closure)
        with torch.no_grad():
            loss = rosenbrock(x).item()
        out.append({"params": x.detach().tolist(), "loss": loss, "evals": evals[0] - before})
    return out


def main():
    meta = {
        "generator": "scripts/reference/generate_lbfgs.py",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "dtype": "float64",
        "problem": "rosenbrock, a = 1, b = 100",
    }
    cases = []
    for name, x0, hyper, steps in CASES:
        expected = run(x0, hyper, steps)
        cases.append({"name": name, "x0": x0, "hyper": hyper, "steps": steps, "expected": expected})
    text = json.dumps({**meta, "cases": cases}, indent=1) + "\n"
    (OUT / "lbfgs.json").write_text(text)
    for c in cases:
        last = c["expected"][-1]
        print(f'{c["name"]:28s} loss {last["loss"]:.3e} evals {sum(e["evals"] for e in c["expected"])}', file=sys.stderr)


if __name__ == "__main__":
    main()
