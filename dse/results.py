"""Every result of a search, by design and fidelity level, and one design's view of them.

The ledger records one line per (design, level) result the moment it finishes; :class:`Results`
holds them in memory for the search. A design's *view* (:func:`combined`) is what the optimizer
is told, what MLflow's child run shows and what the front is built from: the outcome at the
highest level the design reached, with every level's metrics also under ``<level>/<metric>``
so the levels can be compared. A single-fidelity search has the one level ``None`` and its view
of a design is its result, unchanged.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from dse.trial import Trial

Level = str | None


def params_key(params: dict[str, Any]) -> str:
    """Identical designs have identical keys (what reuse of a result is keyed on)."""
    return json.dumps(params, sort_keys=True, default=str)


def combined(results: Sequence[Trial]) -> Trial:
    """One design's results, cheapest level first, as the trial of the highest level reached,
    with every level's metrics added under ``<level>/<metric>``."""
    top = results[-1]
    if top.fidelity is None:
        return top
    metrics = dict(top.metrics)
    for result in results:
        metrics.update({f"{result.fidelity}/{k}": v for k, v in result.metrics.items()})
    return replace(top, metrics=metrics, duration_s=sum(r.duration_s for r in results))


class Results:
    """The (design, level) results of one search (see the module docstring)."""

    def __init__(self, levels: Sequence[Level], trials: Iterable[Trial] = ()) -> None:
        self.levels = list(levels)
        self._by_key: dict[tuple[int, Level], Trial] = {}
        self._reusable: dict[tuple[str, Level], Trial] = {}
        self._counts: Counter[Level] = Counter()
        self._reused: Counter[Level] = Counter()
        for trial in trials:
            self.add(trial)

    def add(self, trial: Trial) -> None:
        if (trial.number, trial.fidelity) not in self._by_key:
            self._counts[trial.fidelity] += 1
            self._reused[trial.fidelity] += trial.reused is not None
        self._by_key[(trial.number, trial.fidelity)] = trial
        key = (params_key(trial.params), trial.fidelity)
        earlier = self._reusable.get(key)
        if trial.ok and trial.reused is None and (earlier is None or trial.number < earlier.number):
            self._reusable[key] = trial

    def count(self, level: Level) -> int:
        """How many designs have a result at ``level``."""
        return self._counts[level]

    def reused(self, level: Level) -> int:
        """How many of them took over an identical design's result."""
        return self._reused[level]

    def get(self, number: int, level: Level) -> Trial | None:
        return self._by_key.get((number, level))

    def reusable(self, params: dict[str, Any], level: Level) -> Trial | None:
        """The earliest working result of an identical design at ``level``, if any."""
        return self._reusable.get((params_key(params), level))

    def of(self, number: int) -> list[Trial]:
        """A design's results, cheapest level first."""
        return [t for level in self.levels if (t := self._by_key.get((number, level)))]

    def design(self, number: int) -> Trial:
        """A design's combined view (see :func:`combined`)."""
        return combined(self.of(number))

    def designs(self) -> dict[int, Trial]:
        """Every design with a result at the first level, as its combined view."""
        first = self.levels[0]
        numbers = sorted(n for n, level in self._by_key if level == first)
        return {n: self.design(n) for n in numbers}

    def at(self, level: Level, numbers: Iterable[int]) -> list[Trial]:
        """The results at ``level`` of those of ``numbers`` that have one."""
        return [t for n in numbers if (t := self._by_key.get((n, level)))]
