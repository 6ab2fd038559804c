"""Pareto fronts, normalisation, hypervolume and the knee point: plain functions over arrays.

Conventions: objectives are turned into a *minimisation* matrix normalised to [0, 1] by fixed
bounds (``1`` = the worst bound); the hypervolume is measured against the reference point
1.1 in every dimension, so designs up to 10 % beyond the worst bound still count. Bounds come
from the space's objectives; for an objective without bounds they are fixed once, from the
first generation's working designs (see :func:`resolve_bounds`), and kept for the whole search.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import moocore
import numpy as np

from dse.space import Objective, SearchSpace
from dse.trial import Trial

REFERENCE = 1.1
Bounds = list[tuple[float, float]]


def resolve_bounds(objectives: Sequence[Objective], first_generation: np.ndarray) -> Bounds:
    """Normalisation bounds for every objective.

    Declared bounds are used as they are. Missing ones follow a stated deterministic rule: the
    minimum and maximum over the first generation's working designs (on a log axis for
    ``scale: log``), widened to a non-empty interval when all values coincide. Since the first
    generation depends only on the seed, the rule is reproducible; but comparisons across
    optimizers need declared bounds.
    """
    bounds: Bounds = []
    for index, objective in enumerate(objectives):
        if objective.bounds is not None:
            bounds.append(objective.bounds)
            continue
        column = first_generation[:, index] if len(first_generation) else np.array([0.0, 1.0])
        low, high = float(np.min(column)), float(np.max(column))
        if high <= low:
            pad = abs(low) * 0.1 or 1.0
            low, high = (
                (low / 2, low * 2)
                if objective.scale == "log" and low > 0
                else (low - pad, high + pad)
            )
        bounds.append((low, high))
    return bounds


def objective_matrix(trials: Sequence[Trial], space: SearchSpace) -> np.ndarray:
    """Raw objective values of working designs, one row per trial."""
    rows = [space.objective_values(t.metrics) for t in trials]
    return np.array(rows, dtype=float).reshape(len(rows), len(space.objectives))


def normalize(values: np.ndarray, objectives: Sequence[Objective], bounds: Bounds) -> np.ndarray:
    """Map raw objective values to a minimisation matrix where 0 is best and 1 the worst bound."""
    out = np.empty_like(values, dtype=float)
    for index, (objective, (low, high)) in enumerate(zip(objectives, bounds, strict=True)):
        column = values[:, index].astype(float)
        if objective.scale == "log":
            column = np.log10(np.clip(column, 1e-300, None))
            low, high = math.log10(low), math.log10(high)
        scaled = (column - low) / (high - low)
        out[:, index] = 1.0 - scaled if objective.maximize else scaled
    return out


def at_top_level(trials: Sequence[Trial], space: SearchSpace) -> list[Trial]:
    """The designs a front is built from: in a multi-fidelity search those scored at the
    highest level (a design whose best score comes from a cheaper level is not comparable with
    them: its proxy may be biased); in a single-fidelity search every design."""
    lower = set(space.levels[:-1])
    return [t for t in trials if t.fidelity not in lower]


def feasible(trials: Sequence[Trial], space: SearchSpace) -> list[Trial]:
    """Working designs that satisfy every constraint."""
    return [t for t in trials if t.ok and all(v <= 0 for v in space.violations(t.metrics))]


def pareto_front(trials: Sequence[Trial], space: SearchSpace) -> list[Trial]:
    """The non-dominated feasible designs (ties kept), in trial order.

    Constrained domination (Deb) puts every feasible design ahead of every infeasible one, so
    the front holds only feasible designs; it is empty while none is feasible. In a
    multi-fidelity search only designs scored at the highest level count (:func:`at_top_level`).
    """
    candidates = feasible(at_top_level(trials, space), space)
    if not candidates:
        return []
    signs = np.array([-1.0 if o.maximize else 1.0 for o in space.objectives])
    minimised = objective_matrix(candidates, space) * signs
    mask = moocore.is_nondominated(minimised, keep_weakly=True)
    return [t for t, keep in zip(candidates, mask, strict=True) if keep]


def hypervolume(normalized: np.ndarray, reference: float = REFERENCE) -> float:
    """Hypervolume of normalised minimisation points against ``reference`` in every dimension."""
    if len(normalized) == 0:
        return 0.0
    inside = normalized[np.all(normalized < reference, axis=1)]
    if len(inside) == 0:
        return 0.0
    return float(moocore.hypervolume(inside, ref=np.full(normalized.shape[1], reference)))


def knee_index(normalized_front: np.ndarray) -> int:
    """Index of the knee: the front point closest to the ideal point once each objective is
    rescaled to the front's own range (a scale-free compromise between the extremes)."""
    if len(normalized_front) == 0:
        raise ValueError("the front is empty")
    low = normalized_front.min(axis=0)
    span = np.where(np.ptp(normalized_front, axis=0) > 0, np.ptp(normalized_front, axis=0), 1.0)
    return int(np.argmin(np.linalg.norm((normalized_front - low) / span, axis=1)))
