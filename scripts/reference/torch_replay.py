"""Run one replay request through PyTorch (foreach=False, single-tensor path), in
float64 or, with dtype torch.float32, in float32: the request's numbers are then
rounded to the nearest float32 as torch.tensor(x, dtype=torch.float32) does, and
the returned floats are float32 values widened exactly to Python floats.

Shared by the fixture generator and the cross-check. Pinned versions: requirements.txt.
"""
import torch

torch.set_default_dtype(torch.float64)

CLASSES = {
    "sgd": torch.optim.SGD,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
    "adadelta": torch.optim.Adadelta,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rprop": torch.optim.Rprop,
    "asgd": torch.optim.ASGD,
    "adamax": torch.optim.Adamax,
    "nadam": torch.optim.NAdam,
    "radam": torch.optim.RAdam,
    "adafactor": torch.optim.Adafactor,
    "muon": torch.optim.Muon,
    "sparseadam": torch.optim.SparseAdam,
}

# Optimizers whose constructor has no `foreach` argument.
NO_FOREACH = {"muon", "sparseadam"}

# Optimizers that take a gradient in sparse layout: a request's dense gradient row
# stands for `g.to_sparse()`, which holds exactly its nonzero entries.
SPARSE = {"sparseadam"}


def torch_replay(request, dtype=torch.float64):
    """Return the parameters after each step, as lists of Python floats."""
    hyper = dict(request.get("hyper", {}))
    for key in ("betas", "etas", "step_sizes", "eps", "ns_coefficients"):
        if key == "eps" and not isinstance(hyper.get(key), list):
            continue
        if key in hyper:
            hyper[key] = tuple(hyper[key])
    shape = request.get("shape")
    p = torch.nn.Parameter(torch.tensor(request["params"], dtype=dtype))
    if shape is not None:
        p = torch.nn.Parameter(p.detach().reshape(shape).clone())
    name = request["optimizer"]
    extra = {} if name in NO_FOREACH else {"foreach": False}
    opt = CLASSES[name]([p], **extra, **hyper)
    out = []
    for g in request["grads"]:
        p.grad = torch.tensor(g, dtype=dtype).reshape(p.shape)
        if name in SPARSE:
            p.grad = p.grad.to_sparse()
        opt.step()
        assert p.dtype == dtype
        out.append(p.detach().reshape(-1).tolist())
    return out


SCHEDULERS = {
    name: getattr(torch.optim.lr_scheduler, name)
    for name in (
        "StepLR",
        "MultiStepLR",
        "ExponentialLR",
        "CosineAnnealingLR",
        "LinearLR",
        "ConstantLR",
        "PolynomialLR",
        "OneCycleLR",
        "CosineAnnealingWarmRestarts",
    )
}


def norm_type(value):
    """A replay request's norm_type (a number or "inf") as PyTorch takes it."""
    return float("inf") if value == "inf" else float(value)


def torch_replay_loop(request):
    """Run a request that may carry lr_scheduler, clip_grad_norm or clip_grad_value
    in PyTorch's loop order: clip, optimizer.step(), scheduler.step().

    Returns {"params": rows, "lr": the rate each step used} ("lr" only with a
    scheduler), as Python floats.
    """
    hyper = dict(request.get("hyper", {}))
    for key in ("betas", "etas", "step_sizes"):
        if key in hyper:
            hyper[key] = tuple(hyper[key])
    p = torch.nn.Parameter(torch.tensor(request["params"], dtype=torch.float64))
    opt = CLASSES[request["optimizer"]]([p], foreach=False, **hyper)
    sched = None
    if "lr_scheduler" in request:
        args = dict(request["lr_scheduler"])
        sched = SCHEDULERS[args.pop("name")](opt, **args)
    out, lrs = [], []
    for g in request["grads"]:
        p.grad = torch.tensor(g, dtype=torch.float64)
        if "clip_grad_norm" in request:
            c = request["clip_grad_norm"]
            torch.nn.utils.clip_grad_norm_(
                [p], c["max_norm"], norm_type(c.get("norm_type", 2.0))
            )
        if "clip_grad_value" in request:
            torch.nn.utils.clip_grad_value_([p], request["clip_grad_value"]["clip_value"])
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        out.append(p.detach().tolist())
        if sched is not None:
            sched.step()
    result = {"params": out}
    if sched is not None:
        result["lr"] = lrs
    return result
