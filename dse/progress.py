"""A live progress line for searches: generation, designs done and failed, front, hypervolume."""

from __future__ import annotations

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

    def __init__(self, name: str, budget: int, *, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("gen {task.fields[generation]}"),
            TextColumn("[red]{task.fields[failed]} failed"),
            TextColumn("front {task.fields[front]}"),
            TextColumn("HV {task.fields[hv]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not enabled,
            transient=False,
        )
        self._task = self._progress.add_task(
            name, total=budget, generation=0, failed=0, front=0, hv="-"
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
