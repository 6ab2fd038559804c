"""Printing fronts for people (a table) and for programs (CSV, JSON); in a multi-fidelity
search every row says the fidelity level its scores come from."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dse.space import SearchSpace
from dse.trial import Trial

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

FORMATS = ("table", "csv", "json")
_MAX_PARAM_COLUMNS = 6  # wider tables wrap into illegibility in a terminal


def front_records(space: SearchSpace, front: Sequence[Trial]) -> list[dict[str, object]]:
    """Objectives first, then the other metrics, then params: what a reader compares first."""
    objectives = space.objective_names
    others = sorted({m for t in front for m in t.metrics} - set(objectives))
    records = []
    for trial in front:
        record: dict[str, object] = {"trial": trial.number}
        if space.fidelities:
            record["fidelity"] = trial.fidelity
        record.update({name: trial.metrics.get(name) for name in [*objectives, *others]})
        record.update(trial.params)
        records.append(record)
    return records


def print_front(
    space: SearchSpace, front: Sequence[Trial], *, format: str = "table", limit: int | None = None
) -> None:
    """Write the front to stdout; ``limit`` shortens the table (never CSV or JSON)."""
    records = front_records(space, front)
    if format == "json":
        json.dump(records, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(records[0]) if records else ["trial"])
        writer.writeheader()
        writer.writerows(records)
    else:
        _print_table(space, records, limit)


def _print_table(space: SearchSpace, records: list[dict[str, object]], limit: int | None) -> None:
    """Whole cells: param columns that do not fit the terminal are dropped, not squeezed into
    ellipses; a log or a pipe has no width to fit, so it gets every column (up to the cap)."""
    from rich.console import Console

    params = list(space.params)[:_MAX_PARAM_COLUMNS]
    console = Console()
    table = _table(space, records, limit, params)
    if not console.is_terminal:
        console = Console(width=max(console.width, _width(console, table)))
    while params and _width(console, table) > console.width:
        params = params[:-1]
        table = _table(space, records, limit, params)
    console.print(table)
    if limit is not None and len(records) > limit:
        console.print(f"... {len(records) - limit} more designs: `dse front --name <search>`")
    if len(params) < len(space.params):
        console.print(f"(+{len(space.params) - len(params)} params: `dse front --format csv`)")


def _table(
    space: SearchSpace, records: list[dict[str, object]], limit: int | None, params: list[str]
) -> Table:
    from rich.table import Table

    table = Table(title=f"Pareto front of {space.name} ({len(records)} designs)")
    fidelity = ["fidelity"] if space.fidelities else []
    columns = ["trial", *fidelity, *space.objective_names, *params]
    for column in columns:
        objective = column in space.objective_names
        table.add_column(column, style="bold" if objective else None, justify="right")
    for record in records[:limit]:
        table.add_row(*(_cell(record.get(c)) for c in columns))
    return table


def _width(console: Console, table: Table) -> int:
    from rich.measure import Measurement

    unbounded = console.options.update_width(1 << 16)  # measurements are capped at the width
    return Measurement.get(console, unbounded, table).maximum


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)
