"""``dse export`` and ``dse front``: the evaluator built only as often as its protocol needs,
``--pick`` by the verified scores once there are some, and neither command paying for the
optimizer libraries (Optuna, pymoo) it never uses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dse.design import export_design, pick_trial
from dse.space import SearchSpace, dump_space, parse_space
from dse.store import StoredSearch
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


def test_a_pick_uses_the_verified_scores_once_the_search_was_verified(tmp_path: Path) -> None:
    space = recording_space(tmp_path / "calls.log")
    trials = [
        Trial(i, 0, {"x0": x}, "complete", {"f1": x, "f2": 1.0 - x}, finished_at=1.7e9)
        for i, x in enumerate((0.1, 0.4, 0.6, 0.9))
    ]
    # verify measured trials 1 and 2 and found them the other way round
    verified = {
        "1": Trial(1, 0, {"x0": 0.4}, "complete", {"f1": 0.7, "f2": 0.3}, finished_at=1.7e9),
        "2": Trial(2, 0, {"x0": 0.6}, "complete", {"f1": 0.2, "f2": 0.8}, finished_at=1.7e9),
    }
    unverified = stored_search(space, trials)
    assert pick_trial(unverified, None, "min-f1").number == 0
    assert pick_trial(unverified, None, "max-f1").number == 3
    checked = stored_search(space, trials, **verified)
    assert pick_trial(checked, None, "min-f1").number == 2
    assert pick_trial(checked, None, "max-f1").number == 1
    assert pick_trial(checked, None, "knee").number in (1, 2)
    assert pick_trial(checked, None, "min-f1") is trials[2]  # the search's trial, for export
    assert pick_trial(checked, 3, None).number == 3  # a number picks any design


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
