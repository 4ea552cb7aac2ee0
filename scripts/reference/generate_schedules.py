"""Write the reference fixtures of the learning-rate schedules and of gradient
clipping, from PyTorch (float64).

    python scripts/reference/generate_schedules.py
        # writes tests/fixtures/pytorch/schedules.json and clip.json

schedules.json holds two lists:

- `trajectories`: one scheduler attached to one optimizer, stepped `steps` times
  (an optimizer step with a zero gradient, then `scheduler.step()`). `lr[k]` is
  the group's rate after k scheduler steps (k = 0: after the constructor),
  `momentum[k]` its momentum (SGD, RMSprop) or betas[0] (Adam), and
  `closed_form[k]` PyTorch's `_get_closed_form_lr()` at the same epoch (null for
  the two schedules without one).
- `replay`: `descent replay` requests with `lr_scheduler`, `clip_grad_norm` or
  `clip_grad_value`, plus `expected` (parameters after every step) and
  `expected_lr` (the rate each step used), from PyTorch's loop
  clip -> optimizer.step() -> scheduler.step().

clip.json holds `norm` cases (a gradient, max_norm, norm_type, the total norm
clip_grad_norm_ returns and the clipped gradient) and `value` cases (a gradient,
clip_value, the clipped gradient).

The output depends only on the seed below and on the pinned torch version.
"""
import json
import platform
import random
import sys
from pathlib import Path

import torch

from torch_replay import SCHEDULERS, norm_type, torch_replay_loop

torch.set_default_dtype(torch.float64)

SEED = 20261130
OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "pytorch"

# (name, optimizer, hyper, scheduler arguments, steps)
TRAJECTORIES = [
    ("step", "sgd", {"lr": 0.1}, {"name": "StepLR", "step_size": 3, "gamma": 0.7}, 60),
    ("step-default-gamma", "sgd", {"lr": 0.037}, {"name": "StepLR", "step_size": 1}, 40),
    ("multistep", "sgd", {"lr": 0.1},
     {"name": "MultiStepLR", "milestones": [30, 5, 12, 12], "gamma": 0.35}, 40),
    ("multistep-zero", "sgd", {"lr": 0.3}, {"name": "MultiStepLR", "milestones": [0, 4]}, 10),
    ("exponential", "sgd", {"lr": 0.1}, {"name": "ExponentialLR", "gamma": 0.97}, 300),
    ("cosine", "sgd", {"lr": 0.1}, {"name": "CosineAnnealingLR", "T_max": 50}, 160),
    ("cosine-eta_min", "adam", {"lr": 0.037},
     {"name": "CosineAnnealingLR", "T_max": 7, "eta_min": 0.003}, 40),
    ("linear-default", "sgd", {"lr": 0.1}, {"name": "LinearLR"}, 10),
    ("linear-warmup", "adam", {"lr": 0.001},
     {"name": "LinearLR", "start_factor": 0.01, "total_iters": 20}, 40),
    ("linear-decay", "sgd", {"lr": 0.1},
     {"name": "LinearLR", "start_factor": 1.0, "end_factor": 0.0, "total_iters": 30}, 40),
    ("constant-default", "sgd", {"lr": 0.1}, {"name": "ConstantLR"}, 10),
    ("constant", "adam", {"lr": 0.01}, {"name": "ConstantLR", "factor": 0.3, "total_iters": 7}, 15),
    ("polynomial-default", "sgd", {"lr": 0.1}, {"name": "PolynomialLR"}, 10),
    ("polynomial-square", "sgd", {"lr": 0.1},
     {"name": "PolynomialLR", "total_iters": 40, "power": 2.0}, 50),
    ("polynomial-root", "adam", {"lr": 0.02},
     {"name": "PolynomialLR", "total_iters": 25, "power": 0.5}, 30),
    ("onecycle-sgd", "sgd", {"lr": 0.5, "momentum": 0.9},
     {"name": "OneCycleLR", "max_lr": 0.1, "total_steps": 100}, 100),
    ("onecycle-adam", "adam", {},
     {"name": "OneCycleLR", "max_lr": 0.01, "total_steps": 80, "pct_start": 0.25}, 80),
    ("onecycle-three-phase", "sgd", {"momentum": 0.5},
     {"name": "OneCycleLR", "max_lr": 0.2, "total_steps": 60, "three_phase": True}, 60),
    ("onecycle-linear", "rmsprop", {"momentum": 0.9},
     {"name": "OneCycleLR", "max_lr": 0.05, "total_steps": 50, "anneal_strategy": "linear",
      "base_momentum": 0.8, "max_momentum": 0.9}, 50),
    ("onecycle-no-momentum", "adagrad", {},
     {"name": "OneCycleLR", "max_lr": 0.3, "epochs": 4, "steps_per_epoch": 9,
      "cycle_momentum": False, "div_factor": 10.0, "final_div_factor": 100.0}, 36),
    ("warm-restarts", "sgd", {"lr": 0.1}, {"name": "CosineAnnealingWarmRestarts", "T_0": 10}, 45),
    ("warm-restarts-mult", "adam", {"lr": 0.05},
     {"name": "CosineAnnealingWarmRestarts", "T_0": 3, "T_mult": 2, "eta_min": 0.001}, 60),
]

OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
}


def momentum_of(group):
    if "betas" in group:
        return group["betas"][0]
    return group.get("momentum")


def trajectory(name, optimizer, hyper, args, steps):
    p = torch.nn.Parameter(torch.zeros(2))
    opt = OPTIMIZERS[optimizer]([p], foreach=False, **hyper)
    kwargs = {k: v for k, v in args.items() if k != "name"}
    sched = SCHEDULERS[args["name"]](opt, **kwargs)
    closed = hasattr(sched, "_get_closed_form_lr")

    def record():
        group = opt.param_groups[0]
        lrs.append(group["lr"])
        moms.append(momentum_of(group))
        if closed:
            forms.append(sched._get_closed_form_lr()[0])

    lrs, moms, forms = [], [], []
    record()
    for _ in range(steps):
        p.grad = torch.zeros(2)
        opt.step()
        sched.step()
        record()
    return {
        "name": name,
        "optimizer": optimizer,
        "hyper": hyper,
        "lr_scheduler": args,
        "steps": steps,
        "lr": lrs,
        "momentum": moms,
        "closed_form": forms if closed else None,
    }


def short(x):
    return float(f"{x:.3g}")


def gradients(rng, n, steps, scale):
    rows = []
    for t in range(steps):
        row = [short(rng.choice([-1, 1]) * scale * 10 ** rng.uniform(-2, 1)) for _ in range(n)]
        row[0] = short(scale)  # a constant coordinate
        row[1] = short(scale * (-1) ** t)  # a sign that flips every step
        if t % 3 == 0:
            row[2] = 0.0
        rows.append(row)
    return rows


REPLAY = [
    ("sgd-momentum+onecycle", "sgd", {"momentum": 0.9},
     {"lr_scheduler": {"name": "OneCycleLR", "max_lr": 0.1, "total_steps": 30}}),
    ("adamw+onecycle-three-phase", "adamw", {},
     {"lr_scheduler": {"name": "OneCycleLR", "max_lr": 0.01, "total_steps": 30,
                       "three_phase": True, "anneal_strategy": "linear"}}),
    ("adam+cosine+clip2", "adam", {"lr": 0.05},
     {"lr_scheduler": {"name": "CosineAnnealingLR", "T_max": 12, "eta_min": 0.001},
      "clip_grad_norm": {"max_norm": 1.0}}),
    ("sgd+step+clip1", "sgd", {"lr": 0.1, "momentum": 0.5},
     {"lr_scheduler": {"name": "StepLR", "step_size": 4, "gamma": 0.5},
      "clip_grad_norm": {"max_norm": 2.5, "norm_type": 1.0}}),
    ("rmsprop+linear-warmup+clipinf", "rmsprop", {"lr": 0.01},
     {"lr_scheduler": {"name": "LinearLR", "start_factor": 0.1, "total_iters": 10},
      "clip_grad_norm": {"max_norm": 0.5, "norm_type": "inf"}}),
    ("adagrad+exponential+clipvalue", "adagrad", {"lr": 0.1},
     {"lr_scheduler": {"name": "ExponentialLR", "gamma": 0.9},
      "clip_grad_value": {"clip_value": 0.3}}),
    ("adam+warm-restarts", "adam", {"lr": 0.02},
     {"lr_scheduler": {"name": "CosineAnnealingWarmRestarts", "T_0": 5, "T_mult": 2}}),
    ("sgd+polynomial", "sgd", {"lr": 0.05},
     {"lr_scheduler": {"name": "PolynomialLR", "total_iters": 20, "power": 1.5}}),
    ("sgd+constant", "sgd", {"lr": 0.05, "nesterov": True, "momentum": 0.9},
     {"lr_scheduler": {"name": "ConstantLR", "factor": 0.3, "total_iters": 6}}),
    ("adam+multistep", "adam", {"lr": 0.01},
     {"lr_scheduler": {"name": "MultiStepLR", "milestones": [3, 9, 9], "gamma": 0.5}}),
    ("adadelta+clip2", "adadelta", {}, {"clip_grad_norm": {"max_norm": 0.1}}),
]


