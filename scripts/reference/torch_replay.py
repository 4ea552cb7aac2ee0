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
}


def torch_replay(request):
    """Return the parameters after each step, as lists of Python floats."""
    hyper = dict(request.get("hyper", {}))
    for key in ("betas", "etas", "step_sizes"):
        if key in hyper:
            hyper[key] = tuple(hyper[key])
    p = torch.nn.Parameter(torch.tensor(request["params"], dtype=torch.float64))
    opt = CLASSES[request["optimizer"]]([p], foreach=False, **hyper)
    out = []
    for g in request["grads"]:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append(p.detach().tolist())
    return out
