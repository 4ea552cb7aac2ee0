"""Write the PyTorch reference fixtures for the first-order optimizers.

    python scripts/reference/generate.py   # writes tests/fixtures/pytorch/<optimizer>.json

Every case is a `descent replay` request (optimizer, hyper, params, grads) plus
`expected`, the parameters PyTorch holds after each step (float64, foreach=False,
the single-tensor code path). The output depends only on the seed below and on
the PyTorch version, which each file records.

The gradient sequences are built to reach the corners of each update rule:
magnitudes from 1e-8 to 1e4 that change per coordinate and over time, exact
zeros, a coordinate that is constant, and one whose sign flips at every step.
"""
import json
import math
import platform
import random
import sys
from pathlib import Path

import torch

from torch_replay import torch_replay

SEED = 20240617
OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "pytorch"

# The option combinations, per optimizer: (name, hyper). Each optimizer also gets
# a `maximize` case appended below.
CASES = {
    "sgd": [
        ("defaults", {}),
        ("momentum", {"lr": 0.01, "momentum": 0.9}),
        ("momentum+dampening", {"lr": 0.01, "momentum": 0.8, "dampening": 0.3}),
        ("nesterov", {"lr": 0.005, "momentum": 0.9, "nesterov": True}),
        ("weight_decay", {"lr": 0.01, "weight_decay": 0.05}),
        ("weight_decay+momentum", {"lr": 0.01, "momentum": 0.7, "weight_decay": 0.02}),
    ],
    "adagrad": [
        ("defaults", {}),
        ("lr_decay", {"lr": 0.1, "lr_decay": 0.01}),
        ("weight_decay", {"weight_decay": 0.03}),
        ("initial_accumulator_value", {"lr": 0.05, "initial_accumulator_value": 0.25}),
        ("eps", {"eps": 1e-6}),
    ],
    "rmsprop": [
        ("defaults", {}),
        ("centered", {"centered": True}),
        ("momentum", {"lr": 0.001, "momentum": 0.9}),
        ("centered+momentum", {"lr": 0.001, "momentum": 0.5, "centered": True}),
        ("weight_decay", {"weight_decay": 0.01}),
        # alpha < 0.5 makes 1 - alpha > 0.5: the other branch of PyTorch's lerp.
        ("alpha", {"alpha": 0.3}),
        ("eps", {"eps": 1e-4}),
    ],
    "adadelta": [
        ("defaults", {}),
        ("rho", {"rho": 0.5}),
        ("eps", {"eps": 1e-9}),
        ("weight_decay", {"weight_decay": 0.1}),
        ("lr", {"lr": 0.3}),
    ],
    "adam": [
        ("defaults", {}),
        ("amsgrad", {"lr": 0.01, "amsgrad": True}),
        ("weight_decay", {"lr": 0.01, "weight_decay": 0.05}),
        # beta1 < 0.5 makes 1 - beta1 > 0.5: the other branch of PyTorch's lerp.
        ("betas", {"lr": 0.01, "betas": [0.3, 0.95]}),
        ("eps", {"lr": 0.01, "eps": 1e-3}),
        ("decoupled_weight_decay", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ],
    "adamw": [
        ("defaults", {}),
        ("amsgrad", {"lr": 0.01, "amsgrad": True}),
        ("weight_decay=0", {"lr": 0.01, "weight_decay": 0.0}),
        ("weight_decay", {"lr": 0.01, "weight_decay": 0.2}),
        # beta1 = 0.2: the lerp branch for weights >= 0.5 again, now with AMSGrad.
        ("amsgrad+weight_decay+betas", {"lr": 0.02, "amsgrad": True, "weight_decay": 0.05, "betas": [0.2, 0.99]}),
    ],
    "rprop": [
        ("defaults", {}),
        ("etas", {"etas": [0.3, 1.5]}),
        # lr 0.01 grows by 1.2 per agreeing step: the cap 0.02 is reached after 4.
        ("step_sizes", {"step_sizes": [1e-4, 0.02]}),
        ("lr", {"lr": 0.1}),
        # Gradients near 1e-170: g * prev underflows to 0, which PyTorch treats as
        # "no sign information" (step size kept).
        ("underflow", {"lr": 0.05}),
    ],
}

MAXIMIZE = {
    "sgd": {"lr": 0.01, "momentum": 0.9, "nesterov": True},
    "adagrad": {"lr": 0.05},
    "rmsprop": {"momentum": 0.5, "centered": True},
    "adadelta": {"weight_decay": 0.01},
    "adam": {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01},
    "adamw": {"lr": 0.01},
    "rprop": {"step_sizes": [1e-5, 0.05]},
}


def short(x):
    """x rounded to 3 significant digits, so the fixtures stay small."""
    return float(f"{x:.3g}")


def log_uniform(rng, lo, hi):
    return 10.0 ** rng.uniform(lo, hi)


def gradients(rng, n, steps, scale_exp=0):
    """A gradient sequence of `steps` rows of `n` coordinates.

    Coordinates by role (n >= 5; extra coordinates are of the last kind):
      0  constant (one value, all steps);
      1  sign flips at every step, magnitude log-uniform in [1e-8, 1e4];
      2  magnitude sweeping from 1e-8 up to 1e4 and back, sign changing in blocks;
      3  exact zero at about a third of the steps, else log-uniform in [1e-4, 1e2];
      4+ log-uniform in [1e-8, 1e4] with a random sign.
    Step 10 is zero in every coordinate but the first two. `scale_exp` shifts every magnitude by 10**scale_exp.
    """
    s = 10.0 ** scale_exp
    const = rng.choice([-1, 1]) * short(log_uniform(rng, -2, 1))
    rows = []
    sign2 = 1
    for t in range(steps):
        if t % 7 == 0:
            sign2 = rng.choice([-1, 1])
        phase = 1 - abs(2 * t / (steps - 1) - 1)  # 0 -> 1 -> 0
        row = [
            const,
            (-1) ** t * short(log_uniform(rng, -8, 4)),
            sign2 * short(10.0 ** (-8 + 12 * phase) * rng.uniform(0.5, 2)),
            0.0 if rng.random() < 0.35 else rng.choice([-1, 1]) * short(log_uniform(rng, -4, 2)),
        ]
        while len(row) < n:
            row.append(rng.choice([-1, 1]) * short(log_uniform(rng, -8, 4)))
        row = row[:n]
        if t == 9:
            row = row[:2] + [0.0] * (n - 2)
        rows.append([x * s if scale_exp == 0 else float(f"{x * s:.3g}") for x in row])
    return rows


def initial_params(rng, n):
    """Starting parameters: one exact zero, one large, one small, the rest O(1)."""
    p = [short(rng.uniform(-3, 3)) for _ in range(n)]
    p[rng.randrange(n)] = 0.0
    p[rng.randrange(n)] = rng.choice([-1, 1]) * short(log_uniform(rng, 2, 3))
    p[rng.randrange(n)] = rng.choice([-1, 1]) * short(log_uniform(rng, -6, -4))
    return p


def make_case(optimizer, name, hyper):
    rng = random.Random(f"{SEED}:{optimizer}:{name}")
    n = rng.randint(5, 7)
    steps = rng.randint(120, 140)
    scale_exp = -166 if name == "underflow" else 0
    if name == "underflow":
        n = 3
    request = {
        "optimizer": optimizer,
        "hyper": hyper,
        "params": initial_params(rng, n),
        "grads": gradients(rng, n, steps, scale_exp),
    }
    expected = torch_replay(request)
    for row in expected:
        assert all(math.isfinite(x) for x in row), (optimizer, name)
    return {"name": name, **request, "expected": expected}


def dump_case(case):
    """One case as JSON text, one row of numbers per line (json's float repr
    round-trips exactly)."""
    def rows(key):
        body = ",\n".join("    " + json.dumps(r) for r in case[key])
        return f'  "{key}": [\n{body}\n  ]'

    head = [
        f'  "name": {json.dumps(case["name"])}',
        f'  "optimizer": {json.dumps(case["optimizer"])}',
        f'  "hyper": {json.dumps(case["hyper"], sort_keys=True)}',
        f'  "params": {json.dumps(case["params"])}',
    ]
    return "{\n" + ",\n".join(head + [rows("grads"), rows("expected")]) + "\n}"


def main():
    torch.manual_seed(SEED)  # nothing here draws from torch's generator; belt and braces
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {
        "generator": "scripts/reference/generate.py",
        "seed": SEED,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "dtype": "float64",
        "foreach": False,
    }
    total = 0
    for optimizer, cases in CASES.items():
        cases = cases + [("maximize", {**MAXIMIZE[optimizer], "maximize": True})]
        built = [make_case(optimizer, name, hyper) for name, hyper in cases]
        meta_text = ",\n".join(f'  "{k}": {json.dumps(v)}' for k, v in meta.items())
        text = (
            "{\n"
            + meta_text
            + ',\n  "cases": [\n'
            + ",\n".join(dump_case(c) for c in built)
            + "\n  ]\n}\n"
        )
        assert json.loads(text)["cases"][0]["expected"] == built[0]["expected"]
        path = OUT / f"{optimizer}.json"
        path.write_text(text)
        total += len(text)
        print(f"{path.name:14s} {len(built):2d} cases  {len(text) / 1024:7.1f} KiB", file=sys.stderr)
    print(f"total {total / 1024:.1f} KiB, torch {torch.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
