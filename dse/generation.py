"""Scoring one generation, level by level: the first level for every design, promotion, repeat.

A single-fidelity search has one stage. In a multi-fidelity search (the space's
``fidelities:``), the stage of level k scores the designs that :func:`dse.promotion.nsga_order`
ranks best on level k-1's scores, as many as the level's ``promote`` or ``count`` allows. In
every stage a (design, level) result already in the ledger is not evaluated again (a resume),
nor is a design identical to one that already has a working result at that level: the earlier
result is recorded again under the new design's number, marked ``reused``. Everything else runs
on the runner (Ray workers, or this process), and each result is handed to ``record`` the moment
it finishes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from dse.promotion import nsga_order
from dse.results import Level, Results, params_key
from dse.runner import Job, Runner
from dse.space import SearchSpace
from dse.trial import Trial, finished_trial

Record = Callable[[Trial], None]
Progress = Callable[[Level, int, int, int], None]  # level, results, of them reused, in flight


class GenerationScorer:
    """Scores generations of designs through every level of a space."""

    def __init__(
        self,
        space: SearchSpace,
        results: Results,
        runner: Callable[[], Runner],
        record: Record,
        progress: Progress,
    ) -> None:
        self.space = space
        self.results = results
        self._runner = runner  # started on first use: a resume may need no evaluation at all
        self._record = record
        self._progress = progress

    def score(
        self, generation: int, numbers: Sequence[int], designs: Sequence[dict[str, Any]]
    ) -> None:
        """Score the designs ``numbers`` (their params ``designs``) at every level they reach."""
        params = dict(zip(numbers, designs, strict=True))
        scored = list(numbers)
        for index, level in enumerate(self.space.levels):
            if index:
                below = self.results.at(self.space.levels[index - 1], scored)
                size = self.space.fidelities[index].size(len(numbers), len(below))
                scored = sorted(t.number for t in nsga_order(below, self.space)[:size])
            self._stage(generation, level, {n: params[n] for n in scored})

    def _stage(self, generation: int, level: Level, designs: dict[int, dict[str, Any]]) -> None:
        """Every design of ``designs`` gets a result at ``level``."""
        waiting: dict[str, list[int]] = {}  # params key -> designs, the first one evaluated
        for number, params in designs.items():
            if self.results.get(number, level) is not None:
                continue
            source = self.results.reusable(params, level)
            if source is not None:
                self._take_over(source, number, generation)
            else:
                waiting.setdefault(params_key(params), []).append(number)
        while waiting:
            jobs = [Job(group[0], designs[group[0]], level) for group in waiting.values()]
            self._run(jobs, generation)
            retry: dict[str, list[int]] = {}
            for key, (first, *rest) in waiting.items():
                source = self.results.get(first, level)
                for number in rest:
                    if source is not None and source.ok:
                        self._take_over(source, number, generation)
                    else:  # a failed result is not reused: the next identical design runs
                        retry.setdefault(key, []).append(number)
            waiting = retry

    def _run(self, jobs: list[Job], generation: int) -> None:
        level = jobs[0].level
        params = {job.number: job.params for job in jobs}
        self._report(level, len(jobs))
        for finished, outcome in enumerate(self._runner().run(jobs), start=1):
            trial = finished_trial(outcome, generation, params[outcome.number], self.space)
            self._record(replace(trial, fidelity=level))
            self._report(level, len(jobs) - finished)

    def _take_over(self, source: Trial, number: int, generation: int) -> None:
        """Record ``source``'s result again as design ``number``'s (an identical design)."""
        taken = replace(
            source,
            number=number,
            generation=generation,
            duration_s=0.0,
            finished_at=time.time(),
            reused=source.number,
        )
        self._record(taken)
        self._report(taken.fidelity, 0)

    def _report(self, level: Level, running: int) -> None:
        self._progress(level, self.results.count(level), self.results.reused(level), running)
