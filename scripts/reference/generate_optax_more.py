"""Optax fixtures for the optimizers of issue 10 that both libraries have:
Adamax, NAdam, RAdam, Adafactor and Muon (`optax.contrib.muon`).

    python scripts/reference/generate_optax_more.py
        # writes tests/fixtures/optax/{adamax,nadam,radam,adafactor,muon}.json

The format is generate.py's Optax format exactly (its `optax_inputs`,
`optax_run` and `dump_optax_case` are reused): every case calls
`optax.<function>(**args)` (jax in float64, the update jit-compiled) and, where a
PyTorch counterpart is named, also records PyTorch's iterates on the same inputs
(`torch_expected`), so a test can measure the distance between the two
conventions. A case may carry `"shape"`: then `params` and every row are the
matrix flattened row-major (Optax and PyTorch both receive the matrix).

The output depends only on the seed and on the versions of Optax, jax, jaxlib and
PyTorch, which each file records (pins: requirements.txt).
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
import optax.contrib
import torch

from generate import (OPTAX_OUT, SEED, dump_optax_case, gradients, initial_params,
                      optax_inputs, optax_run)
from torch_replay import torch_replay

jax.config.update("jax_enable_x64", True)

# Each case: (name, optax args, PyTorch counterpart (optimizer, hyper) or None).
CASES = {
    "adamax": [
        # The same rule: eps inside the maximum, only m bias-corrected.
        ("defaults", {"learning_rate": 2e-3}, ("adamax", {})),
        ("betas", {"learning_rate": 0.01, "b1": 0.3, "b2": 0.95},
         ("adamax", {"lr": 0.01, "betas": [0.3, 0.95]})),
        ("eps", {"learning_rate": 0.01, "eps": 1e-3}, ("adamax", {"lr": 0.01, "eps": 1e-3})),
    ],
    "nadam": [
        # Optax's nadam is Adam with the look-ahead and a constant b1: PyTorch's
        # NAdam with a momentum_decay so large that 0.96^(t psi) is 0.
        ("defaults,constant", {"learning_rate": 2e-3}, ("nadam", {"momentum_decay": 1e6})),
        # Against PyTorch's default schedule (momentum_decay 4e-3): they differ.
        ("defaults,schedule", {"learning_rate": 2e-3}, ("nadam", {})),
        ("betas,constant", {"learning_rate": 0.01, "b1": 0.3, "b2": 0.95},
         ("nadam", {"lr": 0.01, "betas": [0.3, 0.95], "momentum_decay": 1e6})),
    ],
    "radam": [
        # eps: Optax adds it to sqrt(v_hat), PyTorch to sqrt(v) before the bias
        # correction; the threshold: Optax rho_t >= 5, PyTorch rho_t > 5.
        ("defaults", {"learning_rate": 1e-3}, ("radam", {})),
        ("eps=0", {"learning_rate": 1e-3, "eps": 0.0}, ("radam", {"eps": 0.0})),
        ("betas+eps=0", {"learning_rate": 0.01, "b1": 0.3, "b2": 0.9, "eps": 0.0},
         ("radam", {"lr": 0.01, "betas": [0.3, 0.9], "eps": 0.0})),
        ("eps=1e-3", {"learning_rate": 0.01, "b1": 0.3, "b2": 0.9, "eps": 1e-3},
         ("radam", {"lr": 0.01, "betas": [0.3, 0.9], "eps": 1e-3})),
    ],
    "adafactor": [
        # Optax's chain: factored rms (decay 1 - t^-decay_rate, eps added to g^2),
        # clip by block rms, learning rate, parameter scale max(rms(theta), 1e-3),
        # decayed weights (not multiplied by the learning rate), sign. PyTorch's
        # Adafactor with beta2_decay = -decay_rate, d = clipping_threshold, the
        # same lr (min(lr, 1/sqrt(t)) is lr here: lr <= 1/sqrt(80)), and
        # weight_decay = weight_decay_rate / lr. Optax factors a matrix only when
        # its second-largest dimension is at least min_dim_size_to_factor (128 by
        # default); PyTorch factors every matrix.
        ("vector", {"learning_rate": 0.01}, ("adafactor", {"lr": 0.01})),
        ("matrix", {"learning_rate": 0.01, "min_dim_size_to_factor": 1},
         ("adafactor", {"lr": 0.01})),
        ("matrix,tall", {"learning_rate": 0.01, "min_dim_size_to_factor": 1},
         ("adafactor", {"lr": 0.01})),
        ("matrix+weight_decay+d",
         {"learning_rate": 0.01, "min_dim_size_to_factor": 1, "weight_decay_rate": 1e-3,
          "clipping_threshold": 2.0, "decay_rate": 0.5},
         ("adafactor", {"lr": 0.01, "weight_decay": 0.1, "d": 2.0, "beta2_decay": -0.5})),
        # Optax computes its decay 1 - t^-decay_rate in float32; with decay_rate 0
        # (beta2_decay 0: the average is the last g^2) there is nothing to round.
        ("vector,decay_rate=0", {"learning_rate": 0.01, "decay_rate": 0.0},
         ("adafactor", {"lr": 0.01, "beta2_decay": 0.0})),
        ("matrix,decay_rate=0", {"learning_rate": 0.01, "min_dim_size_to_factor": 1,
                                 "decay_rate": 0.0},
         ("adafactor", {"lr": 0.01, "beta2_decay": 0.0})),
        # Optax's default min_dim_size_to_factor leaves a small matrix unfactored.
        ("matrix,unfactored", {"learning_rate": 0.01}, ("adafactor", {"lr": 0.01})),
    ],
    # optax.contrib.muon on a matrix: PyTorch's Muon with weight_decay 0 (its
    # default is 0.1, Optax's 0). Without Nesterov and on a square matrix the two
    # differ only in the Newton-Schulz arithmetic (PyTorch: bfloat16; Optax: the
    # parameters' float64); Optax's momentum is bias-corrected, a scalar factor
    # the normalization removes. With Nesterov, Optax corrects its two terms by
    # different factors; on a tall matrix PyTorch scales by sqrt(rows / cols) and
    # Optax by sqrt(max(1, cols / rows)).
    "muon": [
        ("square,nesterov=False", {"learning_rate": 0.01, "nesterov": False},
         ("muon", {"lr": 0.01, "nesterov": False, "weight_decay": 0.0})),
        ("square", {"learning_rate": 0.01}, ("muon", {"lr": 0.01, "weight_decay": 0.0})),
        ("tall,nesterov=False", {"learning_rate": 0.01, "nesterov": False},
         ("muon", {"lr": 0.01, "nesterov": False, "weight_decay": 0.0})),
    ],
}

# Matrix cases: their shape (inputs of their own, of that many entries).
SHAPES = {
    ("adafactor", "matrix"): [3, 4],
    ("adafactor", "matrix,tall"): [4, 3],
    ("adafactor", "matrix+weight_decay+d"): [3, 4],
    ("adafactor", "matrix,unfactored"): [3, 4],
    ("adafactor", "matrix,decay_rate=0"): [3, 4],
    ("muon", "square,nesterov=False"): [3, 3],
    ("muon", "square"): [3, 3],
    ("muon", "tall,nesterov=False"): [4, 3],
}


def matrix_inputs(function, name, shape):
    """Params and grads for a matrix case, flattened row-major."""
    rng = random.Random(f"{SEED}:optax:{function}:{name}")
    n = shape[0] * shape[1]
    steps = rng.randint(60, 80)
    params = initial_params(rng, n)
    grads = gradients(rng, n, steps)
    grads[0] = [x if x != 0.0 else 1.0 for x in grads[0]]
    return params, grads


def optax_run_shaped(function, args, params, grads, shape):
    """Optax's iterates on a matrix parameter, flattened row-major."""
    lib = optax.contrib if function == "muon" else optax
    opt = getattr(lib, function)(**args)
    update = jax.jit(opt.update)
    p = jnp.asarray(params, dtype=jnp.float64).reshape(shape)
    state = opt.init(p)
    out = []
    for g in grads:
        g = jnp.asarray(g, dtype=jnp.float64).reshape(shape)
        updates, state = update(g, state, p)
        p = optax.apply_updates(p, updates)
        assert p.dtype == jnp.float64
        out.append([float(x) for x in p.reshape(-1)])
    return out


