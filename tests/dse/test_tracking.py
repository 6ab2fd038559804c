"""Child runs written in bulk read back through MLflow's public API exactly like runs written
through it (the contract that keeps ``dse.mlflow_bulk`` honest across MLflow versions); a fresh
store written by two searches at once."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from subprocess import PIPE
from typing import Any

import pytest

from dse import tracking
from dse.mlflow_client import client_for
from dse.search import SearchRequest, run_search
from dse.store import load_search
from dse.tracking_writer import RunWriter
from dse.trial import Trial
from tests.support.cli import read_ledger, search_args, start_dse

TRIALS = [
    Trial(0, 0, {"arch.width": 16, "hw.bits": 4, "block": "ghost"}, "complete",
          {"miou": 0.5, "energy_uj": 3.25, "huge": math.inf}, duration_s=2.0, finished_at=1.7e9),
    Trial(1, 0, {"arch.width": 8, "hw.bits": 2, "block": "standard"}, "failed",
          {"miou": math.nan}, error="RuntimeError: boom", traceback="Traceback ...\nboom",
          duration_s=0.5, finished_at=1.7e9 + 3),
]  # fmt: skip


def written(tmp_path: Path, bulk: bool) -> list[Any]:
    uri = f"sqlite:///{tmp_path}/{'bulk' if bulk else 'public'}.db"
    client = client_for(uri)
    experiment = client.create_experiment("e", artifact_location=str(tmp_path / "artifacts"))
    parent = client.create_run(experiment, run_name="parent").info.run_id
    writer = RunWriter(uri, experiment, parent, {}, bulk=bulk)
    writer.log_trials(TRIALS)
    writer.mark_pareto([0])
    return [client.get_run(writer.run_ids[t.number]) for t in TRIALS], parent


def comparable(run: Any, parent: str) -> dict[str, Any]:
    tags = {k: v for k, v in run.data.tags.items() if k != "mlflow.parentRunId"}
    return {
        "name": run.info.run_name,
        "status": run.info.status,
        "start": run.info.start_time,
        "end": run.info.end_time,
        "lifecycle": run.info.lifecycle_stage,
        "user": run.info.user_id,
        "artifacts": run.info.artifact_uri.replace(run.info.run_id, "<id>").rsplit("/", 2)[-2:],
        "params": run.data.params,
        "metrics": {k: ("nan" if math.isnan(v) else v) for k, v in run.data.metrics.items()},
        "tags": tags,
        "is_child": run.data.tags["mlflow.parentRunId"] == parent,
    }


def test_bulk_and_public_runs_read_back_the_same(tmp_path: Path) -> None:
    bulk, bulk_parent = written(tmp_path, bulk=True)
    public, public_parent = written(tmp_path, bulk=False)
    for fast, slow in zip(bulk, public, strict=True):
        assert comparable(fast, bulk_parent) == comparable(slow, public_parent)
    first = comparable(bulk[0], bulk_parent)
    assert first["status"] == "FINISHED" and first["is_child"]
    assert first["tags"]["dse.pareto"] == "true" and first["params"]["arch.width"] == "16"
    assert comparable(bulk[1], bulk_parent)["status"] == "FAILED"


def test_bulk_runs_are_searchable(tmp_path: Path) -> None:
    runs, parent = written(tmp_path, bulk=True)
    client = client_for(f"sqlite:///{tmp_path}/bulk.db")
    experiment = runs[0].info.experiment_id
    found = client.search_runs([experiment], "tags.`dse.pareto` = 'true' and metrics.miou > 0.4")
    assert [r.info.run_id for r in found] == [runs[0].info.run_id]
    history = client.get_metric_history(runs[0].info.run_id, "energy_uj")
    assert [m.value for m in history] == [3.25]
    children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent}'")
    assert len(children) == 2


def test_two_first_searches_on_a_fresh_store_both_run(
    write_space: Callable[..., Path], tmp_path: Path
) -> None:
    """Both create the store at once: one migrates it, the other waits (no schema race)."""
    space = write_space("zdt1", n_var=3)
    searches = [
        start_dse(tmp_path, *search_args(space, name, 10, 5, "--workers", "1"), stderr=PIPE)
        for name in ("left", "right")
    ]
    for search in searches:
        _, stderr = search.communicate(timeout=600)
        assert search.returncode == 0, stderr
    assert all(len(read_ledger(tmp_path, name)) == 10 for name in ("left", "right"))


def test_a_search_past_its_child_runs_logs_a_sample_and_the_front_and_keeps_every_design(
    write_space: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tracking, "CHILD_RUNS", 8)  # a budget of 40: every 5th design
    request = SearchRequest(
        name="many",
        space_path=write_space("zdt1", n_var=3),
        budget=40,
        population=10,
        workers=1,
        runs_dir=tmp_path / "runs",
        progress=False,
    )
    result = run_search(request)
    stored = load_search(result.settings.tracking_uri, "many")
    assert [t.number for t in stored.trials] == list(range(40))  # from trials.jsonl
    assert [t.metrics for t in stored.trials] == [t.metrics for t in result.trials]
    front = [t.number for t in tracking.front_sample(result.front)]
    assert set(stored.run_ids) == set(range(0, 40, 5)) | set(front)
    client = client_for(result.settings.tracking_uri)
    pareto = {
        n
        for n, run in stored.run_ids.items()
        if client.get_run(run).data.tags["dse.pareto"] == "true"
    }
    assert pareto == set(front)
