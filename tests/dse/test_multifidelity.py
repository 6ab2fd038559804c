"""Multi-fidelity search through the CLI: levels, promotion, reuse, resume, bad blocks, front."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from mlflow import MlflowClient

from dse.evaluator import ALLOW_ENV
from dse.ledger import Ledger
from dse.pareto import hypervolume, normalize, objective_matrix, pareto_front
from dse.problems import ProxyProblem
from dse.promotion import nsga_order
from dse.results import Results
from dse.search import SearchRequest, run_search
from dse.space import load_space, parse_space
from dse.trial import Trial
from tests.support.cli import REPO, TEST_TARGETS, dse_env, read_ledger, search_args

Dse = Callable[..., subprocess.CompletedProcess[str]]
PARAMS = {f"x{i}": {"type": "float", "low": 0.0, "high": 1.0} for i in range(3)}


def space_file(tmp_path: Path, name: str = "mf", **changes: Any) -> Path:
    """A two-level ZDT1 space: a biased proxy for every design, the truth for the best third."""
    log = str(tmp_path / "evaluations.log")
    document: dict[str, Any] = {
        "name": name,
        "evaluator": {
            "target": "tests.support.problems:CountedProxy",
            "options": {"problem": "zdt1", "n_var": 3, "log": log},
        },
        "fidelities": [
            {"name": "proxy", "options": {"bias": 0.8, "noise": 0.2, "tag": "proxy"}},
            {"name": "truth", "options": {"tag": "truth"}, "promote": 0.3},
        ],
        "objectives": [
            {"name": "f1", "direction": "minimize", "bounds": [0, 1]},
            {"name": "f2", "direction": "minimize", "bounds": [0, 10]},
        ],
        "params": PARAMS,
        **changes,
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def evaluations(tmp_path: Path) -> Counter[tuple[str, str]]:
    """How often each (level, design) pair was evaluated."""
    lines = (tmp_path / "evaluations.log").read_text().splitlines()
    return Counter(tuple(line.split(" ", 1)) for line in lines)  # type: ignore[misc]


def test_every_design_gets_the_proxy_and_the_promoted_ones_the_truth(
    dse: Dse, tmp_path: Path
) -> None:
    result = dse(*search_args(space_file(tmp_path), "mf", 30, 10))
    assert "search 'mf': 30 designs" in result.stdout
    ledger = read_ledger(tmp_path, "mf")
    by_level = Counter(t["fidelity"] for t in ledger)
    assert by_level == {"proxy": 30, "truth": 9}  # 3 of every generation of 10
    space = load_space(tmp_path / "mf.yaml")
    for generation in range(3):
        at = [Trial.from_json(t) for t in ledger if t["generation"] == generation]
        proxy = [t for t in at if t.fidelity == "proxy"]
        promoted = sorted(t.number for t in nsga_order(proxy, space)[:3])
        assert sorted(t.number for t in at if t.fidelity == "truth") == promoted

    front = json.loads(dse("front", "--name", "mf", "--format", "json").stdout)
    assert front and all(row["fidelity"] == "truth" for row in front)
    assert all(row["f2"] == row["truth/f2"] and "proxy/f2" in row for row in front)

    client = MlflowClient(f"sqlite:///{tmp_path}/runs/mlflow.db")
    experiment = client.get_experiment_by_name("mf")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    parent = next(r for r in runs if r.data.tags.get("dse.role") == "search")
    children = [r for r in runs if "dse.trial" in r.data.tags]
    assert len(children) == 30
    assert Counter(r.data.tags["dse.fidelity"] for r in children) == {"proxy": 21, "truth": 9}
    promoted = next(r for r in children if r.data.tags["dse.fidelity"] == "truth")
    assert {"proxy/f2", "truth/f2", "f2"} <= set(promoted.data.metrics)
    scored = client.get_metric_history(parent.info.run_id, "scored/truth")
    assert [(m.step, m.value) for m in sorted(scored, key=lambda m: m.step)] == [
        (0, 3.0), (1, 3.0), (2, 3.0),
    ]  # fmt: skip
    assert {"tau/proxy-truth/f2", "tau_total/proxy-truth/f2"} <= set(parent.data.metrics)


def test_a_design_proposed_twice_is_evaluated_once_per_level(dse: Dse, tmp_path: Path) -> None:
    grid = {f"x{i}": {"type": "categorical", "choices": [0.0, 0.5, 1.0]} for i in range(3)}
    dse(*search_args(space_file(tmp_path, params=grid), "mf", 40, 10))
    counted = evaluations(tmp_path)
    assert max(counted.values()) == 1, "a (design, level) pair ran twice"
    ledger = read_ledger(tmp_path, "mf")
    reused = [t for t in ledger if t["reused"] is not None]
    assert reused, "27 distinct designs in 40 proposals: some must repeat"
    for trial in reused:
        source = next(
            t
            for t in ledger
            if t["number"] == trial["reused"] and t["fidelity"] == trial["fidelity"]
        )
        assert source["params"] == trial["params"] and source["metrics"] == trial["metrics"]
    assert len(counted) == len(ledger) - len(reused)


def kill_mid_promotion(tmp_path: Path, process: subprocess.Popen[str], name: str) -> None:
    """SIGKILL the search once generation 1 has some, not all, of its truth results."""
    path = tmp_path / "runs" / "searches" / name / "ledger.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        lines = path.read_text().splitlines() if path.exists() else []
        if any('"generation": 1,' in line and '"fidelity": "truth"' in line for line in lines):
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return
        time.sleep(0.01)
    raise AssertionError(f"the search ended before its second promotion: {process.poll()}")


def results(tmp_path: Path, name: str) -> set[tuple[Any, ...]]:
    return {
        (t["number"], t["fidelity"], json.dumps(t["params"], sort_keys=True),
         json.dumps(t["metrics"], sort_keys=True), t["reused"])
        for t in read_ledger(tmp_path, name)
    }  # fmt: skip


def test_a_kill_in_the_middle_of_a_promotion_loses_and_repeats_nothing(
    dse: Dse, tmp_path: Path
) -> None:
    log = str(tmp_path / "evaluations.log")
    options = {"problem": "zdt1", "n_var": 3, "log": log, "delay_s": 0.25}
    target = "tests.support.problems:CountedProxy"
    space = space_file(tmp_path, evaluator={"target": target, "options": options})
    common = ["--budget", "30", "--population", "10", "--workers", "2", "--seed", "3", "--quiet"]
    dse("search", str(space), "--name", "reference", *common)
    command = [sys.executable, "-m", "dse", "search", str(space), "--name", "victim", *common]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=dse_env(), text=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    kill_mid_promotion(tmp_path, process, "victim")
    before = results(tmp_path, "victim")
    truth_in_gen1 = [r for r in before if r[1] == "truth" and 10 <= r[0] < 20]
    assert 1 <= len(truth_in_gen1) < 3, "the kill fell outside the promotion stage"
    dse("search", "--name", "victim", "--resume", "--quiet")
    assert results(tmp_path, "victim") == results(tmp_path, "reference")
    assert before <= results(tmp_path, "victim")


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ([{"name": "only", "options": {}}], "fidelities: a single level ('only')"),
        (
            [{"name": "proxy", "options": {}}, {"name": "truth", "options": {}, "promote": 0}],
            "fidelities.1 (truth).promote: Input should be greater than 0",
        ),
        (
            [{"name": "proxy", "options": {}}, {"name": "truth", "options": {}, "promote": 1.5}],
            "fidelities.1 (truth).promote: Input should be less than or equal to 1",
        ),
        (
            [{"name": "proxy", "options": {}}, {"name": "truth", "promot": 0.5}],
            "fidelities.1 (truth).promot: Extra inputs are not permitted",
        ),
        (
            [{"name": "proxy", "promote": 0.5}, {"name": "truth", "promote": 0.5}],
            "fidelities.0 (proxy): the first level scores every design",
        ),
        (
            [{"name": "proxy"}, {"name": "truth", "options": {"colour": 1}, "promote": 0.5}],
            "fidelities (truth): evaluator 'tests.support.problems:Recording': bad options: "
            "Recording.__init__() got an unexpected keyword argument 'colour'",
        ),
        (
            [{"name": "proxy"}, {"name": "truth", "options": {"problem": "zdt99"}, "count": 2}],
            "fidelities (truth): evaluator 'tests.support.problems:CountedProxy' failed to build",
        ),
    ],
)
def test_a_bad_fidelities_block_fails_before_any_work(
    dse: Dse, tmp_path: Path, levels: list[dict[str, Any]], message: str
) -> None:
    changes: dict[str, Any] = {"fidelities": levels}
    if "colour" in str(levels):  # pymoo's problems take any keyword: this evaluator does not
        options = {"log": str(tmp_path / "build.log")}
        changes["evaluator"] = {"target": "tests.support.problems:Recording", "options": options}
    result = dse(*search_args(space_file(tmp_path, **changes), "bad", 10), check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs" / "searches" / "bad").exists()


COST, TRUTH_COST = 2000, 10  # the proxy costs 1 per design, the truth 10
SEEDS = (0, 1, 2)
MARGIN = 0.15  # benchmarks/multifidelity.py, 5 seeds: median gains +0.38 (proxy), +0.31 (truth)


def true_front_hypervolume(root: Path, name: str, document: dict[str, Any]) -> float:
    """The true hypervolume of a search's final front: the designs a user is shown, scored
    with the truth, in the [0, 1]^2 bounds of ZDT1's front."""
    space = parse_space(document)
    results = Results(space.levels, Ledger(root / "runs" / "searches" / name).read_trials())
    front = pareto_front(list(results.designs().values()), space)
    truth = ProxyProblem("zdt1", n_var=5)
    scored = [Trial(t.number, 0, t.params, "complete", truth.evaluate(t.params)) for t in front]
    values = normalize(objective_matrix(scored, space), space.objectives, [(0.0, 1.0)] * 2)
    return hypervolume(values)


