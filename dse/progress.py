"""A live progress line for searches: generation, designs done and failed, front, hypervolume;
in a multi-fidelity search also, per level, the results so far and those in flight.

On a terminal the line redraws itself; anywhere else (a log file, a CI job, a pipe) redrawing
leaves nothing readable, so the search writes one plain line per finished generation instead.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class SearchProgress:
    """Progress bar on stderr; silent when disabled (tests, ``--quiet``)."""

    def __init__(
        self,
        name: str,
        budget: int,
        levels: Sequence[str | None] = (None,),
        *,
        enabled: bool = True,
    ) -> None:
        self._levels = {level: (0, 0, 0) for level in levels}
        self._name, self._budget = name, budget
        self._console = Console(stderr=True)
        self._log = enabled and not self._console.is_terminal
        self._started = time.monotonic()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("gen {task.fields[generation]}"),
            TextColumn("[red]{task.fields[failed]} failed"),
            TextColumn("front {task.fields[front]}"),
            TextColumn("HV {task.fields[hv]}"),
            TextColumn("{task.fields[levels]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self._console,
            disable=not enabled or self._log,
            transient=False,
        )
        self._task = self._progress.add_task(
            name, total=budget, generation=0, failed=0, front=0, hv="-", levels=self._describe()
        )

    def __enter__(self) -> SearchProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def update(self, **fields: Any) -> None:
        """Set ``completed`` (designs done) and any of generation, failed, front, hv."""
        if isinstance(fields.get("hv"), float):
            fields["hv"] = f"{fields['hv']:.4f}"
        self._progress.update(self._task, **fields)

    def generation_done(
        self, generation: int, *, completed: int, failed: int, front: int, hv: float
    ) -> None:
        """A generation is recorded: update the line, or log one (off a terminal)."""
        self.update(completed=completed, failed=failed, front=front, hv=hv)
        if self._log:
            levels = self._describe()
            self._console.print(
                f"{self._name}: generation {generation} done, {completed}/{self._budget} designs "
                f"({failed} failed), front {front}, HV {hv:.4f}, "
                f"{time.monotonic() - self._started:.1f} s" + (f", {levels}" if levels else ""),
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

    def level(self, level: str | None, scored: int, reused: int, running: int) -> None:
        """A fidelity level (``None`` in a single-fidelity search) has ``scored`` results so
        far, ``reused`` of them taken over from identical designs, and ``running`` in flight."""
        self._levels[level] = (scored, reused, running)
        self._progress.update(self._task, levels=self._describe())

    def _describe(self) -> str:
        """Per level: ``name scored (r reused, +k running)``; a single level shows only what
        the bar does not: ``r reused``."""
        parts = []
        for level, (scored, reused, running) in self._levels.items():
            notes = [f"{reused} reused"] if reused else []
            if level is None:
                parts += notes
                continue
            notes += [f"+{running} running"] if running else []
            parts.append(f"{level} {scored}" + (f" ({', '.join(notes)})" if notes else ""))
        return " · ".join(parts)
