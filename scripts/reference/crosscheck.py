"""Compare `descent replay` with PyTorch on random requests (not used by the tests).

    python crosscheck.py path/to/descent [cases] [seed] [names]

`names` is an optional comma-separated list of optimizers to draw from.

Lion is compared with Optax's `optax.lion` (jax in float64, the update
jit-compiled), the library whose semantics the crate follows for it; `maximize`
is fed to Optax as the negated gradient. SparseAdam is compared with PyTorch's
`SparseAdam` on `torch.tensor(row).to_sparse()`; its random gradients have many
zero entries of both signs (absent coordinates).

Prints, per optimizer, how many iterates were bit-identical and the worst
relative difference. Exits non-zero if any difference exceeds 1e-12 relative to
the largest parameter magnitude seen in that coordinate.
"""
import json
import random
import subprocess
import sys

from torch_replay import torch_replay


def optax_lion(req):
    """Optax's iterates for a `lion` request (imported lazily: jax is slow to load)."""
    import jax
    import jax.numpy as jnp
    import optax

    jax.config.update("jax_enable_x64", True)
    h = req["hyper"]
    b1, b2 = h.get("betas", [0.9, 0.99])
    opt = optax.lion(learning_rate=h.get("lr", 1e-4), b1=b1, b2=b2,
                     weight_decay=h.get("weight_decay", 1e-3))
    update = jax.jit(opt.update)
    p = jnp.asarray(req["params"], dtype=jnp.float64)
    state = opt.init(p)
    sign = -1.0 if h.get("maximize", False) else 1.0
    out = []
    for g in req["grads"]:
        g = sign * jnp.asarray(g, dtype=jnp.float64)
        updates, state = update(g, state, p)
        p = optax.apply_updates(p, updates)
        out.append([float(x) for x in p])
    return out


def reference(req):
    """The reference library's iterates: Optax for Lion, PyTorch otherwise."""
    return optax_lion(req) if req["optimizer"] == "lion" else torch_replay(req)


def rand_hyper(name, rng):
    h = {}
    def maybe(key, value):
        if rng.random() < 0.6:
            h[key] = value
    lr = 10 ** rng.uniform(-4, 0)
    maybe("lr", lr)
    if name in ("sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw",
                "asgd", "adamax", "nadam", "radam"):
        maybe("weight_decay", rng.choice([0.0, 10 ** rng.uniform(-4, -1)]))
    if name == "sgd":
        mom = rng.choice([0.0, rng.uniform(0, 0.99)])
        h["momentum"] = mom
        if mom > 0 and rng.random() < 0.5:
            h["nesterov"] = True
        else:
            maybe("dampening", rng.uniform(0, 1))
    if name == "adagrad":
        maybe("lr_decay", rng.choice([0.0, 10 ** rng.uniform(-4, -1)]))
        maybe("initial_accumulator_value", rng.choice([0.0, rng.uniform(0, 1)]))
        maybe("eps", 10 ** rng.uniform(-12, -6))
    if name == "rmsprop":
        maybe("alpha", rng.uniform(0.5, 0.999))
        maybe("eps", 10 ** rng.uniform(-10, -6))
        maybe("momentum", rng.choice([0.0, rng.uniform(0, 0.95)]))
        maybe("centered", rng.random() < 0.5)
    if name == "adadelta":
        maybe("rho", rng.uniform(0.5, 0.99))
        maybe("eps", 10 ** rng.uniform(-8, -4))
    if name in ("adam", "adamw"):
        maybe("betas", [rng.uniform(0, 0.99), rng.uniform(0.9, 0.9999)])
        maybe("eps", 10 ** rng.uniform(-10, -6))
        maybe("amsgrad", rng.random() < 0.5)
    if name == "asgd":
        maybe("lambd", rng.choice([0.0, 10 ** rng.uniform(-5, -1)]))
        maybe("alpha", rng.uniform(0, 1.5))
        maybe("t0", rng.choice([1e6, float(rng.randint(0, 50)), rng.uniform(-5, 50)]))
    if name in ("adamax", "nadam", "radam"):
        maybe("betas", [rng.uniform(0, 0.99), rng.uniform(0.5, 0.9999)])
        maybe("eps", 10 ** rng.uniform(-10, -3))
    if name == "nadam":
        maybe("momentum_decay", rng.choice([0.0, 10 ** rng.uniform(-4, 0)]))
    if name in ("nadam", "radam"):
        maybe("decoupled_weight_decay", rng.random() < 0.5)
    if name == "lion":
        maybe("betas", [rng.choice([0.0, 1.0, rng.uniform(0, 1)]), rng.choice([0.0, 1.0, rng.uniform(0, 1)])])
        maybe("weight_decay", rng.choice([0.0, 10 ** rng.uniform(-4, 0)]))
    if name == "sparseadam":
        maybe("betas", [rng.uniform(0, 0.99), rng.uniform(0.5, 0.9999)])
        maybe("eps", 10 ** rng.uniform(-10, -3))
    if name == "rprop":
        maybe("etas", [rng.uniform(0.1, 0.9), rng.uniform(1.05, 2.0)])
        maybe("step_sizes", [10 ** rng.uniform(-8, -4), 10 ** rng.uniform(-1, 2)])
    if name == "adafactor":
        maybe("beta2_decay", rng.uniform(-1.0, 0.0))
        maybe("eps", [rng.choice([None, 10 ** rng.uniform(-30, -3)]), 10 ** rng.uniform(-5, -2)])
        maybe("d", rng.uniform(1.0, 3.0))
        maybe("weight_decay", rng.choice([0.0, 10 ** rng.uniform(-4, -1)]))
    if name == "muon":
        maybe("weight_decay", rng.choice([0.0, 10 ** rng.uniform(-4, -1)]))
        maybe("momentum", rng.uniform(0.0, 0.99))
        maybe("nesterov", rng.random() < 0.5)
        maybe("ns_steps", rng.randint(1, 6))
        maybe("adjust_lr_fn", rng.choice(["original", "match_rms_adamw", "spectral_unclamped"]))
        return h  # Muon has no maximize
    if rng.random() < 0.1:
        h["maximize"] = True
    return h


