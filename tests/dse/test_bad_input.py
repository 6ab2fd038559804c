"""Bad input through the command line: one clear line, or failed designs, never a lost search."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlflow import MlflowClient

from tests.support.cli import read_ledger, search_args
from tests.support.problems import FAULT_BAND, FAULTS

Dse = Callable[..., Any]


def one_line_error(result: Any) -> str:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def edit(path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["params"]["x0"].update(type="real"), "params.x0: unknown type 'real'"),
        (lambda d: d["params"]["x1"].update(low=2.0), "params.x1: low (2.0) > high (1.0)"),
        (
            lambda d: d["params"].update(block={"type": "categorical", "choices": []}),
            "params.block.choices: List should have at least 1 item",
        ),
        (
            lambda d: d["evaluator"].update(target="no_such_module:Evaluator"),
            "cannot import 'no_such_module'",
        ),
        (
            lambda d: d["evaluator"].update(target="dse.problems:NoSuchThing"),
            "'dse.problems' has no attribute 'NoSuchThing'",
        ),
        (
            lambda d: d.update(evaluator={"target": "dse.problems:ZeroCost", "options": {"c": 1}}),
            "'dse.problems:ZeroCost': bad options",
        ),
    ],
    ids=[
        "unknown-type",
        "low-above-high",
        "empty-choices",
        "unknown-module",
        "unknown-attr",
        "unknown-option",
    ],
)
def test_broken_space_fails_before_any_work(
    dse: Dse,
    write_space: Callable[..., Path],
    tmp_path: Path,
    change: Callable[[dict[str, Any]], None],
    expected: str,
) -> None:
    space = edit(write_space("zdt1", n_var=3), change)
    line = one_line_error(dse("search", str(space), "--name", "bad", "--budget", "4", check=False))
    assert expected in line
    assert not (tmp_path / "runs" / "searches" / "bad" / "search.json").exists()


def test_malformed_yaml(dse: Dse, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nparams: [unclosed\n")
    line = one_line_error(dse("search", str(path), "--name", "x", "--budget", "4", check=False))
    assert "broken.yaml: line 3: malformed YAML" in line


def test_evaluator_whose_setup_fails(dse: Dse, write_space: Callable[..., Path]) -> None:
    space = write_space("zdt1", n_var=3, target="tests.support.problems:BrokenSetup")
    line = one_line_error(dse("search", str(space), "--name", "x", "--budget", "4", check=False))
    assert "setup failed: FileNotFoundError: data set not found at /nonexistent" in line


def test_misbehaving_evaluations_fail_their_design_only(
    dse: Dse, write_space: Callable[..., Path], tmp_path: Path
) -> None:
    target = "tests.support.problems:Faulty"
    space = write_space("zdt1", n_var=3, target=target, options={"n_var": 3})
    result = dse(*search_args(space, "faulty", 40, 20))
    assert "failed)" in result.stdout
    trials = read_ledger(tmp_path, "faulty")
    assert len(trials) == 40
    assert all(t["status"] == "complete" for t in trials if t["params"]["x0"] >= 3 * FAULT_BAND)
    client = MlflowClient(f"sqlite:///{tmp_path}/runs/mlflow.db")
    experiment = client.get_experiment_by_name("faulty")
    runs = client.search_runs([experiment.experiment_id], "tags.`dse.status` = 'failed'")
    assert len(runs) == sum(t["status"] == "failed" for t in trials)
    assert all(r.info.status == "FAILED" for r in runs)
    for band, error in enumerate(FAULTS.values()):  # each way of failing, named in both stores
        failed = [t for t in trials if int(t["params"]["x0"] / FAULT_BAND) == band]
        assert failed and all(t["status"] == "failed" and error in t["error"] for t in failed)
        assert sum(error in r.data.tags["dse.error"] for r in runs) == len(failed)


def test_dead_worker_is_replaced_and_its_design_retried(
    dse: Dse, write_space: Callable[..., Path], tmp_path: Path
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    options = {"marker_dir": str(markers), "threshold": 0.25, "n_var": 3}
    space = write_space("zdt1", n_var=3, target="tests.support.problems:Crashing", options=options)
    dse(*search_args(space, "crashy", 20))
    trials = read_ledger(tmp_path, "crashy")
    crashed = [t for t in trials if t["params"]["x0"] < 0.25]
    assert crashed, "the test needs designs that crash their worker"
    assert len(list(markers.iterdir())) >= len(crashed)
    assert all(t["status"] == "complete" for t in trials)

    always = write_space(
        "zdt1",
        "always.yaml",
        n_var=3,
        target="tests.support.problems:Crashing",
        options={**options, "once": False},
    )
    dse(*search_args(always, "crashy2", 10))
    trials = read_ledger(tmp_path, "crashy2")
    dead = [t for t in trials if t["params"]["x0"] < 0.25]
    assert dead and all("worker died twice" in t["error"] for t in dead)
    assert all(t["status"] == "complete" for t in trials if t["params"]["x0"] >= 0.25)
