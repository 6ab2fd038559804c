"""End-to-end searches through the command line: real Ray, real SQLite MLflow, real ledgers.

The searches that measure optimizers against known fronts run in their own process
(``--workers 0``): they test the search, not Ray, which the other tests here cover.

Budgets and thresholds are stated here and in ``benchmarks/RESULTS.md``: at the budgets below,
seed 0, both NSGA-II backends reach the stated fraction of the true front's hypervolume
(normalised to [0, 1] per objective, reference point 1.1), and random search reaches less.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from mlflow import MlflowClient

from dse.pareto import hypervolume
from dse.problems import true_front, write_problem_space
from tests.support.cli import read_ledger, run_dse, search_args

Dse = Callable[..., Any]


def fraction_of_true_hypervolume(root: Path, name: str, problem: str, **options: Any) -> float:
    """Hypervolume of a search's front over that of the problem's true front."""
    records = json.loads(run_dse(root, "front", "--name", name, "--format", "json").stdout)
    objectives = options.get("n_obj", 2)
    values = np.array([[r[f"f{i + 1}"] for i in range(objectives)] for r in records])
    return hypervolume(values) / hypervolume(true_front(problem, **options))


ZDT1 = {"n_var": 5}
ZDT1_BUDGET = ["--budget", "800", "--population", "40", "--seed", "0", "--workers", "0"]
ZDT1_TARGETS = {"nsga2": 0.6, "pymoo-nsga2": 0.75}


@pytest.fixture(scope="module")
def zdt1(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    """Fraction of ZDT1's true hypervolume each optimizer reaches at the same budget."""
    root = tmp_path_factory.mktemp("zdt1")
    space = write_problem_space(root / "zdt1.yaml", "zdt1", bounds=[(0, 1), (0, 1)], **ZDT1)
    reached = {}
    for optimizer in (*ZDT1_TARGETS, "random"):
        run_dse(
            root,
            "search",
            str(space),
            "--name",
            optimizer,
            "--optimizer",
            optimizer,
            "--quiet",
            *ZDT1_BUDGET,
        )
        reached[optimizer] = fraction_of_true_hypervolume(root, optimizer, "zdt1", **ZDT1)
    return reached


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", list(ZDT1_TARGETS))
def test_zdt1_reaches_the_true_front_and_beats_random(
    zdt1: dict[str, float], optimizer: str
) -> None:
    assert zdt1[optimizer] >= ZDT1_TARGETS[optimizer], f"{optimizer} reached {zdt1[optimizer]:.3f}"
    assert zdt1[optimizer] > zdt1["random"] + 0.2, f"{zdt1}"


DTLZ2 = {"n_var": 7, "n_obj": 3}


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["nsga2", "pymoo-nsga2"])
def test_dtlz2_three_objectives(
    dse: Dse, write_space: Callable[..., Path], tmp_path: Path, optimizer: str
) -> None:
    space = write_space("dtlz2", bounds=[(0, 1)] * 3, **DTLZ2)
    budget = ["--budget", "600", "--population", "40", "--seed", "0", "--workers", "0"]
    dse("search", str(space), "--name", "dtlz2", "--optimizer", optimizer, "--quiet", *budget)
    reached = fraction_of_true_hypervolume(tmp_path, "dtlz2", "dtlz2", **DTLZ2)
    assert reached >= 0.7, f"{optimizer} reached {reached:.3f}"


def test_constrained_front_holds_only_feasible_designs(
    dse: Dse, write_space: Callable[..., Path], tmp_path: Path
) -> None:
    space = write_space("bnh", bounds=[(0, 140), (0, 50)])
    dse(*search_args(space, "bnh", 160, 20))
    records = json.loads(dse("front", "--name", "bnh", "--format", "json").stdout)
    assert len(records) >= 10
    assert all(r["g1"] <= 0 and r["g2"] <= 0 for r in records)
    infeasible = [
        t for t in read_ledger(tmp_path, "bnh") if max(t["metrics"]["g1"], t["metrics"]["g2"]) > 0
    ]
    assert infeasible, "the test needs infeasible designs to show they are kept off the front"


