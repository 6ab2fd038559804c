"""``--workers 0``: the evaluators run in the search's own process, without Ray."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dse.backends import make_runner
from dse.errors import EvaluatorError, SearchError
from dse.inline import InlineRunner
from dse.runner import Job
from tests.support.cli import dse_env, read_ledger

Dse = Callable[..., subprocess.CompletedProcess[str]]


def test_outcomes_come_in_order_and_a_failing_design_is_only_that(tmp_path: Path) -> None:
    runner = InlineRunner("tests.support.problems:Faulty")
    runner.start({None: {"n_var": 3}})
    jobs = [Job(i, {f"x{j}": x for j in range(3)}) for i, x in enumerate([0.9, 0.05, 0.95])]
    outcomes = list(runner.run(jobs))
    assert [o.number for o in outcomes] == [0, 1, 2]
    assert outcomes[0].error is None and outcomes[2].error is None and outcomes[1].error
    assert outcomes[0].metrics.keys() >= {"f1", "f2"}


def test_a_design_that_hangs_times_out_and_the_next_one_runs() -> None:
    runner = InlineRunner("tests.support.problems:Hanging", timeout_s=0.5)
    runner.start({None: {"n_var": 3}})
    hung, fine = (Job(n, {"x0": x, "x1": 0.5, "x2": 0.5}) for n, x in enumerate([0.1, 0.9]))
    first, second = runner.run([hung, fine])
    assert first.error == "timed out after 0.5 s" and 0.5 <= first.duration_s < 5
    assert second.error is None and second.metrics


def test_a_setup_that_fails_is_one_error() -> None:
    runner = InlineRunner("tests.support.problems:BrokenSetup")
    with pytest.raises(EvaluatorError, match="setup failed: FileNotFoundError"):
        runner.start({None: {}})


@pytest.mark.parametrize(
    ("workers", "address", "message"),
    [(0, "ray://x:10001", "cannot join --ray-address"), (-1, None, r"0 \(this process\) or more")],
)
def test_bad_worker_counts_fail_in_one_line(
    workers: int, address: str | None, message: str
) -> None:
    with pytest.raises(SearchError, match=message):
        make_runner("dse.problems:ZeroCost", workers=workers, ray_address=address)


def test_an_inline_search_gives_the_designs_of_a_ray_search_without_importing_ray(
    dse: Dse, write_space: Callable[..., Path], tmp_path: Path
) -> None:
    space = write_space("zdt1", n_var=4)
    common = ["--budget", "36", "--population", "12", "--seed", "3", "--quiet"]
    dse("search", str(space), "--name", "ray", "--workers", "1", *common)
    args = ["search", str(space), "--name", "inline", "--workers", "0", *common]
    script = (
        "import sys\nfrom dse.cli import app\n"
        f"try:\n    app({args!r})\n"
        "except SystemExit as stop:\n    assert not stop.code, stop.code\n"
        "print('ray imported:', 'ray' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=dse_env(), capture_output=True,
        text=True, timeout=600, check=True,
    )  # fmt: skip
    assert "ray imported: False" in result.stdout, result.stderr
    ray, inline = read_ledger(tmp_path, "ray"), read_ledger(tmp_path, "inline")
    assert [t["params"] for t in inline] == [t["params"] for t in ray]
    assert [t["metrics"] for t in inline] == [t["metrics"] for t in ray]
