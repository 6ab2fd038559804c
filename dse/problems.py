"""Test problems with known Pareto fronts, as evaluators, to prove the engine end to end.

``PymooProblem`` wraps any problem of ``pymoo.problems.get_problem`` (ZDT, DTLZ, BNH, ...):
params ``x0 .. x{n-1}`` in, metrics ``f1 .. fm`` (objectives, minimised) and ``g1 .. gk``
(inequality constraints, feasible when <= 0) out. ``ZeroCost`` returns at once, for measuring
the engine's own overhead. ``write_problem_space`` writes a matching search-space file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml


def _problem(name: str, **kwargs: Any) -> Any:
    from pymoo.problems import get_problem

    return get_problem(name, **kwargs)


class PymooProblem:
    """A pymoo test problem behind the evaluator protocol."""

    def __init__(self, problem: str, **problem_options: Any) -> None:
        self.name = problem
        self.problem = _problem(problem, **problem_options)

    def evaluate(self, params: dict[str, Any]) -> dict[str, float]:
        x = np.array([params[f"x{i}"] for i in range(self.problem.n_var)], dtype=float)
        objectives, constraints = self.problem.evaluate(x, return_values_of=["F", "G"])
        metrics = {f"f{i + 1}": float(v) for i, v in enumerate(np.ravel(objectives))}
        if self.problem.n_ieq_constr:
            metrics.update({f"g{i + 1}": float(v) for i, v in enumerate(np.ravel(constraints))})
        return metrics


class ZeroCost:
    """Two cheap conflicting objectives of ``x0``: the engine's overhead is all that is measured."""

    def evaluate(self, params: dict[str, Any]) -> dict[str, float]:
        x = float(params["x0"])
        return {"f1": x, "f2": (1.0 - x) ** 2}


def true_front(problem: str, points: int = 2000, **problem_options: Any) -> np.ndarray:
    """Points sampled on the problem's true Pareto front (for reference hypervolumes)."""
    instance = _problem(problem, **problem_options)
    if instance.n_obj == 2:
        return np.asarray(instance.pareto_front(points))
    from pymoo.util.ref_dirs import get_reference_directions

    partitions = int(np.ceil(np.sqrt(2 * points)))
    directions = get_reference_directions("das-dennis", instance.n_obj, n_partitions=partitions)
    return np.asarray(instance.pareto_front(directions))


def problem_space(
    problem: str,
    *,
    bounds: list[tuple[float, float]] | None = None,
    **problem_options: Any,
) -> dict[str, Any]:
    """A search-space document for a pymoo problem: its variables, objectives and constraints."""
    instance = _problem(problem, **problem_options)
    objectives = []
    for i in range(instance.n_obj):
        objective: dict[str, Any] = {"name": f"f{i + 1}", "direction": "minimize"}
        if bounds is not None:
            objective["bounds"] = list(bounds[i])
        objectives.append(objective)
    return {
        "name": problem,
        "evaluator": {
            "target": "dse.problems:PymooProblem",
            "options": {"problem": problem, **problem_options},
        },
        "objectives": objectives,
        "constraints": [{"metric": f"g{i + 1}", "max": 0.0} for i in range(instance.n_ieq_constr)],
        "params": {
            f"x{i}": {"type": "float", "low": float(low), "high": float(high)}
            for i, (low, high) in enumerate(zip(instance.xl, instance.xu, strict=True))
        },
    }


def write_problem_space(path: Path, problem: str, **kwargs: Any) -> Path:
    """Write :func:`problem_space` as YAML to ``path``."""
    path.write_text(yaml.safe_dump(problem_space(problem, **kwargs), sort_keys=False))
    return path
