"""Fixtures for the rest of torch.optim (ASGD, Adamax, NAdam, RAdam, Adafactor,
Muon) and for Optax's Lion.

    python scripts/reference/generate_more.py
        # writes tests/fixtures/pytorch/<optimizer>.json for the six PyTorch
        # optimizers and tests/fixtures/optax/lion.json

Same conventions as generate.py (whose input generators it reuses): float64,
foreach=False, every case a `descent replay` request plus `expected`. A case of a
matrix parameter carries `"shape": [rows, cols]`; `params` and every row of
`grads` and `expected` are the matrix flattened row-major.

Muon runs its Newton-Schulz iteration in bfloat16 inside PyTorch, so its
fixtures record PyTorch's iterates as they are; the tests compare them within a
derived bound, not bit for bit.
"""
import json
import math
import platform
import random
import sys

import jax
import jax.numpy as jnp
import jaxlib
import optax
import torch

from generate import FIXTURES, OUT, SEED, dump_case, gradients, initial_params, optax_run
from torch_replay import torch_replay

jax.config.update("jax_enable_x64", True)

CASES = {
    "asgd": [
        ("defaults", {}),
        ("t0", {"lr": 0.01, "t0": 20.0}),
        ("lambd+alpha", {"lr": 0.02, "lambd": 0.01, "alpha": 0.5, "t0": 5.0}),
        ("weight_decay", {"lr": 0.01, "weight_decay": 0.05, "t0": 10.0}),
    ],
    "adamax": [
        ("defaults", {}),
        ("betas", {"lr": 0.01, "betas": [0.3, 0.95]}),
        ("eps", {"lr": 0.01, "eps": 1e-3}),
        ("weight_decay", {"lr": 0.01, "weight_decay": 0.05}),
    ],
    "nadam": [
        ("defaults", {}),
        ("momentum_decay", {"lr": 0.01, "momentum_decay": 0.04}),
        ("betas", {"lr": 0.01, "betas": [0.3, 0.95]}),
        ("weight_decay", {"lr": 0.01, "weight_decay": 0.05}),
        ("decoupled_weight_decay", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ],
    "radam": [
        ("defaults", {}),
        # beta2 = 0.9: rho_inf = 19, the rectified branch (rho_t > 5) from t = 7.
        ("betas", {"lr": 0.01, "betas": [0.3, 0.9]}),
        ("weight_decay", {"lr": 0.01, "weight_decay": 0.05}),
        ("decoupled_weight_decay", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
        ("eps", {"lr": 0.01, "eps": 1e-3}),
    ],
    "adafactor": [
        ("defaults", {}),
        ("beta2_decay", {"lr": 0.01, "beta2_decay": -0.5}),
        ("eps1", {"lr": 0.01, "eps": [1e-3, 1e-3]}),
        ("d", {"lr": 0.01, "d": 2.0}),
        ("weight_decay", {"lr": 0.01, "weight_decay": 0.1}),
        ("matrix", {"lr": 0.01}),
        ("matrix+eps1+weight_decay", {"lr": 0.01, "eps": [1e-4, 1e-3], "weight_decay": 0.05}),
    ],
    "muon": [
        ("defaults", {}),
        ("nesterov=False", {"lr": 0.01, "nesterov": False}),
        ("match_rms_adamw", {"lr": 0.01, "adjust_lr_fn": "match_rms_adamw"}),
        ("tall", {"lr": 0.01, "weight_decay": 0.0}),
        ("ns_steps", {"lr": 0.01, "ns_steps": 3, "momentum": 0.9}),
    ],
}

MAXIMIZE = {
    "asgd": {"lr": 0.01, "t0": 10.0},
    "adamax": {"lr": 0.01},
    "nadam": {"lr": 0.01},
    "radam": {"lr": 0.01, "betas": [0.5, 0.9]},
    "adafactor": {"lr": 0.01},
    # Muon has no maximize.
}

SHAPES = {
    ("adafactor", "matrix"): [3, 4],
    ("adafactor", "matrix+eps1+weight_decay"): [4, 2],
    ("adafactor", "maximize"): [2, 3],
    ("muon", "defaults"): [3, 4],
    ("muon", "nesterov=False"): [3, 4],
    ("muon", "match_rms_adamw"): [4, 3],
    ("muon", "tall"): [5, 2],
    ("muon", "ns_steps"): [3, 3],
}


def make_case(optimizer, name, hyper):
    rng = random.Random(f"{SEED}:{optimizer}:{name}")
    shape = SHAPES.get((optimizer, name))
    n = shape[0] * shape[1] if shape else rng.randint(5, 7)
    steps = rng.randint(60, 80) if optimizer == "muon" else rng.randint(120, 140)
    request = {"optimizer": optimizer, "hyper": hyper, "params": initial_params(rng, n),
               "grads": gradients(rng, max(n, 5), steps)}
    request["grads"] = [row[:n] for row in request["grads"]]
    if shape:
        request["shape"] = shape
    expected = torch_replay(request)
    for row in expected:
        assert all(math.isfinite(x) for x in row), (optimizer, name)
    case = {"name": name, **request, "expected": expected}
    return case


def dump(case):
    text = dump_case(case)
    if "shape" in case:
        text = text.replace('  "params":', f'  "shape": {json.dumps(case["shape"])},\n  "params":', 1)
    return text


def write_pytorch():
    meta = {
        "generator": "scripts/reference/generate_more.py",
        "seed": SEED,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "dtype": "float64",
        "foreach": False,
    }
    for optimizer, cases in CASES.items():
        if optimizer in MAXIMIZE:
            cases = cases + [("maximize", {**MAXIMIZE[optimizer], "maximize": True})]
        built = [make_case(optimizer, name, hyper) for name, hyper in cases]
        meta_text = ",\n".join(f'  "{k}": {json.dumps(v)}' for k, v in meta.items())
        text = "{\n" + meta_text + ',\n  "cases": [\n' + ",\n".join(dump(c) for c in built) + "\n  ]\n}\n"
        assert json.loads(text)["cases"][0]["expected"] == built[0]["expected"]
        path = OUT / f"{optimizer}.json"
        path.write_text(text)
        print(f"{path.name:16s} {len(built):2d} cases  {len(text) / 1024:7.1f} KiB", file=sys.stderr)


LION_CASES = [
    ("defaults", {"learning_rate": 1e-3}),
    ("betas", {"learning_rate": 0.01, "b1": 0.5, "b2": 0.9}),
    ("weight_decay", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("weight_decay=0", {"learning_rate": 0.01, "weight_decay": 0.0}),
]


def write_lion():
    out = FIXTURES / "optax"
    rng = random.Random(f"{SEED}:optax:lion")
    n = rng.randint(5, 7)
    steps = rng.randint(60, 80)
    params = initial_params(rng, n)
    grads = gradients(rng, n, steps)
    meta = {
        "generator": "scripts/reference/generate_more.py",
        "seed": SEED,
        "optax": optax.__version__,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "jax_backend": jax.default_backend(),
        "jit": True,
        "python": platform.python_version(),
        "dtype": "float64",
    }
    cases = []
    for name, args in LION_CASES:
        _, expected = optax_run("lion", args, params, grads)
        body = [
            f'  "name": {json.dumps(name)}',
            '  "function": "lion"',
            f'  "args": {json.dumps(args, sort_keys=True)}',
            f'  "params": {json.dumps(params)}',
            '  "grads": [\n' + ",\n".join("    " + json.dumps(r) for r in grads) + "\n  ]",
            '  "expected": [\n' + ",\n".join("    " + json.dumps(r) for r in expected) + "\n  ]",
        ]
        cases.append("{\n" + ",\n".join(body) + "\n}")
    meta_text = ",\n".join(f'  "{k}": {json.dumps(v)}' for k, v in meta.items())
    text = "{\n" + meta_text + ',\n  "cases": [\n' + ",\n".join(cases) + "\n  ]\n}\n"
    json.loads(text)
    (out / "lion.json").write_text(text)
    print(f"lion.json        {len(cases):2d} cases", file=sys.stderr)


if __name__ == "__main__":
    write_pytorch()
    write_lion()