def dump(case):
    text = dump_optax_case(case)
    if "shape" in case:
        text = text.replace('  "params":', f'  "shape": {json.dumps(case["shape"])},\n  "params":', 1)
    return text


def write(function, meta):
    built = []
    for name, args, counterpart in CASES[function]:
        shape = SHAPES.get((function, name))
        if shape:
            params, grads = matrix_inputs(function, name, shape)
            expected = optax_run_shaped(function, args, params, grads, shape)
        else:
            params, grads = optax_inputs(function)
            _, expected = optax_run(function, args, params, grads)
        case = {"name": name, "function": function, "args": args, "torch": None,
                "params": params, "grads": grads, "expected": expected}
        if shape:
            case["shape"] = shape
        if counterpart is not None:
            optimizer, hyper = counterpart
            case["torch"] = {"optimizer": optimizer, "hyper": hyper}
            request = {"optimizer": optimizer, "hyper": hyper, "params": params, "grads": grads}
            if shape:
                request["shape"] = shape
            case["torch_expected"] = torch_replay(request)
        for key in ("expected", "torch_expected"):
            for row in case.get(key, []):
                assert all(math.isfinite(x) for x in row), (function, name, key)
        built.append(case)
    meta_text = ",\n".join(f'  "{k}": {json.dumps(v)}' for k, v in meta.items())
    text = "{\n" + meta_text + ',\n  "cases": [\n' + ",\n".join(dump(c) for c in built) + "\n  ]\n}\n"
    assert json.loads(text)["cases"][0]["expected"] == built[0]["expected"]
    path = OPTAX_OUT / f"{function}.json"
    path.write_text(text)
    print(f"optax/{path.name:14s} {len(built):2d} cases  {len(text) / 1024:7.1f} KiB", file=sys.stderr)


def main():
    meta = {
        "generator": "scripts/reference/generate_optax_more.py",
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
    for function in CASES:
        write(function, meta)


if __name__ == "__main__":
    main()
