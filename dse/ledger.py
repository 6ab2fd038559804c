"""The durable record of a search, kept under ``runs/searches/<name>/``.

``search.json`` holds the settings a resume needs (the space, the optimizer, seed, population,
budget, where the search is tracked, the normalisation bounds once fixed); ``ledger.jsonl``
appends one line per finished design, flushed as soon as the design finishes. Together they
are the optimizer state: a resume replays the ledger through the optimizer's ask/tell, so a
``kill -9`` loses only the designs that were still being evaluated. A last line cut short by the
kill is ignored on reading and cut off before the next append, so any other line that does not
read is damage: the resume stops and names it rather than evaluating its design again.

``search.json`` is written before the search touches MLflow, with a random ``start_token`` that
the search's experiment is tagged with, and gets the experiment and parent run ids once MLflow
holds them: a search killed in between is *started* only in part, and a resume or a new start
under its name takes over what it created (see :class:`dse.tracking.Tracker`).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO, Any

from dse.errors import SearchError
from dse.trial import Trial

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_RETIRED = ("extra",)  # settings that earlier versions wrote (never used): dropped on reading


@dataclass(frozen=True)
class SearchSettings:
    """Everything that defines a search and must stay fixed across resumes (budget aside)."""

    name: str
    space: dict[str, Any]
    space_path: str
    optimizer: str
    seed: int
    population: int
    budget: int
    tracking_uri: str
    code_version: str
    created_at: float
    experiment_id: str | None = None
    parent_run_id: str | None = None
    bounds: list[tuple[float, float]] | None = None
    start_token: str = ""  # tags the experiment this search creates (see above)
    child_run_stride: int = 1  # every how many designs one is an MLflow child run (dse.tracking)


def _parse(line: str | bytes) -> Trial | None:
    """The trial a ledger line holds, or None when the line does not read as one."""
    try:
        return Trial.from_json(json.loads(line))
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError):
        return None


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise SearchError(
            f"search name {name!r}: use letters, digits, '.', '_' or '-' (at most 128 characters)"
        )
    return name


class Ledger:
    """Append-only trials plus the search settings, in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._file: IO[str] | None = None
        self._lock: IO[str] | None = None

    @property
    def settings_path(self) -> Path:
        return self.directory / "search.json"

    @property
    def trials_path(self) -> Path:
        return self.directory / "ledger.jsonl"

    def exists(self) -> bool:
        return self.settings_path.exists()

    def read_settings(self) -> SearchSettings:
        try:
            data = json.loads(self.settings_path.read_text())
            for key in _RETIRED:
                data.pop(key, None)
            data["bounds"] = [tuple(b) for b in data["bounds"]] if data.get("bounds") else None
            return SearchSettings(**data)
        except (json.JSONDecodeError, TypeError, AttributeError) as error:
            raise SearchError(f"{self.settings_path}: damaged search settings: {error}") from None

    def write_settings(self, settings: SearchSettings) -> None:
        """Replace the settings atomically, so a kill never leaves half a file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.settings_path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(asdict(settings), indent=2))
        os.replace(temporary, self.settings_path)

    def update_settings(self, **changes: Any) -> SearchSettings:
        settings = replace(self.read_settings(), **changes)
        self.write_settings(settings)
        return settings

    def read_trials(self) -> list[Trial]:
        """Finished trials in the order they finished; a torn last line is skipped, any other
        line that does not read stops the search with its line number."""
        if not self.trials_path.exists():
            return []
        text = self.trials_path.read_bytes().decode(errors="replace")
        lines = text.splitlines()
        trials = []
        for number, line in enumerate(lines, start=1):
            trial = _parse(line)
            if trial is not None:
                trials.append(trial)
            elif number < len(lines) or text.endswith("\n"):  # not the line a kill cut short
                raise SearchError(
                    f"{self.trials_path}: line {number} is damaged; repair or delete it to "
                    "resume (the design of a deleted line is evaluated again)"
                )
        return trials

    def append(self, trial: Trial) -> None:
        """Record a finished design; flushed to the OS at once, so it survives a kill."""
        if self._file is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._end_last_line()
            self._file = self.trials_path.open("a")
        self._file.write(json.dumps(trial.to_json()) + "\n")
        self._file.flush()

    def _end_last_line(self) -> None:
        """Before appending, end a last line a kill left without its newline: kept when it
        reads (only the newline was lost), cut off when it does not (its design is evaluated
        again), so a torn line never ends up in the middle of the ledger."""
        if not self.trials_path.exists():
            return
        data = self.trials_path.read_bytes()
        if not data or data.endswith(b"\n"):
            return
        start = data.rfind(b"\n") + 1
        if _parse(data[start:]) is None:
            os.truncate(self.trials_path, start)
        else:
            with self.trials_path.open("a") as handle:
                handle.write("\n")

    def lock(self) -> None:
        """Hold this search for the life of the process: two drivers must never share a ledger."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = (self.directory / "driver.lock").open("w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SearchError(
                f"search {self.directory.name!r} is running in another process"
            ) from None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
