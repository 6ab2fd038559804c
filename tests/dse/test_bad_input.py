"""Bad input through the command line: one clear line, or failed designs, never a lost search."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlflow import MlflowClient

from dse.problems import write_problem_space
from tests.support.cli import read_ledger, run_dse, search_args
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
            lambda d: d["evaluator"].update(target="dse.no_such_module:Evaluator"),
            "cannot import 'dse.no_such_module'",
        ),
        (
            lambda d: d["evaluator"].update(target="no_such_module:Evaluator"),
            "evaluator 'no_such_module:Evaluator' is not allowed",
        ),
        (
            lambda d: d["evaluator"].update(target="tests.support.problems:FAULT_BAND"),
            "'tests.support.problems:FAULT_BAND' is not a class or a function",
        ),
        (
            lambda d: d["evaluator"].update(target="dse.search:run_search"),
            "'dse.search:run_search' is not an evaluator class",
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
        "not-allowed",
        "not-callable",
        "not-an-evaluator",
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
    nowhere = ["--ray-address", "127.0.0.1:9"]  # before Ray: joining it would hang, then fail
    args = ["search", str(space), "--name", "bad", "--budget", "4", *nowhere]
    line = one_line_error(dse(*args, check=False, timeout=60))
    assert expected in line
    assert not (tmp_path / "runs" / "searches" / "bad" / "search.json").exists()


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--budget", "-5"], "--budget must be at least 1 design, got -5"),
        (["--budget", "0"], "--budget must be at least 1 design, got 0"),
        (["--population", "0"], "--population must be at least 2, got 0"),
        (["--workers", "-1"], "--workers must be 0 (this process) or more, got -1"),
        (["--timeout", "0"], "--timeout must be a positive number of seconds, got 0.0"),
        (["--tracking-uri", "bogus://x"], "tracking URI 'bogus://x': "),
    ],
    ids=["negative-budget", "zero-budget", "zero-population", "negative-workers", "timeout", "uri"],
)
def test_bad_search_flags_fail_in_one_line_and_take_no_name(
    dse: Dse, write_space: Callable[..., Path], tmp_path: Path, flags: list[str], expected: str
) -> None:
    space = write_space("zdt1", n_var=3)
    base = ["search", str(space), "--name", "flags", "--quiet", "--budget", "4", "--workers", "2"]
    assert expected in one_line_error(dse(*base, *flags, check=False))
    assert not (tmp_path / "runs" / "searches" / "flags" / "search.json").exists()
    assert not (tmp_path / "runs" / "artifacts" / "flags").exists()


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 10-design ZDT1 search named ``done``; tests read it, or copy its ledger."""
    root = tmp_path_factory.mktemp("finished")
    space = write_problem_space(root / "zdt1.yaml", "zdt1", n_var=3)
    run_dse(root, *search_args(space, "done", 10, 5))
    return root


def test_export_never_writes_over_a_file_or_into_a_full_directory(finished: Path) -> None:
    (finished / "taken").write_text("mine")
    (finished / "full").mkdir()
    (finished / "full" / "design.yaml").write_text("mine")
    for out, expected in (("taken", "a file, not a directory"), ("full", "not empty")):
        args = ["export", "--name", "done", "--trial", "0", "--out", out]
        line = one_line_error(run_dse(finished, *args, check=False))
        assert f"--out {out}: {expected}" in line
    assert (finished / "taken").read_text() == "mine"
    assert (finished / "full" / "design.yaml").read_text() == "mine"


