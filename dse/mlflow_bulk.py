"""Many finished child runs written to an SQL tracking store in one transaction.

Through MLflow's public API a child run costs three store calls (``create_run``, ``log_batch``,
``set_terminated``), each opening sessions and re-reading the run: about 20 ms of SQLAlchemy work
per design, which caps tracking near 50 designs per second and made the tracking writer, not
the search, the bottleneck of cheap evaluations. Here a batch of finished runs is written with
MLflow's own ORM models in one session, filling the columns exactly as ``create_run`` +
``log_batch`` + ``set_terminated`` would: a few milliseconds per run.

This reaches below MLflow's public API, so it is confined to this module, used only for
SQLAlchemy stores (SQLite, PostgreSQL, MySQL; an ``mlflow server`` goes through the public API),
and checked by ``tests/dse/test_tracking.py``: a run written here must read back through the
public API exactly like the same run written through it, so a schema change in a future MLflow
fails the tests instead of a user's search.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FinishedRun:
    """A child run with everything it will ever hold."""

    name: str
    start_ms: int
    end_ms: int
    status: str  # FINISHED or FAILED
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]


def sql_store(client: Any) -> Any | None:
    """The client's SQLAlchemy store, or None when the store is something else (a server)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = client._tracking_client.store
    return store if isinstance(store, SqlAlchemyStore) else None


def write_finished_runs(
    store: Any, experiment_id: str, artifact_location: str, runs: Sequence[FinishedRun]
) -> list[str]:
    """Insert ``runs`` into ``experiment_id`` in one transaction; return their new run ids."""
    from mlflow.entities import LifecycleStage, SourceType
    from mlflow.store.tracking.dbmodels.models import (
        SqlLatestMetric,
        SqlMetric,
        SqlParam,
        SqlRun,
        SqlTag,
    )
    from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME, MLFLOW_USER
    from mlflow.utils.uri import append_to_uri_path

    run_ids = [uuid.uuid4().hex for _ in runs]
    with store.ManagedSessionMaker(read_only=False) as session:
        for run_id, run in zip(run_ids, runs, strict=True):
            tags = {MLFLOW_RUN_NAME: run.name, **run.tags}
            row = SqlRun(
                run_uuid=run_id,
                name=run.name,
                artifact_uri=append_to_uri_path(artifact_location, run_id, "artifacts"),
                experiment_id=int(experiment_id),
                source_type=SourceType.to_string(SourceType.UNKNOWN),
                source_name="",
                entry_point_name="",
                user_id=tags.get(MLFLOW_USER, "unknown"),
                status=run.status,
                start_time=run.start_ms,
                end_time=run.end_ms,
                deleted_time=None,
                source_version="",
                lifecycle_stage=LifecycleStage.ACTIVE,
            )
            row.tags = [SqlTag(key=k, value=v) for k, v in tags.items()]
            row.params = [SqlParam(key=k, value=v) for k, v in run.params.items()]
            session.add(row)
            for key, value in run.metrics.items():
                nan, stored = store.sanitize_metric_value(value)
                fields = {"run_uuid": run_id, "key": key, "timestamp": run.end_ms, "step": 0}
                session.add(SqlMetric(**fields, value=stored, is_nan=nan))
                session.add(SqlLatestMetric(**fields, value=stored, is_nan=nan))
    return run_ids
