"""Pareto fronts, normalisation, hypervolume and knee on hand-checked arrays."""

from __future__ import annotations

import numpy as np
import pytest

from dse.pareto import hypervolume, knee_index, normalize, pareto_front, resolve_bounds
from dse.space import Objective, parse_space
from dse.trial import Trial

SPACE = parse_space(
    {
        "name": "t",
        "evaluator": {"target": "dse.problems:ZeroCost"},
        "objectives": [
            {"name": "acc", "direction": "maximize", "bounds": [0, 1]},
            {"name": "energy", "direction": "minimize", "bounds": [1, 100], "scale": "log"},
        ],
        "constraints": [{"metric": "area", "max": 10}],
        "params": {"x": {"type": "int", "low": 0, "high": 9}},
    }
)


def trial(number: int, acc: float, energy: float, area: float = 1.0, ok: bool = True) -> Trial:
    metrics = {"acc": acc, "energy": energy, "area": area}
    return Trial(number, 0, {"x": number}, "complete" if ok else "failed", metrics if ok else {})


def test_front_keeps_only_feasible_nondominated_designs() -> None:
    trials = [
        trial(0, 0.9, 50),
        trial(1, 0.8, 10),
        trial(2, 0.7, 20),  # dominated by 1
        trial(3, 0.95, 5, area=20),  # best on both but infeasible
        trial(4, 0.99, 1, ok=False),  # failed
        trial(5, 0.8, 10),  # tie with 1: kept
    ]
    assert [t.number for t in pareto_front(trials, SPACE)] == [0, 1, 5]


def test_front_is_empty_without_feasible_designs() -> None:
    assert pareto_front([trial(0, 0.9, 5, area=11)], SPACE) == []


def test_normalize_turns_everything_into_minimisation() -> None:
    values = np.array([[1.0, 1.0], [0.0, 100.0], [0.5, 10.0]])
    bounds = [(0.0, 1.0), (1.0, 100.0)]
    assert normalize(values, SPACE.objectives, bounds) == pytest.approx(
        np.array([[0.0, 0.0], [1.0, 1.0], [0.5, 0.5]])
    )


def test_hypervolume_of_known_points() -> None:
    # Two points in the unit square against the reference 1.1: a union of two boxes.
    points = np.array([[0.1, 0.6], [0.5, 0.2]])
    expected = 1.0 * 0.5 + 0.6 * 0.9 - 0.6 * 0.5
    assert hypervolume(points) == pytest.approx(expected)
    assert hypervolume(np.array([[1.2, 0.0]])) == 0.0  # beyond the reference point
    assert hypervolume(np.empty((0, 2))) == 0.0


def test_knee_is_the_balanced_point() -> None:
    front = np.array([[0.0, 1.0], [0.2, 0.3], [0.6, 0.1], [1.0, 0.0]])
    assert knee_index(front) == 1


def test_missing_bounds_follow_the_first_generation_rule() -> None:
    objectives = [
        Objective(name="a", direction="minimize"),
        Objective(name="b", direction="maximize", bounds=(0, 2)),
    ]
    first = np.array([[3.0, 1.0], [5.0, 1.5]])
    assert resolve_bounds(objectives, first) == [(3.0, 5.0), (0, 2)]
    same = np.array([[4.0, 1.0], [4.0, 1.0]])
    assert resolve_bounds(objectives, same)[0] == (3.6, 4.4)
