"""MLflow tracking of searches: the driver is the only writer.

Layout (``../shared/docs/architecture.md``): one experiment per search name; a parent run with
the search settings as params, ``hypervolume`` and ``front_size`` as per-generation metric
steps and the front artifacts at the end; one child run per evaluated design, with its params,
metrics and the tags ``dse.trial``, ``dse.generation``, ``dse.status`` and ``dse.pareto``.

Child runs are written by a separate writer process, in the order designs finish, so MLflow's
per-run cost (tens of milliseconds in SQLAlchemy) overlaps evaluation on its own core instead
of adding to the search loop. The ledger stays the source of truth: a design is logged only
after it is in the ledger, and a resume logs whatever the ledger has that MLflow lacks. The
writer holds a lock file while it runs, so a resume waits until a killed search's writer has
drained what it had been sent.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from dse.errors import SearchError, StoreError
from dse.mlflow_bulk import FinishedRun, sql_store, write_finished_runs
from dse.trial import Trial

PARENT_ROLE = "search"
_MAX_TAG = 8000
_BATCH = 100  # MLflow's limit of params (and tags) per log_batch call
_BULK = 500  # child runs per transaction of the writer process


def default_tracking_uri(runs_dir: Path) -> str:
    """``MLFLOW_TRACKING_URI`` when set, else the SQLite store under ``runs_dir``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{runs_dir.resolve()}/mlflow.db"


def local_artifact_root(tracking_uri: str) -> Path | None:
    """Artifacts of a local SQLite store live beside its database, never in ``./mlruns``."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return Path(tracking_uri.removeprefix("sqlite:///")).parent / "artifacts"


def _speed_up_sqlite() -> None:
    """WAL journal and normal sync for SQLite stores: fewer fsyncs per run, readers unblocked."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(connection: Any, _record: Any) -> None:
        if type(connection).__module__.startswith("sqlite3"):
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    if not event.contains(Engine, "connect", on_connect):
        event.listen(Engine, "connect", on_connect)


def client_for(tracking_uri: str) -> Any:
    """An ``MlflowClient`` for the store (imported lazily: mlflow takes over a second)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if tracking_uri.startswith("sqlite:"):
        Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        _speed_up_sqlite()
    from mlflow import MlflowClient

    for logger in ("mlflow", "alembic"):  # store creation and migration chatter
        logging.getLogger(logger).setLevel(logging.WARNING)
    return MlflowClient(tracking_uri=tracking_uri)


def find_parent_run(client: Any, name: str) -> Any:
    """The parent run of the search ``name`` (raises StoreError when there is none)."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        raise StoreError(f"no search named {name!r} in the tracking store")
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`dse.role` = '{PARENT_ROLE}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        raise StoreError(f"experiment {name!r} holds no dse search run")
    return runs[0]


def latest_search_name(client: Any) -> str:
    """Name of the most recently started search in the store."""
    runs = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        filter_string=f"tags.`dse.role` = '{PARENT_ROLE}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        raise StoreError("the tracking store holds no search yet; run `dse search` first")
    return str(runs[0].data.tags["dse.search"])


def iter_child_runs(client: Any, experiment_id: str, parent_run_id: str) -> Iterator[Any]:
    """Every child run of a search, page by page."""
    token = None
    while True:
        page = client.search_runs(
            [experiment_id],
            filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'",
            max_results=5000,
            page_token=token,
        )
        yield from page
        token = page.token
        if not token:
            return


def log_batch(
    client: Any,
    run_id: str,
    *,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    tags: Mapping[str, str] | None = None,
    step: int = 0,
) -> None:
    """Params, metrics and tags in as few calls as MLflow's per-call limits allow."""
    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    param_list = [Param(k, str(v)) for k, v in (params or {}).items()]
    tag_list = [RunTag(k, str(v)[:_MAX_TAG]) for k, v in (tags or {}).items()]
    metric_list = [Metric(k, float(v), now, step) for k, v in (metrics or {}).items()]
    for i in range(0, max(len(param_list), len(tag_list), 1), _BATCH):
        client.log_batch(
            run_id,
            metrics=metric_list if i == 0 else [],
            params=param_list[i : i + _BATCH],
            tags=tag_list[i : i + _BATCH],
        )


@dataclass(frozen=True)
class Held:
    """What a tracking store already holds of a search being resumed."""

    trials: dict[int, str]  # trial number -> child run id
    generations: set[int]


