"""Fixtures for end-to-end engine tests through the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dse.problems import problem_space

REPO = Path(__file__).resolve().parents[2]


def dse_env(**extra: str) -> dict[str, str]:
    """Environment for a ``dse`` subprocess: test evaluators importable, no progress bar noise."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(extra)
    return env


@pytest.fixture
def dse(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``python -m dse ARGS`` in a fresh directory (so ``runs/`` is private to the test)."""

    def run(
        *args: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "dse", *args],
            cwd=tmp_path,
            env=dse_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"dse {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    return run


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
