"""Write the reference fixtures of the first-order optimizers: PyTorch and Optax.

    python scripts/reference/generate.py   # writes tests/fixtures/pytorch/<optimizer>.json
                                           #    and tests/fixtures/optax/<function>.json
    python scripts/reference/generate.py --dtype float32
                                           # writes tests/fixtures/pytorch-float32/<optimizer>.json

float32: the same requests (same seed, same cases, the same float64 numbers in
the request), run by PyTorch on float32 tensors: every number of the request is
rounded to the nearest float32 on entry, and `expected` holds float32 values,
each written as the shortest decimal of the float32 widened to float64 (which
reads back to the same float32).

PyTorch: every case is a `descent replay` request (optimizer, hyper, params,
grads) plus `expected`, the parameters PyTorch holds after each step (float64,
foreach=False, the single-tensor code path).

Optax: every case calls one `optax.<function>(**args)` (jax in float64, the update
jit-compiled) on the same kind of inputs, and records `expected`, Optax's
parameters after each step. Where a case has a PyTorch counterpart (`torch`, a
replay request's optimizer and hyper), the case also holds `torch_expected`,
PyTorch's parameters on the same inputs, so that a test can compare the two
libraries directly.

The output depends only on the seed below and on the versions of PyTorch, Optax,
jax and jaxlib, which each file records (pins: requirements.txt).

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

import jax
import jax.numpy as jnp
import jaxlib
import optax
import torch

from torch_replay import torch_replay

jax.config.update("jax_enable_x64", True)  # float64 throughout, as PyTorch's fixtures

SEED = 20240617
FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
OUT = FIXTURES / "pytorch"
OPTAX_OUT = FIXTURES / "optax"

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


def make_case(optimizer, name, hyper, dtype=torch.float64):
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
    expected = torch_replay(request, dtype)
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


def write_pytorch(dtype_name="float64"):
    dtype = getattr(torch, dtype_name)
    out_dir = OUT if dtype_name == "float64" else FIXTURES / f"pytorch-{dtype_name}"
    torch.manual_seed(SEED)  # nothing here draws from torch's generator; belt and braces
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "generator": "scripts/reference/generate.py",
        "seed": SEED,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "dtype": dtype_name,
        "foreach": False,
    }
    total = 0
    for optimizer, cases in CASES.items():
        cases = cases + [("maximize", {**MAXIMIZE[optimizer], "maximize": True})]
        built = [make_case(optimizer, name, hyper, dtype) for name, hyper in cases]
        meta_text = ",\n".join(f'  "{k}": {json.dumps(v)}' for k, v in meta.items())
        text = (
            "{\n"
            + meta_text
            + ',\n  "cases": [\n'
            + ",\n".join(dump_case(c) for c in built)
            + "\n  ]\n}\n"
        )
        assert json.loads(text)["cases"][0]["expected"] == built[0]["expected"]
        path = out_dir / f"{optimizer}.json"
        path.write_text(text)
        total += len(text)
        print(f"{path.name:14s} {len(built):2d} cases  {len(text) / 1024:7.1f} KiB", file=sys.stderr)
    print(f"total {total / 1024:.1f} KiB, torch {torch.__version__}", file=sys.stderr)


# ---------------------------------------------------------------------------
# Optax
#
# Each case: (name, optax function, its keyword arguments, PyTorch counterpart).
# The counterpart is the PyTorch call that a user would hold against the Optax
# one, as a replay request's (optimizer, hyper), or None; the case records
# PyTorch's iterates for it on the same inputs whether the two agree or not.
# All cases of one file share their inputs (params and grads), so that two cases
# differing in one option differ in that option only.
OPTAX_CASES = {
    "sgd": [
        ("plain", {"learning_rate": 0.01}, ("sgd", {"lr": 0.01})),
        ("momentum", {"learning_rate": 0.01, "momentum": 0.9},
         ("sgd", {"lr": 0.01, "momentum": 0.9})),
        ("nesterov", {"learning_rate": 0.005, "momentum": 0.9, "nesterov": True},
         ("sgd", {"lr": 0.005, "momentum": 0.9, "nesterov": True})),
    ],
    "adam": [
        ("defaults", {"learning_rate": 1e-3}, ("adam", {})),
        # b1 < 0.5: the other branch of PyTorch's lerp.
        ("betas", {"learning_rate": 0.01, "b1": 0.3, "b2": 0.95},
         ("adam", {"lr": 0.01, "betas": [0.3, 0.95]})),
        ("eps", {"learning_rate": 0.01, "eps": 1e-3}, ("adam", {"lr": 0.01, "eps": 1e-3})),
    ],
    "adamw": [
        # Optax's default weight_decay is 1e-4 (PyTorch's: 1e-2).
        ("defaults", {"learning_rate": 1e-3}, ("adamw", {"weight_decay": 1e-4})),
        ("weight_decay", {"learning_rate": 0.01, "weight_decay": 0.2},
         ("adamw", {"lr": 0.01, "weight_decay": 0.2})),
        ("betas+weight_decay", {"learning_rate": 0.02, "b1": 0.2, "b2": 0.99, "weight_decay": 0.05},
         ("adamw", {"lr": 0.02, "betas": [0.2, 0.99], "weight_decay": 0.05})),
    ],
    "rmsprop": [
        # Every default that differs: decay 0.9 (PyTorch's alpha 0.99), eps in the sqrt.
        ("defaults", {"learning_rate": 0.01}, ("rmsprop", {})),
        # Only the place of eps differs.
        ("decay=0.99", {"learning_rate": 0.01, "decay": 0.99}, ("rmsprop", {})),
        ("decay=0.99+eps_in_sqrt=False", {"learning_rate": 0.01, "decay": 0.99, "eps_in_sqrt": False},
         ("rmsprop", {})),
        ("centered+eps_in_sqrt=False",
         {"learning_rate": 0.01, "decay": 0.99, "eps_in_sqrt": False, "centered": True},
         ("rmsprop", {"centered": True})),
        # Optax scales by the learning rate before its trace, PyTorch after its
        # buffer; with a constant learning rate the two agree.
        ("momentum+eps_in_sqrt=False",
         {"learning_rate": 0.001, "decay": 0.99, "eps_in_sqrt": False, "momentum": 0.9},
         ("rmsprop", {"lr": 0.001, "momentum": 0.9})),
        ("decay=0.3+eps+eps_in_sqrt=False",
         {"learning_rate": 0.01, "decay": 0.3, "eps": 1e-4, "eps_in_sqrt": False},
         ("rmsprop", {"alpha": 0.3, "eps": 1e-4})),
    ],
    "adagrad": [
        # Optax's defaults: initial_accumulator_value 0.1, eps 1e-7 inside the sqrt.
        ("defaults", {"learning_rate": 0.01}, ("adagrad", {})),
        ("initial_accumulator_value=0+eps=0",
         {"learning_rate": 0.01, "initial_accumulator_value": 0.0, "eps": 0.0},
         ("adagrad", {"eps": 0.0})),
        ("initial_accumulator_value+eps=0",
         {"learning_rate": 0.05, "initial_accumulator_value": 0.25, "eps": 0.0},
         ("adagrad", {"lr": 0.05, "initial_accumulator_value": 0.25, "eps": 0.0})),
    ],
    "amsgrad": [
        # PyTorch's amsgrad=True keeps the maximum of the raw v; Optax of v / bc2.
        ("defaults", {"learning_rate": 0.01}, ("adam", {"lr": 0.01, "amsgrad": True})),
        ("betas", {"learning_rate": 0.02, "b1": 0.2, "b2": 0.99},
         ("adam", {"lr": 0.02, "betas": [0.2, 0.99], "amsgrad": True})),
        ("bias_correction=False",
         {"learning_rate": 0.01, "bias_correction_mu": False, "bias_correction_nu": False},
         ("adam", {"lr": 0.01, "amsgrad": True})),
    ],
    "rprop": [
        ("defaults", {"learning_rate": 0.01}, ("rprop", {})),
        ("etas", {"learning_rate": 0.01, "eta_minus": 0.3, "eta_plus": 1.5},
         ("rprop", {"etas": [0.3, 1.5]})),
        ("step_sizes", {"learning_rate": 0.01, "min_step_size": 1e-4, "max_step_size": 0.02},
         ("rprop", {"step_sizes": [1e-4, 0.02]})),
    ],
    "adadelta": [
        # learning_rate=None: no scaling and no sign flip.
        ("defaults", {}, ("adadelta", {})),
        ("learning_rate=1", {"learning_rate": 1.0}, ("adadelta", {})),
    ],
}

# Optax cases whose gradients come from the iterates themselves: f(x) = sum x_i^2,
# gradient 2 x (exact in floating point). No PyTorch counterpart: PyTorch's own
# iterates would see other gradients.
OPTAX_CLOSED_LOOP = {
    "adadelta": [("defaults,quadratic", {}, [1.0, -2.0, 0.5], 40)],
}


def optax_inputs(function):
    """The params and grads shared by the cases of one Optax file."""
    rng = random.Random(f"{SEED}:optax:{function}")
    n = rng.randint(5, 7)
    steps = rng.randint(60, 80)
    params = initial_params(rng, n)
    grads = gradients(rng, n, steps)
    # No zero in the first row: with eps = 0, PyTorch's Adagrad divides 0 by 0 in
    # a coordinate whose gradients so far are all zero (Optax's returns 0 there).
    grads[0] = [x if x != 0.0 else 1.0 for x in grads[0]]
    return params, grads


def optax_run(function, args, params, grads=None, steps=None):
    """Optax's parameters after each step; with grads None, the gradient of
    sum x_i^2 at the current iterate. Returns (grads, iterates)."""
    opt = getattr(optax, function)(**args)
    update = jax.jit(opt.update)
    p = jnp.asarray(params, dtype=jnp.float64)
    state = opt.init(p)
    used, out = [], []
    for t in range(len(grads) if grads is not None else steps):
        g = jnp.asarray(grads[t], dtype=jnp.float64) if grads is not None else 2.0 * p
        updates, state = update(g, state, p)
        p = optax.apply_updates(p, updates)
        assert p.dtype == jnp.float64
        used.append([float(x) for x in g])
        out.append([float(x) for x in p])
    return used, out


def dump_optax_case(case):
    """One Optax case as JSON text, one row of numbers per line."""
    def rows(key):
        body = ",\n".join("    " + json.dumps(r) for r in case[key])
        return f'  "{key}": [\n{body}\n  ]'

    head = [
        f'  "name": {json.dumps(case["name"])}',
        f'  "function": {json.dumps(case["function"])}',
        f'  "args": {json.dumps(case["args"], sort_keys=True)}',
        f'  "torch": {json.dumps(case["torch"], sort_keys=True)}',
        f'  "params": {json.dumps(case["params"])}',
    ]
    keys = ["grads", "expected"] + (["torch_expected"] if case["torch"] else [])
    return "{\n" + ",\n".join(head + [rows(k) for k in keys]) + "\n}"


def write_optax():
    OPTAX_OUT.mkdir(parents=True, exist_ok=True)
    meta = {
        "generator": "scripts/reference/generate.py",
        "seed": SEED,
        "optax": optax.__version__,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "jax_backend": jax.default_backend(),
        "jit": True,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "dtype": "float64",
    }
    total = 0
    for function in list(OPTAX_CASES) + [f for f in OPTAX_CLOSED_LOOP if f not in OPTAX_CASES]:
        params, grads = optax_inputs(function)
        built = []
        for name, args, counterpart in OPTAX_CASES.get(function, []):
            _, expected = optax_run(function, args, params, grads)
            case = {"name": name, "function": function, "args": args, "torch": None,
                    "params": params, "grads": grads, "expected": expected}
            if counterpart is not None:
                optimizer, hyper = counterpart
                case["torch"] = {"optimizer": optimizer, "hyper": hyper}
                case["torch_expected"] = torch_replay(
                    {"optimizer": optimizer, "hyper": hyper, "params": params, "grads": grads})
            built.append(case)
        for name, args, start, steps in OPTAX_CLOSED_LOOP.get(function, []):
            used, expected = optax_run(function, args, start, steps=steps)
            built.append({"name": name, "function": function, "args": args, "torch": None,
                          "params": start, "grads": used, "expected": expected})
        for case in built:
            for key in ("expected", "torch_expected"):
                for row in case.get(key, []):
                    assert all(math.isfinite(x) for x in row), (function, case["name"], key)
        meta_text = ",\n".join(f'  "{k}": {json.dumps(v)}' for k, v in meta.items())
        text = (
            "{\n"
            + meta_text
            + ',\n  "cases": [\n'
            + ",\n".join(dump_optax_case(c) for c in built)
            + "\n  ]\n}\n"
        )
        assert json.loads(text)["cases"][0]["expected"] == built[0]["expected"]
        path = OPTAX_OUT / f"{function}.json"
        path.write_text(text)
        total += len(text)
        print(f"optax/{path.name:14s} {len(built):2d} cases  {len(text) / 1024:7.1f} KiB", file=sys.stderr)
    print(f"total {total / 1024:.1f} KiB, optax {optax.__version__}, jax {jax.__version__}, "
          f"jaxlib {jaxlib.__version__}", file=sys.stderr)


def main():
    if sys.argv[1:] == ["--dtype", "float32"]:
        write_pytorch("float32")
        return
    if sys.argv[1:]:
        sys.exit("usage: generate.py [--dtype float32]")
    write_pytorch()
    write_optax()


if __name__ == "__main__":
    main()
