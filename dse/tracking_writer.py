"""The tracking writer: a separate process that writes a search's child runs and parent metrics.

MLflow's per-run cost (tens of milliseconds in SQLAlchemy) would add to the search loop if the
driver wrote child runs itself; in a process of its own (``python -m dse.tracking_writer``) it
overlaps evaluation on its own core. The driver sends typed messages over a socket; the writer
applies them in the order sent, writing consecutive :class:`LogTrials` in one SQL transaction
(:mod:`dse.mlflow_bulk`). A failure is kept, not raised: the next :class:`Flush` answers with
the first one, so the driver reports it where it waits. The writer holds a lock file while it
runs, so a resume waits until a killed search's writer has drained what it had been sent.
"""

from __future__ import annotations

import fcntl
import queue
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from dse.errors import SearchError
from dse.mlflow_bulk import FinishedRun, sql_store, write_finished_runs
from dse.mlflow_client import MAX_TAG, client_for, log_batch
from dse.trial import Trial

_BULK = 500  # child runs per transaction of the writer process


def finished_run(trial: Trial, name: str, tags: Mapping[str, str]) -> FinishedRun:
    """A design's child run: its params and metrics, over the time it took, closed with its
    outcome and its error if it failed (what search and verify runs share; they differ in name
    and tags)."""
    if trial.error:
        tags = {**tags, "dse.error": (trial.traceback or trial.error)[-MAX_TAG:]}
    return FinishedRun(
        name=name,
        start_ms=int((trial.finished_at - trial.duration_s) * 1000),
        end_ms=int(trial.finished_at * 1000),
        status="FINISHED" if trial.ok else "FAILED",
        params={key: str(value) for key, value in trial.params.items()},
        metrics=dict(trial.metrics),
        tags=dict(tags),
    )


def search_run(trial: Trial, parent_run_id: str) -> FinishedRun:
    """The child run of a search's design; ``dse.pareto`` is ``false`` until the front is known.
    In a multi-fidelity search ``dse.fidelity`` names the highest level the design reached (its
    metrics hold every level's as ``<level>/<metric>``); a design identical to an earlier one,
    whose result it took over, carries ``dse.reused_from``."""
    tags = {
        "mlflow.parentRunId": parent_run_id,
        "dse.trial": str(trial.number),
        "dse.generation": str(trial.generation),
        "dse.status": trial.status,
        "dse.pareto": "false",
    }
    if trial.fidelity is not None:
        tags["dse.fidelity"] = trial.fidelity
    if trial.reused is not None:
        tags["dse.reused_from"] = str(trial.reused)
    return finished_run(trial, f"trial-{trial.number:05d}", tags)


class RunWriter:
    """Writes child runs under one parent run, and the parent's metrics and tags.

    Child runs of an SQL store are written in batches with :mod:`dse.mlflow_bulk`; other
    stores (an MLflow server) get them through the public API, one by one.
    """

    def __init__(
        self,
        tracking_uri: str,
        experiment_id: str,
        parent_run_id: str,
        run_ids: Mapping[int, str],
        bulk: bool = True,
    ) -> None:
        self.client = client_for(tracking_uri)
        self.experiment_id = experiment_id
        self.parent_run_id = parent_run_id
        self.run_ids = dict(run_ids)  # trial number -> child run id, for tagging the front
        self.store = sql_store(self.client) if bulk else None
        self.artifact_location = self.client.get_experiment(experiment_id).artifact_location

    def write(self, runs: Sequence[FinishedRun]) -> list[str]:
        """Create ``runs`` in the experiment; return their run ids."""
        if self.store is not None:
            return write_finished_runs(self.store, self.experiment_id, self.artifact_location, runs)
        return [self._write_one(run) for run in runs]

    def _write_one(self, run: FinishedRun) -> str:
        """One finished run through the public API (three calls)."""
        created = self.client.create_run(
            self.experiment_id, start_time=run.start_ms, tags=run.tags, run_name=run.name
        )
        run_id = str(created.info.run_id)
        log_batch(self.client, run_id, params=run.params, metrics=run.metrics)
        self.client.set_terminated(run_id, run.status, run.end_ms)
        return run_id

    def log_trials(self, trials: Sequence[Trial]) -> None:
        """Child runs for finished designs, each closed with its outcome."""
        ids = self.write([search_run(trial, self.parent_run_id) for trial in trials])
        self.run_ids.update({t.number: run_id for t, run_id in zip(trials, ids, strict=True)})

    def log_metrics(self, step: int, values: Mapping[str, float]) -> None:
        log_batch(self.client, self.parent_run_id, metrics=values, step=step)

    def set_tags(self, values: Mapping[str, str]) -> None:
        log_batch(self.client, self.parent_run_id, tags=values)

    def mark_pareto(self, numbers: Sequence[int]) -> None:
        """Tag the final front's runs (tags of other runs stay ``false``)."""
        for number in numbers:
            self.client.set_tag(self.run_ids[number], "dse.pareto", "true")


