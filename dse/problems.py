"""Test problems with known Pareto fronts, as evaluators, to prove the engine end to end.

``PymooProblem`` wraps any problem of ``pymoo.problems.get_problem`` (ZDT, DTLZ, BNH, ...):
params ``x0 .. x{n-1}`` in, metrics ``f1 .. fm`` (objectives, minimised) and ``g1 .. gk``
(inequality constraints, feasible when <= 0) out. ``ProxyProblem`` adds a biased, noisy proxy
of it (multi-fidelity search). ``ZeroCost`` returns at once, for measuring the engine's own
overhead. ``write_problem_space`` writes a matching search-space file.
"""

from __future__ import annotations

import hashlib
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


class ProxyProblem(PymooProblem):
    """A pymoo problem seen through a cheap, biased proxy: a test bed for multi-fidelity search.

    With ``bias = noise = 0`` it is the problem itself (the expensive, true level). Otherwise
    every objective after the first gets ``bias * b(x) + noise * n(x)``: ``b`` a smooth
    design-dependent distortion in [-1, 1] (``sin(3 pi x1) cos(2 pi x2)``: it misranks designs
    systematically, the way a proxy favours some region of a space), and ``n`` a standard normal
    drawn from the design's params (deterministic: the same design always gets the same score,
    as a seeded proxy does). The first objective stays exact, so fronts keep their spread.
    """

    def __init__(
        self, problem: str, bias: float = 0.0, noise: float = 0.0, **problem_options: Any
    ) -> None:
        super().__init__(problem, **problem_options)
        self.bias, self.noise = float(bias), float(noise)

    def evaluate(self, params: dict[str, Any]) -> dict[str, float]:
        metrics = super().evaluate(params)
        if not (self.bias or self.noise):
            return metrics
        x = [float(params[f"x{i}"]) for i in range(self.problem.n_var)]
        distortion = np.sin(3 * np.pi * x[1 % len(x)]) * np.cos(2 * np.pi * x[2 % len(x)])
        seed = int.from_bytes(hashlib.sha256(repr(sorted(params.items())).encode()).digest()[:8])
        draws = np.random.default_rng(seed).standard_normal(self.problem.n_obj)
        for i in range(1, self.problem.n_obj):
            metrics[f"f{i + 1}"] += self.bias * float(distortion) + self.noise * float(draws[i])
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