def test_at_one_cost_promotion_beats_either_level_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ZDT1's truth at 10x the cost of a biased, noisy proxy: the multi-fidelity search (every
    design on the proxy, a quarter on the truth) against the proxy alone and the truth alone, at
    the same total cost, on the true hypervolume of the fronts they end with. Nine searches of
    up to 2000 designs: run in this process (the CLI path is the other tests')."""
    monkeypatch.setenv(ALLOW_ENV, TEST_TARGETS)
    multi = yaml.safe_load((REPO / "search_spaces/examples/zdt1_multifidelity.yaml").read_text())
    truth = {k: v for k, v in multi.items() if k != "fidelities"}  # the evaluator's own options
    proxy = yaml.safe_load(yaml.safe_dump(truth))
    proxy["evaluator"]["options"].update(multi["fidelities"][0]["options"])
    methods = {
        "multi": (multi, COST * 2 // 7),  # a design costs 1 + 10 * 5/20 = 3.5
        "proxy": (proxy, COST),
        "truth": (truth, COST // TRUTH_COST),
    }
    volumes: dict[str, list[float]] = {method: [] for method in methods}
    for method, (document, budget) in methods.items():
        path = tmp_path / f"{method}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        for seed in SEEDS:
            name = f"{method}-{seed}"
            request = SearchRequest(
                name=name,
                space_path=path,
                budget=budget,
                population=20,
                seed=seed,
                workers=0,
                runs_dir=tmp_path / "runs",
                progress=False,
            )
            run_search(request)
            volumes[method].append(true_front_hypervolume(tmp_path, name, document))
    median = {method: float(np.median(values)) for method, values in volumes.items()}
    assert median["multi"] > median["proxy"] + MARGIN, volumes
    assert median["multi"] > median["truth"] + MARGIN, volumes
