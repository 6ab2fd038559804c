"""The tracking store as the engine reaches it: connecting, finding a search's runs, logging.

Everything here goes through MLflow's public client, so it works against a local SQLite store
and an ``mlflow server`` alike. MLflow is imported only when a client is made: ``dse --help``
and the commands that never touch a store stay fast. A new SQLite store is created (MLflow's
schema migrations) by one process at a time, under a lock file beside it: two searches started
together on a fresh ``runs/`` would otherwise both migrate it and one would fail half-way.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dse.errors import StoreError

PARENT_ROLE = "search"  # the ``dse.role`` tag of a search's parent run
MAX_TAG = 8000  # characters of a tag value MLflow stores
_BATCH = 100  # MLflow's limit of params (and tags) per log_batch call


def default_tracking_uri(runs_dir: Path) -> str:
    """``MLFLOW_TRACKING_URI`` when set, else the SQLite store under ``runs_dir``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{runs_dir.resolve()}/mlflow.db"


def local_database(tracking_uri: str) -> Path | None:
    """The database file of a local SQLite store (None for any other store)."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return Path(tracking_uri.removeprefix("sqlite:///"))


def require_store(tracking_uri: str) -> None:
    """Raise unless a local store exists: commands that only read never create one."""
    database = local_database(tracking_uri)
    if database is not None and not database.exists():
        raise StoreError(
            f"no tracking store at {database}: run `dse search` first, or pass the store's "
            "--tracking-uri or --runs-dir"
        )


def local_artifact_root(tracking_uri: str) -> Path | None:
    """Artifacts of a local SQLite store live beside its database, never in ``./mlruns``."""
    database = local_database(tracking_uri)
    return None if database is None else database.parent / "artifacts"


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


def client_for(tracking_uri: str, *, create: bool = True) -> Any:
    """An ``MlflowClient`` for the store (imported lazily: mlflow takes over a second); with
    ``create=False`` (commands that only read) a local store must exist already."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if not create:
        require_store(tracking_uri)
    database = local_database(tracking_uri)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
    if tracking_uri.startswith("sqlite:"):
        _speed_up_sqlite()
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    for logger in ("mlflow", "alembic"):  # store creation and migration chatter
        logging.getLogger(logger).setLevel(logging.WARNING)
    try:
        if database is None:
            return MlflowClient(tracking_uri=tracking_uri)
        with database.with_name(f"{database.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one process creates or migrates the store
            return MlflowClient(tracking_uri=tracking_uri)
    except MlflowException as error:
        problem = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise StoreError(f"tracking URI {tracking_uri!r}: {problem}") from None


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
    tag_list = [RunTag(k, str(v)[:MAX_TAG]) for k, v in (tags or {}).items()]
    metric_list = [Metric(k, float(v), now, step) for k, v in (metrics or {}).items()]
    for i in range(0, max(len(param_list), len(tag_list), 1), _BATCH):
        client.log_batch(
            run_id,
            metrics=metric_list if i == 0 else [],
            params=param_list[i : i + _BATCH],
            tags=tag_list[i : i + _BATCH],
        )