def rand_grads(n, steps, rng, zeros=0.05):
    rows = []
    for _ in range(steps):
        row = []
        for _ in range(n):
            u = rng.random()
            if u < zeros:
                row.append(rng.choice([0.0, -0.0]))
            else:
                row.append(rng.choice([-1, 1]) * 10 ** rng.uniform(-6, 3))
        rows.append(row)
    return rows


def main():
    exe = sys.argv[1]
    cases = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 12345)
    names = ["sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "rprop",
             "asgd", "adamax", "nadam", "radam", "adafactor", "muon", "lion", "sparseadam"]
    if len(sys.argv) > 4:
        names = sys.argv[4].split(",")
    worst_all = 0.0
    stats = {}
    for k in range(cases):
        name = rng.choice(names)
        n = rng.randint(1, 9)
        shape = None
        if name == "muon" or (name == "adafactor" and rng.random() < 0.6):
            shape = [rng.randint(1, 5), rng.randint(1, 5)]
            n = shape[0] * shape[1]
        req = {
            "optimizer": name,
            "hyper": rand_hyper(name, rng),
            "params": [rng.uniform(-3, 3) for _ in range(n)],
            "grads": rand_grads(n, rng.randint(1, 150), rng,
                                zeros=rng.uniform(0.2, 0.8) if name == "sparseadam" else 0.05),
        }
        if shape is not None:
            req["shape"] = shape
        want = reference(req)
        res = subprocess.run([exe, "replay"], input=json.dumps(req), capture_output=True, text=True)
        if res.returncode != 0:
            print("REFUSED", name, res.stderr.strip(), json.dumps(req)[:300])
            continue
        got = json.loads(res.stdout)["params"]
        same = total = 0
        worst = 0.0
        scale = [abs(x) for x in req["params"]]
        for w_row, g_row in zip(want, got):
            for i, (w, g) in enumerate(zip(w_row, g_row)):
                scale[i] = max(scale[i], abs(w))
                total += 1
                same += w == g
                if scale[i] > 0:
                    worst = max(worst, abs(w - g) / scale[i])
        s = stats.setdefault(name, [0, 0, 0.0, 0])
        s[0] += same; s[1] += total; s[2] = max(s[2], worst); s[3] += 1
        if worst > 1e-12:
            print("MISMATCH", name, worst, json.dumps(req)[:400])
        worst_all = max(worst_all, worst)
    for name, (same, total, worst, requests) in sorted(stats.items()):
        print(f"{name:10s} {requests:4d} requests  bit-identical {same}/{total}  "
              f"worst relative {worst:.3g}")
    sys.exit(1 if worst_all > 1e-12 else 0)


if __name__ == "__main__":
    main()