# nsga2 over five generations; the others over two, the second one bred (for gp, fitted)
@pytest.mark.parametrize(
    "optimizer, budget", [("nsga2", 60), ("nsga3", 20), ("gp", 20), ("tpe", 20)]
)
def test_same_seed_same_designs_with_one_or_two_workers(
    dse: Dse, write_space: Callable[..., Path], tmp_path: Path, optimizer: str, budget: int
) -> None:
    space = write_space("zdt1", n_var=4)
    population = "12" if optimizer == "nsga2" else "10"  # gp fits once 10 designs are known
    common = ["--budget", str(budget), "--population", population, "--seed", "3", "--quiet"]
    common += ["--optimizer", optimizer]
    dse("search", str(space), "--name", "one", "--workers", "1", *common)
    dse("search", str(space), "--name", "two", "--workers", "2", *common)
    one, two = read_ledger(tmp_path, "one"), read_ledger(tmp_path, "two")
    assert len(one) == budget
    assert [t["params"] for t in one] == [t["params"] for t in two]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 40-design ZDT1 search named ``small`` (4 generations of 10)."""
    root = tmp_path_factory.mktemp("small")
    space = write_problem_space(root / "zdt1.yaml", "zdt1", bounds=[(0, 1), (0, 1)], n_var=3)
    run_dse(root, *search_args(space, "small", 40, 10))
    return root


def test_mlflow_layout(small: Path) -> None:
    assert not (small / "mlruns").exists()
    client = MlflowClient(f"sqlite:///{small}/runs/mlflow.db")
    experiment = client.get_experiment_by_name("small")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("dse.role") == "search"]
    children = [r for r in runs if "dse.trial" in r.data.tags]
    assert len(parents) == 1 and len(children) == 40
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert {"optimizer", "budget", "seed", "code_version", "space"} <= set(parent.data.params)
    assert parent.data.params["optimizer"] == "tpe"  # the default at this budget
    steps = client.get_metric_history(parent.info.run_id, "hypervolume")
    assert [m.step for m in steps] == [0, 1, 2, 3]
    assert len(client.get_metric_history(parent.info.run_id, "front_size")) == 4
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    expected = {"space.yaml", "trials.csv", "front.csv", "pareto.html", "pareto.png"}
    assert expected | {"hypervolume.png"} <= artifacts
    assert Path(parent.info.artifact_uri.removeprefix("file://")).is_relative_to(small / "runs")
    front = json.loads(run_dse(small, "front", "--name", "small", "--format", "json").stdout)
    pareto = {
        int(r.data.tags["dse.trial"]) for r in children if r.data.tags["dse.pareto"] == "true"
    }
    assert pareto == {r["trial"] for r in front}
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert {"x0", "x1", "x2"} <= set(child.data.params)
        assert {"f1", "f2"} <= set(child.data.metrics)


def test_front_export_and_evaluate(small: Path) -> None:
    assert "Pareto front of zdt1" in run_dse(small, "front", "--name", "small").stdout
    csv_lines = run_dse(small, "front", "--name", "small", "--format", "csv").stdout.splitlines()
    assert csv_lines[0].startswith("trial,f1,f2")
    front = json.loads(run_dse(small, "front", "--format", "json").stdout)  # the latest search
    best_f1 = min(front, key=lambda r: r["f1"])
    run_dse(small, "export", "--name", "small", "--pick", "min-f1", "--out", "chosen")
    assert f"trial: {best_f1['trial']}" in (small / "chosen" / "design.yaml").read_text()
    run_dse(small, "export", "--name", "small", "--pick", "knee", "--out", "knee")
    metrics = json.loads(run_dse(small, "evaluate", "knee/design.yaml", "--json").stdout)
    design = yaml.safe_load((small / "knee" / "design.yaml").read_text())
    assert metrics == pytest.approx(design["metrics"])
    assert design["provenance"]["search"] == "small"
    assert design["provenance"]["mlflow_run_id"]
    assert design["provenance"]["weights"] == "search"  # not verified
    bad = run_dse(small, "export", "--name", "small", "--pick", "best", "--out", "x", check=False)
    assert (
        bad.returncode == 2
        and "--pick 'best': use knee, max-<metric> or min-<metric>" in bad.stderr
    )


def test_progress_off_a_terminal_is_one_line_per_generation(
    dse: Dse, write_space: Callable[..., Path]
) -> None:
    space = write_space("zdt1", n_var=3)
    args = ["search", str(space), "--name", "logged", "--budget", "30", "--population", "10"]
    stderr = dse(*args, "--workers", "2").stderr  # a pipe, as a log file or a CI job is
    lines = stderr.splitlines()
    assert len(lines) == 3, stderr
    for generation, line in enumerate(lines):
        pattern = rf"logged: generation {generation} done, {10 * (generation + 1)}/30 designs "
        assert re.match(pattern + r"\(0 failed\), front \d+, HV \d\.\d{4}, [\d.]+ s", line), line
    assert "\x1b" not in stderr and "\r" not in stderr  # no terminal control codes
