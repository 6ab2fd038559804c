"""Killing a running search (SIGKILL, Ctrl-C, even while it starts) and resuming it or starting
it again loses and repeats nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from dse.errors import SearchError
from dse.mlflow_client import client_for
from dse.tracking import Tracker
from tests.support.cli import (
    dse_env,
    read_ledger,
    search_args,
    start_dse,
    wait_for_designs,
)

BUDGET = 60
SETTINGS = ["--population", "10", "--workers", "2", "--seed", "5"]
COMMON = ["--budget", str(BUDGET), *SETTINGS]


def kill_when(tmp_path: Path, process: subprocess.Popen[str], name: str, designs: int) -> None:
    wait_for_designs(tmp_path, name, process, designs)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


# nsga2 killed in its third generation; gp in its second, the first it fits
@pytest.mark.parametrize(
    "optimizer, budget, kill_at", [("nsga2", BUDGET, 25), ("gp", 20, 13)], ids=["nsga2", "gp"]
)
def test_sigkill_then_resume(
    dse: Callable[..., Any],
    write_space: Callable[..., Path],
    tmp_path: Path,
    optimizer: str,
    budget: int,
    kill_at: int,
) -> None:
    space = write_space(
        "zdt1",
        target="tests.support.problems:SlowProblem",
        options={"problem": "zdt1", "n_var": 4, "delay_s": 0.15},
        n_var=4,
    )
    common = ["--budget", str(budget), *SETTINGS, "--optimizer", optimizer]
    # An uninterrupted search with the same seed: what the resumed one must reproduce.
    dse("search", str(space), "--name", "reference", "--quiet", *common)

    command = [sys.executable, "-m", "dse", "search", str(space), "--name", "victim", "--quiet"]
    process = subprocess.Popen(
        command + common,
        cwd=tmp_path,
        env=dse_env(),
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill_when(tmp_path, process, "victim", kill_at)
    interrupted = {t["number"] for t in read_ledger(tmp_path, "victim")}
    assert kill_at <= len(interrupted) < budget

    again = dse("search", "--name", "victim", "--resume", "--quiet", check=False)
    assert again.returncode == 0, again.stderr
    trials = read_ledger(tmp_path, "victim")
    numbers = [t["number"] for t in trials]
    assert sorted(numbers) == list(range(budget)), "each design exactly once"
    kept = {t["number"]: t for t in trials}
    reference = {t["number"]: t for t in read_ledger(tmp_path, "reference")}
    assert [kept[n]["params"] for n in range(budget)] == [
        reference[n]["params"] for n in range(budget)
    ]

    client = MlflowClient(f"sqlite:///{tmp_path}/runs/mlflow.db")
    experiment = client.get_experiment_by_name("victim")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("dse.role") == "search"]
    children = [r for r in runs if "dse.trial" in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert sorted(int(r.data.tags["dse.trial"]) for r in children) == list(range(budget))
    assert all(r.info.status == "FINISHED" for r in children)
    assert all(r.data.tags["mlflow.parentRunId"] == parents[0].info.run_id for r in children)


def test_a_finished_search_resumes_to_nothing_extends_and_keeps_its_name(
    dse: Callable[..., Any], write_space: Callable[..., Path], tmp_path: Path
) -> None:
    space = write_space("zdt1", n_var=3)
    dse("search", str(space), "--name", "done", "--quiet", "--budget", "20", "--population", "10")
    again = dse("search", str(space), "--name", "done", "--quiet", "--budget", "8", check=False)
    assert again.returncode == 2
    assert "search 'done' already exists" in again.stderr and "--resume" in again.stderr
    nothing = dse("search", "--name", "never-ran", "--resume", check=False)
    assert nothing.returncode == 2 and "no search named 'never-ran'" in nothing.stderr

    # Nothing left to evaluate: no Ray cluster is needed (none listens at this address).
    unreachable = ["--ray-address", "127.0.0.1:9"]  # joining it would hang, then fail
    dse("search", "--name", "done", "--resume", "--quiet", *unreachable, timeout=60)
    assert len(read_ledger(tmp_path, "done")) == 20
    dse("search", "--name", "done", "--resume", "--quiet", "--budget", "30")
    assert sorted(t["number"] for t in read_ledger(tmp_path, "done")) == list(range(30))


def test_a_search_from_before_the_extra_setting_was_retired_resumes(
    dse: Callable[..., Any], write_space: Callable[..., Path], tmp_path: Path
) -> None:
    space = write_space("zdt1", n_var=3)
    small = ["--budget", "10", "--population", "5", "--workers", "1"]
    dse("search", str(space), "--name", "old", "--quiet", *small)
    path = tmp_path / "runs" / "searches" / "old" / "search.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "extra": {}}))  # as 0.1.0 wrote
    dse("search", "--name", "old", "--resume", "--quiet", "--budget", "15", "--workers", "1")
    assert sorted(t["number"] for t in read_ledger(tmp_path, "old")) == list(range(15))
    assert "extra" not in json.loads(path.read_text())


def test_a_search_killed_while_starting_starts_again(
    dse: Callable[..., Any], slow_space: Path, tmp_path: Path
) -> None:
    """Killed after ``search.json`` is written, before MLflow holds the search: the store's
    writers are held off (an SQLite write lock) until the kill, so the kill lands there."""
    database = tmp_path / "runs" / "mlflow.db"
    client_for(f"sqlite:///{database}")  # the store exists, in WAL mode: reads go on
    blocker = sqlite3.connect(database, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    process = start_dse(tmp_path, *search_args(slow_space, "victim", 20))
    settings = tmp_path / "runs" / "searches" / "victim" / "search.json"
    deadline = time.monotonic() + 300
    while not settings.exists():
        assert process.poll() is None and time.monotonic() < deadline, "search.json never came"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    blocker.execute("ROLLBACK")
    blocker.close()
    assert json.loads(settings.read_text())["parent_run_id"] is None

    dse(*search_args(slow_space, "victim", 20))  # the name is free again: started anew
    assert sorted(t["number"] for t in read_ledger(tmp_path, "victim")) == list(range(20))
    client = MlflowClient(f"sqlite:///{database}")
    experiment = client.get_experiment_by_name("victim")
    parents = client.search_runs([experiment.experiment_id], "tags.`dse.role` = 'search'")
    assert [p.info.status for p in parents] == ["FINISHED"]


def test_an_interrupted_start_keeps_its_experiment_for_itself_only(tmp_path: Path) -> None:
    """An experiment made by a start that died before recording its parent run is taken over
    by the same search (its token), with a new parent run; any other search is refused."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    first = Tracker(uri, "s", tmp_path / "tracking.lock")
    experiment_id, dead_parent = first.start({"budget": 10}, {}, {}, "token-a")
    first.close()  # the process died here: search.json never got the ids
    with pytest.raises(SearchError, match="'s' already exists"):
        Tracker(uri, "s", tmp_path / "tracking.lock").check_name_free("token-b")
    again = Tracker(uri, "s", tmp_path / "tracking.lock")
    assert again.start({"budget": 20}, {}, {}, "token-a")[0] == experiment_id
    again.close()
    client = MlflowClient(uri)
    parents = client.search_runs([experiment_id], "tags.`dse.role` = 'search'")
    assert [p.data.params["budget"] for p in parents] == ["20"]
    assert client.get_run(dead_parent).info.lifecycle_stage == "deleted"


def test_ctrl_c_exits_130_in_one_line_and_the_search_resumes(
    dse: Callable[..., Any], slow_space: Path, tmp_path: Path
) -> None:
    process = start_dse(
        tmp_path,
        *search_args(slow_space, "stopped", 60),
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        # with Ctrl-C's default action, as a terminal gives it (a background CI job ignores
        # SIGINT, and its children inherit that: the search would run on to its budget)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    wait_for_designs(tmp_path, "stopped", process, 12)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines() == [
        "error: search 'stopped' interrupted; continue it with `dse search --name stopped --resume`"
    ]
    dse("search", "--name", "stopped", "--resume", "--quiet")
    assert sorted(t["number"] for t in read_ledger(tmp_path, "stopped")) == list(range(60))
