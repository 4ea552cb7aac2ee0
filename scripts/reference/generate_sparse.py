"""Fixtures for PyTorch's SparseAdam.

    python scripts/reference/generate_sparse.py
        # writes tests/fixtures/pytorch/sparseadam.json

Same conventions as generate.py and generate_more.py (whose input generators it
reuses): float64, every case a `descent replay` request plus `expected`.
SparseAdam takes a gradient in sparse layout; a request's dense gradient row
stands for `torch.tensor(row).to_sparse()`, which holds exactly the entries that
are not zero (torch_replay.py does this conversion). The gradient sequences are
generate.py's, with extra zeros (of both signs) punched in at positions that
change from step to step, one step with no entry present at all, and one step
with a single entry present, so that the fixtures exercise absent coordinates:
their parameters and moments must stay exactly as they were.

The output depends only on the seed and on the version of PyTorch (pinned in
requirements.txt), which the file records.
"""
import json
import math
import platform
import random
import sys

import torch

from generate import OUT, SEED, dump_case, gradients, initial_params
from torch_replay import torch_replay

CASES = [
    ("defaults", {}),
    ("lr", {"lr": 0.05}),
    ("betas", {"lr": 0.01, "betas": [0.3, 0.95]}),
    ("eps", {"lr": 0.01, "eps": 1e-3}),
    ("betas+eps", {"lr": 0.02, "betas": [0.5, 0.9], "eps": 1e-6}),
    ("matrix", {"lr": 0.01}),
    ("maximize", {"lr": 0.01, "maximize": True}),
]

SHAPES = {"matrix": [3, 4]}


def sparsify(rng, rows):
    """Zeros punched into the rows: each entry is absent with probability 0.4,
    as +0.0 or -0.0; row 4 keeps no entry and row 6 keeps only one."""
    out = []
    for t, row in enumerate(rows):
        row = [(rng.choice([0.0, -0.0]) if rng.random() < 0.4 else x) for x in row]
        if t == 4:
            row = [rng.choice([0.0, -0.0]) for _ in row]
        if t == 6:
            keep = rng.randrange(len(row))
            row = [x if i == keep else 0.0 for i, x in enumerate(row)]
            if row[keep] == 0.0:
                row[keep] = 0.5
        out.append(row)
    return out


def make_case(name, hyper):
    rng = random.Random(f"{SEED}:sparseadam:{name}")
    shape = SHAPES.get(name)
    n = shape[0] * shape[1] if shape else rng.randint(5, 7)
    steps = rng.randint(120, 140)
    grads = [row[:n] for row in gradients(rng, max(n, 5), steps)]
    request = {"optimizer": "sparseadam", "hyper": hyper,
               "params": initial_params(rng, n), "grads": sparsify(rng, grads)}
    if shape:
        request["shape"] = shape
    expected = torch_replay(request)
    for row in expected:
        assert all(math.isfinite(x) for x in row), name
    return {"name": name, **request, "expected": expected}


def dump(case):
    text = dump_case(case)
    if "shape" in case:
        text = text.replace('  "params":', f'  "shape": {json.dumps(case["shape"])},\n  "params":', 1)
    return text


def main():
    meta = {
        "generator": "scripts/reference/generate_sparse.py",
        "seed": SEED,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "dtype": "float64",
        "sparse": "each gradient row is torch.tensor(row).to_sparse()",
    }
    built = [make_case(name, hyper) for name, hyper in CASES]
    meta_text = ",\n".join(f'  "{k}": {json.dumps(v)}' for k, v in meta.items())
    text = "{\n" + meta_text + ',\n  "cases": [\n' + ",\n".join(dump(c) for c in built) + "\n  ]\n}\n"
    doc = json.loads(text)
    assert doc["cases"][0]["expected"] == built[0]["expected"]
    # -0.0 must survive the round trip (json writes it as -0.0).
    assert any(math.copysign(1.0, x) < 0 for c in doc["cases"] for r in c["grads"] for x in r if x == 0.0)
    path = OUT / "sparseadam.json"
    path.write_text(text)
    print(f"{path.name:16s} {len(built):2d} cases  {len(text) / 1024:7.1f} KiB", file=sys.stderr)


if __name__ == "__main__":
    main()
