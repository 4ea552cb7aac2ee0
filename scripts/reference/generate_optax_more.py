"""Optax fixtures for the Adam variants that both libraries have: Adamax, NAdam,
RAdam (and Adafactor and Muon, whose Optax and PyTorch forms are compared on the
same inputs; see the cases' comments).

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
import sys

import jax
import jax.numpy as jnp
import jaxlib
import optax
import optax.contrib
import torch

from generate import OPTAX_OUT, SEED, dump_optax_case, optax_inputs, optax_run
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
}


def write(function, meta):
    params, grads = optax_inputs(function)
    built = []
    for name, args, counterpart in CASES[function]:
        _, expected = optax_run(function, args, params, grads)
        case = {"name": name, "function": function, "args": args, "torch": None,
                "params": params, "grads": grads, "expected": expected}
        if counterpart is not None:
            optimizer, hyper = counterpart
            case["torch"] = {"optimizer": optimizer, "hyper": hyper}
            case["torch_expected"] = torch_replay(
                {"optimizer": optimizer, "hyper": hyper, "params": params, "grads": grads})
        for key in ("expected", "torch_expected"):
            for row in case.get(key, []):
                assert all(math.isfinite(x) for x in row), (function, name, key)
        built.append(case)
    meta_text = ",\n".join(f'  "{k}": {json.dumps(v)}' for k, v in meta.items())
    text = "{\n" + meta_text + ',\n  "cases": [\n' + ",\n".join(dump_optax_case(c) for c in built) + "\n  ]\n}\n"
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
