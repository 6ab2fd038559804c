"""End-to-end searches through the command line: real Ray, real SQLite MLflow, real ledgers.

Budgets and thresholds are stated here and in ``benchmarks/RESULTS.md``: at the budgets below,
seed 0, both NSGA-II backends reach the stated fraction of the true front's hypervolume
(normalised to [0, 1] per objective, reference point 1.1), and random search reaches less.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mlflow import MlflowClient

from dse.pareto import hypervolume
from dse.problems import true_front
from tests.engine.conftest import read_ledger

Dse = Callable[..., Any]


def front_values(dse: Dse, name: str, objectives: int) -> np.ndarray:
    records = json.loads(dse("front", "--name", name, "--format", "json").stdout)
    return np.array([[r[f"f{i + 1}"] for i in range(objectives)] for r in records])


def fraction_of_true_hypervolume(values: np.ndarray, problem: str, **options: Any) -> float:
    reference = hypervolume(true_front(problem, **options))
    return hypervolume(values) / reference


def search(dse: Dse, space: Path, name: str, *args: str) -> Any:
    return dse("search", str(space), "--name", name, "--quiet", *args)


ZDT1 = {"n_var": 5}
ZDT1_BUDGET = ["--budget", "800", "--population", "40", "--seed", "0", "--workers", "2"]
ZDT1_TARGETS = {"nsga2": 0.6, "pymoo-nsga2": 0.75}


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["nsga2", "pymoo-nsga2"])
def test_zdt1_reaches_the_true_front_and_beats_random(
    dse: Dse, write_space: Callable[..., Path], optimizer: str
) -> None:
    space = write_space("zdt1", bounds=[(0, 1), (0, 1)], **ZDT1)
    search(dse, space, "zdt1-opt", "--optimizer", optimizer, *ZDT1_BUDGET)
    search(dse, space, "zdt1-random", "--optimizer", "random", *ZDT1_BUDGET)
    reached = fraction_of_true_hypervolume(front_values(dse, "zdt1-opt", 2), "zdt1", **ZDT1)
    baseline = fraction_of_true_hypervolume(front_values(dse, "zdt1-random", 2), "zdt1", **ZDT1)
    assert reached >= ZDT1_TARGETS[optimizer], f"{optimizer} reached {reached:.3f}"
    assert reached > baseline + 0.2, f"{optimizer} {reached:.3f} vs random {baseline:.3f}"


DTLZ2 = {"n_var": 7, "n_obj": 3}


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["nsga2", "pymoo-nsga2"])
def test_dtlz2_three_objectives(dse: Dse, write_space: Callable[..., Path], optimizer: str) -> None:
    space = write_space("dtlz2", bounds=[(0, 1)] * 3, **DTLZ2)
    budget = ["--budget", "600", "--population", "40", "--seed", "0", "--workers", "2"]
    search(dse, space, "dtlz2", "--optimizer", optimizer, *budget)
    reached = fraction_of_true_hypervolume(front_values(dse, "dtlz2", 3), "dtlz2", **DTLZ2)
    assert reached >= 0.7, f"{optimizer} reached {reached:.3f}"


def test_constrained_front_holds_only_feasible_designs(
    dse: Dse, write_space: Callable[..., Path], tmp_path: Path
) -> None:
    space = write_space("bnh", bounds=[(0, 140), (0, 50)])
    search(dse, space, "bnh", "--budget", "160", "--population", "20", "--workers", "2")
    records = json.loads(dse("front", "--name", "bnh", "--format", "json").stdout)
    assert len(records) >= 10
    assert all(r["g1"] <= 0 and r["g2"] <= 0 for r in records)
    infeasible = [
        t for t in read_ledger(tmp_path, "bnh") if t["metrics"]["g1"] > 0 or t["metrics"]["g2"] > 0
    ]
    assert infeasible, "the test needs infeasible designs to show they are kept off the front"


def ledger_params(tmp_path: Path, name: str) -> list[dict[str, Any]]:
    return [t["params"] for t in read_ledger(tmp_path, name)]


@pytest.mark.parametrize("optimizer", ["nsga2", "pymoo-nsga2"])
def test_same_seed_same_designs_with_one_or_two_workers(
    dse: Dse, write_space: Callable[..., Path], tmp_path: Path, optimizer: str
) -> None:
    space = write_space("zdt1", n_var=4)
    common = ["--budget", "60", "--population", "12", "--seed", "3", "--optimizer", optimizer]
    search(dse, space, "one", "--workers", "1", *common)
    search(dse, space, "two", "--workers", "2", *common)
    one, two = ledger_params(tmp_path, "one"), ledger_params(tmp_path, "two")
    assert len(one) == 60
    assert one == two


def test_mlflow_layout(dse: Dse, write_space: Callable[..., Path], tmp_path: Path) -> None:
    space = write_space("zdt1", n_var=3, bounds=[(0, 1), (0, 1)])
    search(dse, space, "layout", "--budget", "24", "--population", "8", "--workers", "2")
    assert not (tmp_path / "mlruns").exists()
    client = MlflowClient(f"sqlite:///{tmp_path}/runs/mlflow.db")
    experiment = client.get_experiment_by_name("layout")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("dse.role") == "search"]
    children = [r for r in runs if "dse.trial" in r.data.tags]
    assert len(parents) == 1 and len(children) == 24
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert {"optimizer", "budget", "seed", "code_version", "space"} <= set(parent.data.params)
    steps = client.get_metric_history(parent.info.run_id, "hypervolume")
    assert [m.step for m in steps] == [0, 1, 2]
    assert len(client.get_metric_history(parent.info.run_id, "front_size")) == 3
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"space.yaml", "trials.csv", "front.csv", "pareto.html", "pareto.png"} <= artifacts
    assert "hypervolume.png" in artifacts
    assert Path(parent.info.artifact_uri.removeprefix("file://")).is_relative_to(tmp_path / "runs")
    front = json.loads(dse("front", "--name", "layout", "--format", "json").stdout)
    tagged = {
        int(r.data.tags["dse.trial"]) for r in children if r.data.tags["dse.pareto"] == "true"
    }
    assert tagged == {r["trial"] for r in front}
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert {"x0", "x1", "x2"} <= set(child.data.params)
        assert {"f1", "f2"} <= set(child.data.metrics)


def test_front_export_and_evaluate(
    dse: Dse, write_space: Callable[..., Path], tmp_path: Path
) -> None:
    space = write_space("zdt1", n_var=3, bounds=[(0, 1), (0, 1)])
    search(dse, space, "pick", "--budget", "40", "--population", "10", "--workers", "2")
    table = dse("front", "--name", "pick").stdout
    assert "Pareto front of zdt1" in table
    csv_lines = dse("front", "--name", "pick", "--format", "csv").stdout.splitlines()
    assert csv_lines[0].startswith("trial,f1,f2")
    front = json.loads(dse("front", "--format", "json").stdout)  # the latest search
    best_f1 = min(front, key=lambda r: r["f1"])
    dse("export", "--name", "pick", "--pick", "min-f1", "--out", "chosen")
    exported = (tmp_path / "chosen" / "design.yaml").read_text()
    assert f"trial: {best_f1['trial']}" in exported
    dse("export", "--name", "pick", "--pick", "knee", "--out", "knee")
    metrics = json.loads(dse("evaluate", "knee/design.yaml", "--json").stdout)
    design = __import__("yaml").safe_load((tmp_path / "knee" / "design.yaml").read_text())
    assert metrics == pytest.approx(design["metrics"])
    assert design["provenance"]["search"] == "pick"
    assert design["provenance"]["mlflow_run_id"]