def test_a_damaged_ledger_line_stops_the_resume_naming_it(finished: Path, tmp_path: Path) -> None:
    shutil.copytree(finished / "runs" / "searches", tmp_path / "runs" / "searches")
    ledger = tmp_path / "runs" / "searches" / "done" / "ledger.jsonl"
    lines = ledger.read_text().splitlines(keepends=True)
    lines[2] = lines[2][: len(lines[2]) // 2] + "\n"  # damage in the middle, not a torn end
    ledger.write_text("".join(lines))
    args = ["search", "--name", "done", "--resume", "--quiet", "--budget", "20"]
    line = one_line_error(run_dse(tmp_path, *args, check=False))
    assert "runs/searches/done/ledger.jsonl: line 3 is damaged" in line
    assert len(ledger.read_text().splitlines()) == 10  # nothing evaluated or logged again


def test_truncated_search_settings(dse: Dse, tmp_path: Path) -> None:
    settings = tmp_path / "runs" / "searches" / "cut" / "search.json"
    settings.parent.mkdir(parents=True)
    settings.write_text('{"name": "cut", "space": {"na')
    line = one_line_error(dse("search", "--name", "cut", "--resume", check=False))
    assert "runs/searches/cut/search.json: damaged search settings" in line


@pytest.mark.fresh_store
def test_reading_commands_never_create_a_store(dse: Dse, tmp_path: Path) -> None:
    for command in (["front"], ["export", "--name", "x", "--pick", "knee", "--out", "o"], ["ui"]):
        line = one_line_error(dse(*command, check=False))
        assert f"no tracking store at {tmp_path}/runs/mlflow.db" in line
    assert not (tmp_path / "runs").exists()


def test_evaluate_refuses_params_outside_the_design_files_domains(dse: Dse, tmp_path: Path) -> None:
    domains = {
        "x0": {"type": "float", "low": 0.0, "high": 1.0},
        "x1": {"type": "int", "low": 0, "high": 10, "step": 2},
        "x2": {"type": "categorical", "choices": [0.1, 0.9]},
    }
    evaluator = {"target": "dse.problems:PymooProblem", "options": {"problem": "zdt1", "n_var": 3}}
    path = tmp_path / "design.yaml"
    for params, expected in (
        ({"x0": 1.5, "x1": 2, "x2": 0.1}, "params.x0=1.5: outside [0.0, 1.0]"),
        ({"x0": 0.5, "x1": 3, "x2": 0.1}, "params.x1=3: not on the grid 0, 2, ... (step 2)"),
        ({"x0": 0.5, "x1": 2, "x2": 0.5}, "params.x2=0.5: not one of [0.1, 0.9]"),
        ({"x0": 0.5, "x1": 2}, "params.x2: missing"),
    ):
        design = {"evaluator": evaluator, "params": params, "domains": domains}
        path.write_text(yaml.safe_dump(design))
        assert f"{path}: {expected}" in one_line_error(dse("evaluate", str(path), check=False))
    path.write_text(yaml.safe_dump({**design, "params": {"x0": 0.5, "x1": 2, "x2": 0.9}}))
    assert json.loads(dse("evaluate", str(path), "--json").stdout)["f1"] == 0.5


def test_an_objective_the_evaluator_never_returns_stops_after_the_first_generation(
    dse: Dse, write_space: Callable[..., Path], tmp_path: Path
) -> None:
    space = edit(
        write_space("zdt1", n_var=3),
        lambda d: d["objectives"].append({"name": "f3", "direction": "minimize"}),
    )
    line = one_line_error(dse(*search_args(space, "f3", 40, 10), check=False))
    assert "objective 'f3' is in no result of the first generation" in line
    assert "the evaluator returns f1, f2" in line
    assert len(read_ledger(tmp_path, "f3")) == 10  # one generation, not the budget


def test_a_search_whose_first_generation_all_fails_stops(
    dse: Dse, write_space: Callable[..., Path], tmp_path: Path
) -> None:
    space = write_space(
        "zdt1", n_var=3, target="tests.support.problems:Faulty", options={"n_var": 3}
    )
    edit(space, lambda d: d["params"]["x0"].update(high=0.1))  # where Faulty always raises
    line = one_line_error(dse(*search_args(space, "broken", 40, 10), check=False))
    assert "all 10 designs of the first generation failed" in line
    assert "RuntimeError: simulated evaluator bug" in line
    assert len(read_ledger(tmp_path, "broken")) == 10
    client = MlflowClient(f"sqlite:///{tmp_path}/runs/mlflow.db")
    (parent,) = client.search_runs(
        [client.get_experiment_by_name("broken").experiment_id], "tags.`dse.role` = 'search'"
    )
    assert parent.info.status == "FAILED"


def test_a_hung_design_times_out_and_its_worker_is_replaced(
    dse: Dse, write_space: Callable[..., Path], tmp_path: Path
) -> None:
    space = write_space(
        "zdt1", n_var=3, target="tests.support.problems:Hanging", options={"n_var": 3}
    )
    edit(space, lambda d: d.update(search={"timeout_s": 3600}))  # the flag overrides the key
    started = time.monotonic()
    one_worker = ["--workers", "1", "--timeout", "3"]
    args = ["search", str(space), "--name", "hung", "--quiet", "--budget", "10", *one_worker]
    dse(*args, "--population", "10", timeout=300)
    trials = read_ledger(tmp_path, "hung")
    hung = [t for t in trials if t["params"]["x0"] < 0.3]
    assert hung and all(t["status"] == "failed" for t in hung)
    assert all(t["error"] == "timed out after 3 s" for t in hung)
    assert all(t["status"] == "complete" for t in trials if t["params"]["x0"] >= 0.3)
    assert time.monotonic() - started < 240  # one worker went on after each hung design


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