class RunWriter:
    """Writes a search's child runs and parent metrics (runs inside the writer process).

    Child runs of an SQL store are written in batches with :mod:`dse.mlflow_bulk`; other
    stores (an MLflow server) get them through the public API, one by one.
    """

    def __init__(
        self,
        tracking_uri: str,
        experiment_id: str,
        parent_run_id: str,
        run_ids: dict[int, str],
        bulk: bool = True,
    ) -> None:
        self.client = client_for(tracking_uri)
        self.experiment_id = experiment_id
        self.parent_run_id = parent_run_id
        self.run_ids = dict(run_ids)
        self.store = sql_store(self.client) if bulk else None
        self.artifact_location = self.client.get_experiment(experiment_id).artifact_location

    def trials(self, batch: list[dict[str, Any]]) -> None:
        """Child runs for finished designs, each closed with its outcome."""
        trials = [Trial.from_json(data) for data in batch]
        runs = [self._finished_run(trial) for trial in trials]
        if self.store is not None:
            ids = write_finished_runs(self.store, self.experiment_id, self.artifact_location, runs)
        else:
            ids = [self._write_run(run) for run in runs]
        self.run_ids.update({t.number: run_id for t, run_id in zip(trials, ids, strict=True)})

    def _finished_run(self, trial: Trial) -> FinishedRun:
        tags = {
            "mlflow.parentRunId": self.parent_run_id,
            "dse.trial": str(trial.number),
            "dse.generation": str(trial.generation),
            "dse.status": trial.status,
            "dse.pareto": "false",
        }
        if trial.error:
            tags["dse.error"] = (trial.traceback or trial.error)[-_MAX_TAG:]
        return FinishedRun(
            name=f"trial-{trial.number:05d}",
            start_ms=int((trial.finished_at - trial.duration_s) * 1000),
            end_ms=int(trial.finished_at * 1000),
            status="FINISHED" if trial.ok else "FAILED",
            params={name: str(value) for name, value in trial.params.items()},
            metrics=trial.metrics,
            tags=tags,
        )

    def _write_run(self, run: FinishedRun) -> str:
        """One finished run through the public API (three calls)."""
        created = self.client.create_run(
            self.experiment_id, start_time=run.start_ms, tags=run.tags, run_name=run.name
        )
        run_id = str(created.info.run_id)
        log_batch(self.client, run_id, params=run.params, metrics=run.metrics)
        self.client.set_terminated(run_id, run.status, run.end_ms)
        return run_id

    def metrics(self, step: int, values: dict[str, float]) -> None:
        log_batch(self.client, self.parent_run_id, metrics=values, step=step)

    def tags(self, values: dict[str, str]) -> None:
        log_batch(self.client, self.parent_run_id, tags=values)

    def pareto(self, numbers: list[int]) -> None:
        """Tag the final front's runs (tags of other runs stay ``false``)."""
        for number in numbers:
            self.client.set_tag(self.run_ids[number], "dse.pareto", "true")


def _serve(connection: Connection) -> None:
    """The writer process: drain the pipe into a queue, write in order, answer flushes."""
    lock_path, writer_args = connection.recv()
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        writer = RunWriter(*writer_args)
        inbox: queue.Queue[tuple[Any, ...] | None] = queue.Queue()

        def read() -> None:
            try:
                while True:
                    inbox.put(connection.recv())
            except (EOFError, OSError):
                inbox.put(None)  # the driver is gone: write what was sent, then stop

        threading.Thread(target=read, daemon=True).start()
        error: str | None = None
        pending: deque[tuple[Any, ...] | None] = deque()
        while True:
            pending.append(inbox.get())
            while not inbox.empty():  # whatever else has arrived: trials batch together
                pending.append(inbox.get_nowait())
            while pending:
                message = pending.popleft()
                if message is None or message[0] == "stop":
                    return
                kind, *args = message
                if kind == "flush":
                    connection.send(error)
                    error = None
                    continue
                if kind == "trial":
                    kind, args = "trials", [[args[0], *_take_trials(pending)]]
                try:
                    getattr(writer, kind)(*args)
                except Exception as failure:
                    error = error or f"{kind}: {type(failure).__name__}: {failure}"


def _take_trials(pending: deque[tuple[Any, ...] | None]) -> list[dict[str, Any]]:
    """Pop the trial messages at the head of ``pending`` (at most a bulk's worth)."""
    taken: list[dict[str, Any]] = []
    while pending and pending[0] is not None and pending[0][0] == "trial" and len(taken) < _BULK:
        taken.append(pending.popleft()[1])  # type: ignore[index]
    return taken


class TrackingProcess:
    """The driver's handle on the writer process (``python -m dse.tracking``).

    A plain subprocess rather than ``multiprocessing``: spawning would re-import the caller's
    ``__main__``, which scripts using the API do not always guard.
    """

    def __init__(
        self,
        lock_path: Path,
        tracking_uri: str,
        experiment_id: str,
        parent_run_id: str,
        run_ids: dict[int, str],
    ) -> None:
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "dse.tracking", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
        )
        theirs.close()
        self._connection = Connection(ours.detach())
        self.send(str(lock_path), (tracking_uri, experiment_id, parent_run_id, run_ids))

    def send(self, kind: str, *args: Any) -> None:
        self._connection.send((kind, *args))

    def flush(self) -> None:
        """Wait until everything sent is written; raise if anything failed."""
        self.send("flush")
        try:
            error = self._connection.recv()
        except EOFError:
            raise SearchError("the tracking writer process died") from None
        if error is not None:
            raise SearchError(f"tracking failed: {error}")

    def stop(self) -> None:
        if self._process.poll() is None:
            self.send("stop")
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