def replay_cases(rng):
    cases = []
    for name, optimizer, hyper, extra in REPLAY:
        n = rng.randint(5, 7)
        steps = 30
        params = [short(rng.uniform(-2, 2)) for _ in range(n)]
        params[1] = 0.0
        grads = gradients(rng, n, steps, 10 ** rng.uniform(-1, 1))
        request = {"optimizer": optimizer, "hyper": hyper, "params": params, "grads": grads}
        request.update(extra)
        result = torch_replay_loop(request)
        case = {"name": name, **request, "expected": result["params"]}
        if "lr" in result:
            case["expected_lr"] = result["lr"]
        cases.append(case)
    return cases


def clip_cases(rng):
    norms, values = [], []
    lengths = [1, 2, 3, 4, 5, 6, 7] * 6 + [8, 9, 12, 16, 17, 33, 100]
    for k, n in enumerate(lengths):
        scale = 10 ** rng.uniform(-4, 4)
        grad = [rng.choice([-1, 1]) * scale * 10 ** rng.uniform(-3, 0) for _ in range(n)]
        if k % 7 == 3:
            grad[0] = 0.0
        if k % 11 == 5:
            grad = [0.0] * n
        for nt in (1.0, 2.0, "inf"):
            t = torch.tensor(grad)
            exact = torch.linalg.vector_norm(t, norm_type(nt)).item()
            # max_norm below, near and above the norm
            max_norm = [exact * 0.5, exact, exact * 2.0, 1.0][k % 4]
            p = torch.nn.Parameter(torch.zeros(n))
            p.grad = t.clone()
            total = torch.nn.utils.clip_grad_norm_([p], max_norm, norm_type(nt)).item()
            norms.append({
                "grad": grad, "max_norm": max_norm, "norm_type": nt,
                "total_norm": total, "clipped": p.grad.tolist(),
            })
        clip_value = [0.0, scale * 0.1, scale * 0.5, scale * 2.0][k % 4]
        p = torch.nn.Parameter(torch.zeros(n))
        p.grad = torch.tensor(grad)
        torch.nn.utils.clip_grad_value_([p], clip_value)
        values.append({"grad": grad, "clip_value": clip_value, "clipped": p.grad.tolist()})
    return norms, values


def meta():
    return {
        "generator": "scripts/reference/generate_schedules.py",
        "seed": SEED,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "dtype": "float64",
        "foreach": False,
    }


def write(path, body):
    text = json.dumps(body, indent=1, sort_keys=False)
    path.write_text(text + "\n")
    print(f"wrote {path} ({len(text)} bytes)", file=sys.stderr)


def main():
    rng = random.Random(SEED)
    trajectories = [trajectory(*t) for t in TRAJECTORIES]
    replay = replay_cases(rng)
    write(OUT / "schedules.json", {**meta(), "trajectories": trajectories, "replay": replay})
    norms, values = clip_cases(rng)
    write(OUT / "clip.json", {**meta(), "norm": norms, "value": values})


if __name__ == "__main__":
    main()
