"""Killing a running search with SIGKILL and resuming it loses and repeats nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlflow import MlflowClient

from tests.support.cli import dse_env, read_ledger

BUDGET = 60
COMMON = ["--budget", str(BUDGET), "--population", "10", "--workers", "2", "--seed", "5"]


def kill_when(tmp_path: Path, process: subprocess.Popen[str], name: str, designs: int) -> None:
    path = tmp_path / "runs" / "searches" / name / "ledger.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and len(path.read_text().splitlines()) >= designs:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return
        time.sleep(0.05)
    raise AssertionError(f"the search ended or stalled before {designs} designs: {process.poll()}")


def test_sigkill_then_resume(
    dse: Callable[..., Any], write_space: Callable[..., Path], tmp_path: Path
) -> None:
    space = write_space(
        "zdt1",
        target="tests.support.problems:SlowProblem",
        options={"problem": "zdt1", "n_var": 4, "delay_s": 0.15},
        n_var=4,
    )
    # An uninterrupted search with the same seed: what the resumed one must reproduce.
    dse("search", str(space), "--name", "reference", "--quiet", *COMMON)

    command = [sys.executable, "-m", "dse", "search", str(space), "--name", "victim", "--quiet"]
    process = subprocess.Popen(
        command + COMMON,
        cwd=tmp_path,
        env=dse_env(),
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill_when(tmp_path, process, "victim", 25)
    interrupted = {t["number"] for t in read_ledger(tmp_path, "victim")}
    assert 25 <= len(interrupted) < BUDGET

    again = dse("search", "--name", "victim", "--resume", "--quiet", check=False)
    assert again.returncode == 0, again.stderr
    trials = read_ledger(tmp_path, "victim")
    numbers = [t["number"] for t in trials]
    assert sorted(numbers) == list(range(BUDGET)), "each design exactly once"
    kept = {t["number"]: t for t in trials}
    reference = {t["number"]: t for t in read_ledger(tmp_path, "reference")}
    assert [kept[n]["params"] for n in range(BUDGET)] == [
        reference[n]["params"] for n in range(BUDGET)
    ]

    client = MlflowClient(f"sqlite:///{tmp_path}/runs/mlflow.db")
    experiment = client.get_experiment_by_name("victim")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("dse.role") == "search"]
    children = [r for r in runs if "dse.trial" in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert sorted(int(r.data.tags["dse.trial"]) for r in children) == list(range(BUDGET))
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
