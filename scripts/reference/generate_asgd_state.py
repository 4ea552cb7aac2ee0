"""PyTorch's ASGD state along the committed ASGD fixture.

    python scripts/reference/generate_asgd_state.py
        # reads tests/fixtures/pytorch/asgd.json, writes
        # tests/fixtures/pytorch-state/asgd.json

The parameter fixtures cannot see ASGD's average `ax`: it never feeds back into
the parameters. This file replays every case of tests/fixtures/pytorch/asgd.json
through torch.optim.ASGD (float64, foreach=False) and records, after each step,
the state PyTorch keeps: `ax`, `eta` and `mu`. Deterministic: no randomness.
"""
import json
import pathlib

import torch

torch.set_default_dtype(torch.float64)

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE = ROOT / "tests/fixtures/pytorch/asgd.json"
OUT = ROOT / "tests/fixtures/pytorch-state/asgd.json"


def replay_state(case):
    p = torch.nn.Parameter(torch.tensor(case["params"], dtype=torch.float64))
    opt = torch.optim.ASGD([p], foreach=False, **case["hyper"])
    ax, eta, mu = [], [], []
    for g in case["grads"]:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        state = opt.state[p]
        ax.append(state["ax"].tolist())
        eta.append(state["eta"].item())
        mu.append(state["mu"].item())
    return ax, eta, mu


def main():
    source = json.loads(SOURCE.read_text())
    cases = []
    for case in source["cases"]:
        ax, eta, mu = replay_state(case)
        body = [
            f'  "name": {json.dumps(case["name"])}',
            f'  "eta": {json.dumps(eta)}',
            f'  "mu": {json.dumps(mu)}',
            '  "ax": [\n' + ",\n".join("    " + json.dumps(r) for r in ax) + "\n  ]",
        ]
        cases.append("{\n" + ",\n".join(body) + "\n}")
    meta = {
        "generator": "scripts/reference/generate_asgd_state.py",
        "source": "tests/fixtures/pytorch/asgd.json",
        "torch": torch.__version__,
        "dtype": "float64",
        "foreach": False,
    }
    meta_text = ",\n".join(f'  "{k}": {json.dumps(v)}' for k, v in meta.items())
    text = "{\n" + meta_text + ',\n  "cases": [\n' + ",\n".join(cases) + "\n  ]\n}\n"
    json.loads(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"{OUT.relative_to(ROOT)}: {len(cases)} cases")


if __name__ == "__main__":
    main()
