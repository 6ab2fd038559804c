"""Promotion in a multi-fidelity search: which designs of a generation a dearer level scores.

Every design of a generation gets the cheapest level's score; the best of them go on to the next
level, and so on (successive halving within a generation). "Best" is NSGA-II's order on the
scores of the level below: feasible designs by non-dominated rank, within a rank the most
isolated first (crowding distance), then infeasible designs by their total violation, then
failed ones; ties keep trial order, so promotion is a deterministic function of the scores and a
resumed search promotes exactly the designs an uninterrupted one did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import moocore
import numpy as np

from dse.pareto import objective_matrix
from dse.results import Results
from dse.space import Constraint, SearchSpace
from dse.trial import Trial


def crowding_distance(points: np.ndarray) -> np.ndarray:
    """NSGA-II's crowding distance of each row of a minimisation matrix (the extremes of every
    objective are infinitely far; objectives are rescaled to their range first)."""
    count, objectives = points.shape
    distance = np.zeros(count)
    if count <= 2:
        return np.full(count, np.inf)
    for column in range(objectives):
        order = np.argsort(points[:, column], kind="stable")
        values = points[order, column]
        span = values[-1] - values[0]
        distance[order[[0, -1]]] = np.inf
        if span > 0:
            distance[order[1:-1]] += (values[2:] - values[:-2]) / span
    return distance


def nsga_order(trials: Sequence[Trial], space: SearchSpace) -> list[Trial]:
    """``trials`` best first, in NSGA-II's order (see the module docstring)."""
    ordered = sorted(trials, key=lambda t: t.number)
    working = [t for t in ordered if t.ok]
    violation = {t.number: sum(max(0.0, v) for v in space.violations(t.metrics)) for t in working}
    feasible = [t for t in working if violation[t.number] <= 0]
    infeasible = sorted(
        (t for t in working if violation[t.number] > 0), key=lambda t: violation[t.number]
    )
    failed = [t for t in ordered if not t.ok]
    return _by_rank_and_crowding(feasible, space) + infeasible + failed


def _by_rank_and_crowding(trials: list[Trial], space: SearchSpace) -> list[Trial]:
    if not trials:
        return []
    signs = np.array([-1.0 if o.maximize else 1.0 for o in space.objectives])
    points = objective_matrix(trials, space) * signs
    ranks = moocore.pareto_rank(points)
    crowding = np.zeros(len(trials))
    for rank in np.unique(ranks):
        members = np.flatnonzero(ranks == rank)
        crowding[members] = crowding_distance(points[members])
    keys = sorted(range(len(trials)), key=lambda i: (ranks[i], -crowding[i], trials[i].number))
    return [trials[i] for i in keys]


PROMOTION = "dse.promotion"
"""The metric that tells the optimizer how far short of the top level a design fell."""


def optimizer_space(space: SearchSpace) -> SearchSpace:
    """The space the optimizer works on: in a multi-fidelity search, with the constraint
    ``dse.promotion <= 0`` that every design scored at the top level meets (see :func:`told`)."""
    if not space.fidelities:
        return space
    marker = Constraint(metric=PROMOTION, max=0.0)
    return space.model_copy(update={"constraints": [*space.constraints, marker]})


def told(numbers: Sequence[int], results: Results, space: SearchSpace) -> list[Trial]:
    """What the optimizer is told of a generation: each design's result at the highest level it
    reached (its combined view), and in a multi-fidelity search the metric ``dse.promotion``.

    The rule, and why: a design scored at the top level is told its top-level score with
    ``dse.promotion = 0``. A design that stopped at a cheaper level k is told that level's score,
    marked infeasible with ``dse.promotion = (levels above k) - 1 + (place + 1) / (n + 1)``, its
    place among the generation's n designs at level k in promotion order. Under constrained
    domination every design scored at the top level then outranks every design that was not,
    and the unpromoted ones keep the order their cheap scores gave them: as in successive
    halving, the losers of a level are not compared with the winners on the losers' cheaper,
    possibly biased scale (left unmarked, an optimistic proxy would let them crowd out designs
    the expensive level had measured).
    """
    views = [results.design(n) for n in numbers]
    if not space.fidelities:
        return views
    top = len(space.levels) - 1
    place: dict[int, float] = {}
    for index, level in enumerate(space.levels[:-1]):
        ordered = nsga_order(results.at(level, numbers), space)
        for position, trial in enumerate(ordered):
            place[trial.number] = (top - index - 1) + (position + 1) / (len(ordered) + 1)
    marked = []
    for view in views:
        mark = 0.0 if view.fidelity == space.levels[-1] else place[view.number]
        marked.append(replace(view, metrics={**view.metrics, PROMOTION: mark}))
    return marked
