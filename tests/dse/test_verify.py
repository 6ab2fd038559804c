"""``dse verify``: the front re-evaluated at full fidelity, logged beside the proxy front, and
exported with the options and the scores it was verified with."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from mlflow import MlflowClient

from tests.support.cli import search_args


def test_verify_logs_both_fronts(
    dse: Callable[..., Any], write_space: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_space(
        "zdt1",
        n_var=3,
        bounds=[(0, 1), (0, 1.5)],
        target="tests.support.problems:NoisyProblem",
        options={"problem": "zdt1", "n_var": 3, "noise": 0.05},
    )
    space = yaml.safe_load(path.read_text())
    space["verify"] = {"options": {"noise": 0.0}}
    path.write_text(yaml.safe_dump(space))
    dse(*search_args(path, "proxy", 40))
    result = dse("verify", "--name", "proxy", "--top", "3", "--workers", "2")
    assert "verified 3 front designs" in result.stdout
    assert "kendall_tau_f1" in result.stdout

    client = MlflowClient(f"sqlite:///{tmp_path}/runs/mlflow.db")
    experiment = client.get_experiment_by_name("proxy")
    runs = client.search_runs([experiment.experiment_id], "tags.`dse.role` = 'verify'")
    assert len(runs) == 1
    verify = runs[0]
    assert verify.data.metrics["verified_designs"] == 3
    assert verify.data.metrics["kendall_tau_f1"] > 0.9  # f1 = x0 carries the same wobble
    assert {"proxy_hypervolume", "verified_hypervolume"} <= set(verify.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(verify.info.run_id)}
    assert {"verified_front.csv", "verify.png"} <= artifacts
    children = client.search_runs(
        [experiment.experiment_id], f"tags.mlflow.parentRunId = '{verify.info.run_id}'"
    )
    assert len(children) == 3 and all(c.data.tags["dse.verified"] == "true" for c in children)

    # A verified design exports with verify's options (the highest fidelity it reached)
    number = children[0].data.tags["dse.trial"]
    result = dse("export", "--name", "proxy", "--trial", number, "--out", str(tmp_path / "v"))
    assert "dse verify's options" in result.stdout
    exported = yaml.safe_load((tmp_path / "v" / "design.yaml").read_text())
    assert exported["evaluator"]["options"]["noise"] == 0.0
    assert exported["provenance"]["weights"] == "verify"
    verified_metrics = {c.data.tags["dse.trial"]: c.data.metrics for c in children}
    assert exported["metrics"] == verified_metrics[number]

    # --pick chooses among the verified designs, by their verified scores
    result = dse("export", "--name", "proxy", "--pick", "min-f2", "--out", str(tmp_path / "p"))
    assert "picked by the verified scores of 3 designs" in result.stdout
    best = min(verified_metrics, key=lambda n: verified_metrics[n]["f2"])
    assert f"exported trial {best} " in result.stdout
