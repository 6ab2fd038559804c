"""Fixtures of the engine tests: the CLI in a private directory, space files of test problems."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dse.problems import problem_space
from tests.support.cli import dse_env, run_dse


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow store, created once: creating one runs MLflow's migrations (about 2 s),
    which every CLI test would otherwise pay for its private ``runs/``."""
    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    create = f"from dse.mlflow_client import client_for; client_for('sqlite:///{path}')"
    subprocess.run([sys.executable, "-c", create], env=dse_env(), check=True, timeout=300)
    return path


@pytest.fixture
def dse(
    tmp_path: Path, request: pytest.FixtureRequest, migrated_store: Path
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``python -m dse ARGS`` in a fresh directory (so ``runs/`` is private to the test),
    whose ``runs/`` holds an empty tracking store unless the test is marked ``fresh_store``
    (it tests how a store comes to be)."""
    if request.node.get_closest_marker("fresh_store") is None:
        (tmp_path / "runs").mkdir()
        shutil.copyfile(migrated_store, tmp_path / "runs" / "mlflow.db")
    return functools.partial(run_dse, tmp_path)


@pytest.fixture
def write_space(tmp_path: Path) -> Callable[..., Path]:
    """Write a search-space file for a pymoo problem, optionally with a custom evaluator."""

    def write(
        problem: str,
        filename: str | None = None,
        target: str | None = None,
        options: dict[str, Any] | None = None,
        **problem_options: Any,
    ) -> Path:
        space = problem_space(problem, **problem_options)
        if target is not None:
            space["evaluator"] = {"target": target, "options": options or {}}
        path = tmp_path / (filename or f"{problem}.yaml")
        path.write_text(yaml.safe_dump(space, sort_keys=False))
        return path

    return write


@pytest.fixture
def slow_space(write_space: Callable[..., Path]) -> Path:
    """A ZDT1 space whose evaluator takes 0.2 s a design: long enough to stop a search midway."""
    return write_space(
        "zdt1",
        target="tests.support.problems:SlowProblem",
        options={"problem": "zdt1", "n_var": 3, "delay_s": 0.2},
        n_var=3,
    )
