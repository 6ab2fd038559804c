"""``dse export`` and ``dse front``: the evaluator built only as often as its protocol needs,
``--pick`` by the verified scores once there are some, and neither command paying for the
optimizer libraries (Optuna, pymoo) it never uses."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from dse.design import export_design, pick_trial
from dse.errors import StoreError
from dse.mlflow_client import iter_child_runs
from dse.space import Constraint, SearchSpace, dump_space, parse_space
from dse.store import StoredSearch, verified_trials
from dse.tracking import Tracker
from dse.trial import Trial
from tests.support.cli import dse_env

TRIALS = [
    Trial(i, 0, {"x0": x}, "complete", {"f1": x, "f2": 1.0 - x}, finished_at=1.7e9)
    for i, x in enumerate((0.2, 0.8))
]


def recording_space(log: Path) -> SearchSpace:
    return parse_space(
        {
            "name": "tiny",
            "evaluator": {
                "target": "tests.support.problems:Recording",
                "options": {"log": str(log)},
            },
            "objectives": [
                {"name": "f1", "direction": "minimize"},
                {"name": "f2", "direction": "minimize"},
            ],
            "params": {"x0": {"type": "float", "low": 0.0, "high": 1.0}},
        }
    )


def test_export_builds_the_evaluator_once_to_prepare_and_once_as_the_worker(
    tmp_path: Path,
) -> None:
    log = tmp_path / "calls.log"
    stored = stored_search(recording_space(log), TRIALS)
    files = export_design(stored, TRIALS[0], tmp_path / "out", {}, tmp_path / "cache", "v")
    assert [p.name for p in files] == ["design.yaml", "exported.txt"]
    assert log.read_text().splitlines() == [
        "build prepared=False",  # on the driver: has it an export hook? then its prepare step
        "prepare",
        "build prepared=True",  # the worker, from the prepared options
        "setup",
        "export",
    ]


def stored_search(space: SearchSpace, trials: list[Trial], **verified: Trial) -> StoredSearch:
    return StoredSearch(
        name="tiny",
        space=space,
        trials=trials,
        parent_run_id="parent",
        experiment_id="1",
        tracking_uri="sqlite://",
        tags={},
        run_ids={},
        verified={int(number): trial for number, trial in verified.items()},
    )


def scored(number: int, f1: float, f2: float, status: str = "complete") -> Trial:
    return Trial(number, 0, {"x0": f1}, status, {"f1": f1, "f2": f2}, finished_at=1.7e9)


def test_a_pick_uses_the_verified_scores_once_the_search_was_verified(tmp_path: Path) -> None:
    space = recording_space(tmp_path / "calls.log")
    trials = [scored(i, x, 1.0 - x) for i, x in enumerate((0.1, 0.4, 0.6, 0.9))]
    for trial in trials:
        trial.metrics["proxy/f1"] = trial.metrics["f1"]
    unverified = stored_search(space, trials)
    assert pick_trial(unverified, None, "min-f1").number == 0
    assert pick_trial(unverified, None, "max-f1").number == 3
    assert pick_trial(unverified, None, "knee").number in (1, 2)  # the middle of the line

    # verify measured three designs and found them otherwise: 3 is now the knee
    verified = {"1": scored(1, 0.9, 0.05), "2": scored(2, 0.05, 0.9), "3": scored(3, 0.3, 0.3)}
    checked = stored_search(space, trials, **verified)
    assert pick_trial(checked, None, "min-f1").number == 2
    assert pick_trial(checked, None, "max-f1").number == 1
    assert pick_trial(checked, None, "knee").number == 3
    assert pick_trial(checked, None, "min-f1") is trials[2]  # the search's trial, for export
    assert pick_trial(checked, None, "max-proxy/f1").number == 3  # one level's search score
    assert pick_trial(checked, 0, None).number == 0  # a number picks any design


def test_a_pick_among_verified_designs_that_are_all_infeasible_says_so(tmp_path: Path) -> None:
    space = recording_space(tmp_path / "calls.log").model_copy(
        update={"constraints": [Constraint(metric="f2", max=0.5)]}
    )
    trials = [scored(0, 0.9, 0.1), scored(1, 0.2, 0.8)]
    checked = stored_search(space, trials, **{"0": scored(0, 0.9, 0.7)})
    with pytest.raises(StoreError, match="no design is feasible by the verified scores of 1"):
        pick_trial(checked, None, "knee")


def test_the_latest_verification_of_a_design_is_the_one_that_counts(
    tmp_path: Path, migrated_store: Path
) -> None:
    store = tmp_path / "mlflow.db"
    shutil.copyfile(migrated_store, store)
    client = MlflowClient(f"sqlite:///{store}")
    experiment = client.create_experiment("tiny")
    parent = client.create_run(experiment, tags={"dse.role": "search"}).info.run_id

    def verify_run(start_ms: int, outcomes: dict[int, tuple[str, float]]) -> None:
        tags = {"mlflow.parentRunId": parent, "dse.role": "verify"}
        run = client.create_run(experiment, start_time=start_ms, tags=tags).info.run_id
        for number, (status, f1) in outcomes.items():
            tags = {"mlflow.parentRunId": run, "dse.trial": str(number), "dse.status": status}
            child = client.create_run(experiment, start_time=start_ms, tags=tags).info.run_id
            client.log_metric(child, "f1", f1)

    verify_run(2_000, {1: ("failed", 0.0), 2: ("complete", 0.2), 3: ("complete", 0.3)})
    verify_run(1_000, {1: ("complete", 0.1), 2: ("complete", 0.9)})  # an earlier run
    children = list(iter_child_runs(client, experiment, parent))
    verified = verified_trials(client, experiment, children, recording_space(tmp_path / "log"))
    assert {n: t.metrics["f1"] for n, t in verified.items()} == {2: 0.2, 3: 0.3}


@pytest.fixture
def tiny_store(tmp_path: Path) -> Path:
    """A search of two designs written to ``tmp_path/runs`` by the tracker, as a search does."""
    space = recording_space(tmp_path / "calls.log")
    tracker = Tracker(f"sqlite:///{tmp_path}/runs/mlflow.db", "tiny", tmp_path / "tracking.lock")
    tracker.start({"space": "tiny.yaml"}, {}, {}, "token")
    tracker.log_artifact_text(dump_space(space), "space.yaml")
    for trial in TRIALS:
        tracker.log_trial(trial)
    (tmp_path / "artifacts").mkdir()
    tracker.finish([t.number for t in TRIALS], tmp_path / "artifacts")
    tracker.close()
    return tmp_path


def imported_packages(cwd: Path, *args: str) -> set[str]:
    """The top-level packages ``dse ARGS`` imports (from ``python -X importtime``)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dse", *args],
        cwd=cwd,
        env=dse_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in lines}


@pytest.mark.parametrize(
    "command",
    [["front", "--name", "tiny"], ["export", "--name", "tiny", "--trial", "0", "--out", "out"]],
    ids=["front", "export"],
)
def test_front_and_export_import_no_optimizer_library(tiny_store: Path, command: list[str]) -> None:
    packages = imported_packages(tiny_store, *command)
    assert {"dse", "mlflow"} <= packages, "the import log was read"
    assert not {"optuna", "pymoo"} & packages, f"dse {command[0]} imported them"
    if command[0] == "export":
        assert (tiny_store / "out" / "exported.txt").exists()