class Tracker:
    """Writes one search to MLflow: parent run here, child runs through the writer process."""

    def __init__(self, tracking_uri: str, name: str, lock_path: Path) -> None:
        self.tracking_uri = tracking_uri
        self.name = name
        self.lock_path = lock_path
        # Connecting takes seconds (mlflow's imports, the store's schema check): it runs in the
        # background while the caller starts Ray; ``client`` waits for it.
        pool = ThreadPoolExecutor(1, thread_name_prefix="mlflow-connect")
        self._client: Future[Any] = pool.submit(client_for, tracking_uri)
        pool.shutdown(wait=False)
        self.experiment_id = ""
        self.parent_run_id = ""
        self._writer: TrackingProcess | None = None

    @property
    def client(self) -> Any:
        """The ``MlflowClient`` (raises what connecting raised, e.g. a bad tracking URI)."""
        return self._client.result()

    def check_name_free(self) -> None:
        experiment = self.client.get_experiment_by_name(self.name)
        if experiment is not None:
            deleted = experiment.lifecycle_stage == "deleted"
            state = " (deleted; restore or purge it)" if deleted else ""
            raise SearchError(
                f"search {self.name!r} already exists in {self.tracking_uri}{state}; "
                "continue it with --resume or choose another --name"
            )

    def start(self, params: Mapping[str, Any], tags: Mapping[str, str]) -> tuple[str, str]:
        """Create the experiment and the parent run; return their ids."""
        self.check_name_free()
        root = local_artifact_root(self.tracking_uri)
        location = (root / self.name).resolve().as_uri() if root else None
        self.experiment_id = self.client.create_experiment(
            self.name,
            artifact_location=location,
            tags={"mlflow.experimentKind": "custom_model_development"},  # UI: the runs view
        )
        run = self.client.create_run(
            self.experiment_id,
            run_name=self.name,
            tags={"dse.role": PARENT_ROLE, "dse.search": self.name, **tags},
        )
        self.parent_run_id = run.info.run_id
        log_batch(self.client, self.parent_run_id, params=params)
        self._writer = TrackingProcess(
            self.lock_path, self.tracking_uri, self.experiment_id, self.parent_run_id, {}
        )
        return self.experiment_id, self.parent_run_id

    def reopen(self, experiment_id: str, parent_run_id: str) -> Held:
        """Continue a search's parent run; return what MLflow already holds of it."""
        from mlflow.exceptions import MlflowException

        wait_for_writer(self.lock_path)
        self.experiment_id, self.parent_run_id = experiment_id, parent_run_id
        try:
            self.client.update_run(parent_run_id, status="RUNNING")
        except MlflowException as error:
            where = f"{parent_run_id} in {self.tracking_uri}"
            raise SearchError(f"cannot reopen run {where}: {error}") from None
        run_ids = {
            int(run.data.tags["dse.trial"]): run.info.run_id
            for run in iter_child_runs(self.client, experiment_id, parent_run_id)
            if "dse.trial" in run.data.tags
        }
        steps = {m.step for m in self.client.get_metric_history(parent_run_id, "hypervolume")}
        self._writer = TrackingProcess(
            self.lock_path, self.tracking_uri, experiment_id, parent_run_id, run_ids
        )
        return Held(trials=run_ids, generations=steps)

    @property
    def writer(self) -> TrackingProcess:
        if self._writer is None:
            raise RuntimeError("start() or reopen() the tracker first")
        return self._writer

    def log_artifact_text(self, text: str, filename: str) -> None:
        """Log a small text artifact on the parent run right away."""
        self.client.log_text(self.parent_run_id, text, filename)

    def log_trial(self, trial: Trial) -> None:
        """Queue a child run for a finished design."""
        self.writer.send("trial", trial.to_json())

    def log_generation(self, generation: int, metrics: Mapping[str, float]) -> None:
        self.writer.send("metrics", generation, dict(metrics))

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self.writer.send("tags", dict(tags))

    def finish(self, front: Sequence[int], artifacts: Path) -> None:
        """Tag the final front, log the artifacts and close the parent run."""
        self.writer.send("pareto", list(front))
        self.writer.flush()
        self.client.log_artifacts(self.parent_run_id, str(artifacts))
        self.client.set_terminated(self.parent_run_id, "FINISHED")

    def abort(self, status: str = "KILLED") -> None:
        """Write what is queued and mark the parent run as stopped (resumable)."""
        try:
            if self._writer is not None:
                self._writer.flush()
        finally:
            self.client.set_terminated(self.parent_run_id, status)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.stop()
            self._writer = None


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
