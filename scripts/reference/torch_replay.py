"""Run one replay request through PyTorch (float64, foreach=False, single-tensor path).

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
}

# Optimizers whose constructor has no `foreach` argument.
NO_FOREACH = {"muon"}


def torch_replay(request):
    """Return the parameters after each step, as lists of Python floats."""
    hyper = dict(request.get("hyper", {}))
    for key in ("betas", "etas", "step_sizes", "eps", "ns_coefficients"):
        if key == "eps" and not isinstance(hyper.get(key), list):
            continue
        if key in hyper:
            hyper[key] = tuple(hyper[key])
    shape = request.get("shape")
    p = torch.nn.Parameter(torch.tensor(request["params"], dtype=torch.float64))
    if shape is not None:
        p = torch.nn.Parameter(p.detach().reshape(shape).clone())
    name = request["optimizer"]
    extra = {} if name in NO_FOREACH else {"foreach": False}
    opt = CLASSES[name]([p], **extra, **hyper)
    out = []
    for g in request["grads"]:
        p.grad = torch.tensor(g, dtype=torch.float64).reshape(p.shape)
        opt.step()
        out.append(p.detach().reshape(-1).tolist())
    return out