# -- the messages the driver sends ----------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """The first message: which lock to hold and where to write."""

    lock_path: Path
    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    run_ids: dict[int, str]  # child runs the store already holds (a resume)

    def writer(self) -> RunWriter:
        return RunWriter(self.tracking_uri, self.experiment_id, self.parent_run_id, self.run_ids)


@dataclass(frozen=True)
class LogTrials:
    """Child runs for finished designs."""

    trials: tuple[Trial, ...]

    def apply(self, writer: RunWriter) -> None:
        writer.log_trials(self.trials)


@dataclass(frozen=True)
class LogMetrics:
    """Parent-run metrics at one step (a generation)."""

    step: int
    values: dict[str, float]

    def apply(self, writer: RunWriter) -> None:
        writer.log_metrics(self.step, self.values)


@dataclass(frozen=True)
class SetTags:
    """Parent-run tags."""

    values: dict[str, str]

    def apply(self, writer: RunWriter) -> None:
        writer.set_tags(self.values)


@dataclass(frozen=True)
class MarkPareto:
    """The trial numbers of the final front, whose child runs get ``dse.pareto = true``."""

    numbers: tuple[int, ...]

    def apply(self, writer: RunWriter) -> None:
        writer.mark_pareto(self.numbers)


@dataclass(frozen=True)
class Flush:
    """Answer once everything sent before is written: the first failure since the last flush,
    or None."""


@dataclass(frozen=True)
class Stop:
    """Write what was sent before, then exit."""


Write = LogTrials | LogMetrics | SetTags | MarkPareto
Message = Write | Flush | Stop


def serve(connection: Connection) -> None:
    """The writer process: drain the pipe into a queue, write in order, answer flushes."""
    start: Start = connection.recv()
    with start.lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        writer = start.writer()
        inbox: queue.Queue[Message] = queue.Queue()

        def read() -> None:
            try:
                while True:
                    inbox.put(connection.recv())
            except (EOFError, OSError):
                inbox.put(Stop())  # the driver is gone: write what was sent, then stop

        threading.Thread(target=read, daemon=True).start()
        error: str | None = None
        pending: deque[Message] = deque()
        while True:
            pending.append(inbox.get())
            while not inbox.empty():  # whatever else has arrived: trials batch together
                pending.append(inbox.get_nowait())
            while pending:
                message = pending.popleft()
                if isinstance(message, Stop):
                    return
                if isinstance(message, Flush):
                    connection.send(error)
                    error = None
                    continue
                if isinstance(message, LogTrials):
                    message = take_trials(message, pending)
                try:
                    message.apply(writer)
                except Exception as failure:
                    error = (
                        error or f"{type(message).__name__}: {type(failure).__name__}: {failure}"
                    )


def take_trials(first: LogTrials, pending: deque[Message]) -> LogTrials:
    """``first`` merged with the trial messages right behind it in ``pending`` (popped), up to
    a transaction's worth of trials."""
    trials = list(first.trials)
    while pending and len(trials) < _BULK:
        head = pending[0]
        if not isinstance(head, LogTrials):
            break
        pending.popleft()
        trials.extend(head.trials)
    return LogTrials(tuple(trials))


class TrackingProcess:
    """The driver's handle on the writer process (``python -m dse.tracking_writer``).

    A plain subprocess rather than ``multiprocessing``: spawning would re-import the caller's
    ``__main__``, which scripts using the API do not always guard. It runs in a session of its
    own, so a Ctrl-C meant for the search does not kill it before it has written what the search
    sent (it stops when the driver says so or goes away).
    """

    def __init__(self, start: Start) -> None:
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "dse.tracking_writer", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            start_new_session=True,
        )
        theirs.close()
        self._connection = Connection(ours.detach())
        self._connection.send(start)

    def send(self, message: Write) -> None:
        try:
            self._connection.send(message)
        except OSError:
            raise SearchError("the tracking writer process died") from None

    def flush(self) -> None:
        """Wait until everything sent is written; raise if anything failed."""
        try:
            self._connection.send(Flush())
            error = self._connection.recv()
        except (EOFError, OSError):
            raise SearchError("the tracking writer process died") from None
        if error is not None:
            raise SearchError(f"tracking failed: {error}")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._connection.send(Stop())
            self._process.wait()
        self._connection.close()


def wait_for_writer(lock_path: Path, timeout_s: float = 300.0) -> None:
    """Block until no writer process holds ``lock_path`` (a killed search's writer draining)."""
    if not lock_path.exists():
        return
    deadline = time.monotonic() + timeout_s
    with lock_path.open("w") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(lock, fcntl.LOCK_UN)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SearchError(f"a tracking writer still holds {lock_path}") from None
                time.sleep(0.2)


if __name__ == "__main__":
    # Messages are unpickled as ``dse.tracking_writer`` classes, not ``__main__`` ones: serve
    # with that module's own code, so its isinstance checks see the classes it receives.
    from dse import tracking_writer

    tracking_writer.serve(Connection(int(sys.argv[1])))
