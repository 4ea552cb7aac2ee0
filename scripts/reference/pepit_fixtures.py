"""Worst cases from PEPit for the methods and measures of `descent pep`.

Writes tests/fixtures/pepit/worst_cases.json; tests/pep.rs compares the crate's own
performance estimation against it. Each method is written here once more, in
PEPit's modelling language, exactly as src/pep/method.rs runs it (steps in units
of 1/L, heavy ball started at rest, Nesterov from y_0 = x_0, the optimized gradient
method with its last theta). PEPit writes its own interpolation conditions and
its own SDP; the solver behind it (through CVXPY) is named in the file.

Run from the repository root with the reference venv:
    /root/venv-ref/bin/python scripts/reference/pepit_fixtures.py
Versions are pinned in scripts/reference/requirements-pep.txt.
"""

import json
import math
import os
import sys

import cvxpy
import numpy as np
import PEPit
from PEPit import PEP
from PEPit.functions import SmoothStronglyConvexFunction
from PEPit.point import Point
from PEPit.tools.dict_operations import prune_dict, symmetrize_dict

OUT = os.path.join("tests", "fixtures", "pepit", "worst_cases.json")
SOLVER = "CLARABEL"


def run_method(method, func, x0, L, mu, n, h, beta):
    """Runs n steps symbolically and returns the output point."""
    if method == "gd":
        x = x0
        for _ in range(n):
            x = x - h / L * func.gradient(x)
        return x
    if method == "heavy-ball":
        prev, x = x0, x0
        for _ in range(n):
            nxt = x - h / L * func.gradient(x) + beta * (x - prev)
            prev, x = x, nxt
        return x
    if method == "nesterov":
        t = 1.0
        x, y = x0, x0
        for _ in range(n):
            nxt = y - h / L * func.gradient(y)
            if beta is None:  # the t_k schedule
                t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
                b = (t - 1) / t_next
                t = t_next
            else:
                b = beta
            y = nxt + b * (nxt - x)
            x = nxt
        return x
    if method == "ogm":
        theta = [1.0]
        for i in range(1, n + 1):
            c = 4.0 if i < n else 8.0
            theta.append((1 + math.sqrt(1 + c * theta[-1] ** 2)) / 2)
        x, y = x0, x0
        for i in range(n):
            y_next = x - 1 / L * func.gradient(x)
            a, b = theta[i], theta[i + 1]
            x = y_next + (a - 1) / b * (y_next - y) + a / b * (y_next - x)
            y = y_next
        return x
    raise ValueError(method)


def worst_case(method, L, mu, n, h, beta, measure):
    problem = PEP()
    func = problem.declare_function(SmoothStronglyConvexFunction, mu=mu, L=L)
    xs = func.stationary_point()
    fs = func(xs)
    x0 = problem.set_initial_point()
    problem.set_initial_condition((x0 - xs) ** 2 <= 1)
    x = run_method(method, func, x0, L, mu, n, h, beta)
    if measure == "f":
        problem.set_performance_metric(func(x) - fs)
    elif measure == "grad":
        problem.set_performance_metric(func.gradient(x) ** 2)
    else:
        problem.set_performance_metric((x - xs) ** 2)
    dual = problem.solve(wrapper="cvxpy", solver=SOLVER, verbose=0)
    primal = problem.objective.eval()
    return float(primal), float(dual), accuracy(problem, primal, dual)


def accuracy(problem, primal, dual):
    """How far PEPit's values can be from the SDP's optimum, from its solution.

    The same estimate as the crate's (`WorstCase::accuracy`): the gap between the
    two values, plus each side's infeasibility times the size of the other side's
    solution. PEPit's own feasibility check (PEP.check_feasibility) measures the
    pieces: the primal constraint violation and the Gram matrix's negative
    eigenvalue; the dual's negative eigenvalue and the terms of the rebuilt proof
    that should have cancelled.
    """
    gram = problem.G_value
    residual = problem.residual
    constraints = problem._list_of_prepared_constraints
    violation = max(
        [max(0.0, c.eval()) for c in constraints if c.equality_or_inequality == "inequality"]
        + [abs(c.eval()) for c in constraints if c.equality_or_inequality == "equality"]
    )
    duals = sum(abs(c.eval_dual()) for c in constraints)
    gram_neg = max(0.0, -float(np.min(np.linalg.eigvalsh(gram))))
    residual_neg = max(0.0, -float(np.min(np.linalg.eigvalsh(residual))))
    # The terms of "objective - sum of dual-weighted constraints" other than the
    # constant, as in PEPit's check_feasibility.
    combination = -np.dot(Point.list_of_leaf_points, np.dot(residual, Point.list_of_leaf_points))
    for c in constraints:
        combination += c.eval_dual() * c.expression
    leftover = prune_dict(symmetrize_dict((problem.objective - combination).decomposition_dict))
    remaining = sum(abs(v) for k, v in leftover.items() if k != 1)
    size = max(1.0, float(np.max(np.abs(gram))), abs(primal))
    return float(
        abs(primal - dual)
        + violation * duals
        + gram_neg * float(np.trace(residual))
        + residual_neg * float(np.trace(gram))
        + remaining * size
    )


# (method, L, mu, step h, momentum beta or None)
CONFIGS = [
    ("gd", 1.0, 0.0, 1.0, None),
    ("gd", 1.0, 0.1, 1.5, None),
    ("heavy-ball", 25.0, 1.0, 100.0 / 36.0, 4.0 / 9.0),
    ("heavy-ball", 1.0, 0.1, 1.0, 0.5),
    ("nesterov", 1.0, 0.0, 1.0, None),
    ("nesterov", 1.0, 0.1, 1.0, (math.sqrt(10) - 1) / (math.sqrt(10) + 1)),
    ("ogm", 1.0, 0.0, 1.0, None),
]
STEPS = [1, 2, 3, 5]
MEASURES = ["f", "grad", "dist"]


def main():
    cases = []
    for method, L, mu, h, beta in CONFIGS:
        for n in STEPS:
            for measure in MEASURES:
                primal, dual, acc = worst_case(method, L, mu, n, h, beta, measure)
                cases.append({
                    "method": method, "L": L, "mu": mu, "step_size": h,
                    "momentum": beta, "steps": n, "measure": measure,
                    "primal": primal, "dual": dual, "accuracy": acc,
                })
                print(method, L, mu, n, measure, primal, dual, acc, file=sys.stderr)
    out = {
        "generator": "scripts/reference/pepit_fixtures.py",
        "pepit": PEPit.__version__ if hasattr(PEPit, "__version__") else "0.5.1",
        "cvxpy": cvxpy.__version__,
        "solver": SOLVER,
        "R": 1.0,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
