"""Beyond one machine, on loopback: a Ray cluster started apart, and an MLflow tracking server
(where ``dse ui --name`` prints the search's page)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dse.runner import cluster_address
from tests.support.cli import TEST_TARGETS, free_port, read_ledger, rest, search_args, serving


def test_search_on_an_existing_ray_cluster(
    dse: Callable[..., Any],
    write_space: Callable[..., Path],
    tmp_path: Path,
    ray_cluster: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RAY_ADDRESS")  # the cluster named by the flag alone
    space = write_space("zdt1", n_var=3)
    result = dse(*search_args(space, "cluster", 20, 10, "--ray-address", ray_cluster))
    assert "20 designs (0 failed)" in result.stdout
    assert len(read_ledger(tmp_path, "cluster")) == 20


def test_a_search_joins_the_cluster_in_ray_address(
    dse: Callable[..., Any], write_space: Callable[..., Path], tmp_path: Path, ray_cluster: str
) -> None:
    """``ray job submit`` runs its command with ``RAY_ADDRESS`` set: the search joins that
    cluster rather than failing to start a local one beside it."""
    space = write_space("zdt1", n_var=3)
    dse(*search_args(space, "submitted", 10, 5), env={"RAY_ADDRESS": ray_cluster})
    assert len(read_ledger(tmp_path, "submitted")) == 10


def test_a_search_started_by_ray_job_submit_keeps_the_jobs_environment(
    dse: Callable[..., Any], write_space: Callable[..., Path], tmp_path: Path, ray_cluster: str
) -> None:
    """What ``ray job submit --runtime-env-json '{"env_vars": {...}}'`` hands its command: the
    cluster's address and the job's runtime environment, whose variables (here the allowed
    targets, as a user would pass them) the search must not set again: Ray refuses to start a
    driver whose own runtime environment repeats one of the job's keys."""
    job = {"runtime_env": {"env_vars": {"DSE_ALLOWED_TARGETS": TEST_TARGETS}}}
    env = {"RAY_ADDRESS": ray_cluster, "RAY_JOB_CONFIG_JSON_ENV_VAR": json.dumps(job)}
    space = write_space("zdt1", n_var=3)
    dse(*search_args(space, "job", 6, 3), env=env)
    assert len(read_ledger(tmp_path, "job")) == 6


@pytest.mark.parametrize("value", ["", "  ", "local"])
def test_ray_address_local_or_blank_means_a_cluster_of_the_search(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ray's own meanings: a new local cluster, which the search keeps on loopback."""
    monkeypatch.setenv("RAY_ADDRESS", value)
    assert cluster_address(None) is None
    assert cluster_address("10.0.0.2:6379") == "10.0.0.2:6379"  # the flag wins


def test_workers_of_a_cluster_started_apart_find_what_prepare_cached(
    dse: Callable[..., Any], write_space: Callable[..., Path], tmp_path: Path, ray_cluster: str
) -> None:
    """Their working directory is the cluster's, not the driver's: the cache directory reaches
    ``prepare`` absolute, so the paths it hands on resolve on every worker."""
    target, options = "tests.support.problems:CachedShift", {"problem": "zdt1", "n_var": 3}
    space = write_space("zdt1", target=target, options=options, n_var=3)
    dse(*search_args(space, "cached", 6, 3), env={"RAY_ADDRESS": ray_cluster})
    assert len(read_ledger(tmp_path, "cached")) == 6


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    """An ``mlflow server`` with its own SQLite store and artifact root; stopped afterwards."""
    port, store = free_port(), tmp_path / "server"
    store.mkdir()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--backend-store-uri", f"sqlite:///{store}/mlflow.db", "--workers", "1"]
    command += ["--artifacts-destination", str(store / "artifacts")]
    with serving(command, f"http://127.0.0.1:{port}") as url:
        yield url


@pytest.mark.fresh_store
def test_search_tracked_on_an_mlflow_server(
    dse: Callable[..., Any], write_space: Callable[..., Path], tmp_path: Path, mlflow_server: str
) -> None:
    space = write_space("zdt1", n_var=3, bounds=[(0, 1), (0, 1)])
    dse(*search_args(space, "served", 20, 10, "--tracking-uri", mlflow_server))
    assert not (tmp_path / "runs" / "mlflow.db").exists()
    experiment = rest(mlflow_server, "experiments/get-by-name?experiment_name=served")
    experiment_id = experiment["experiment"]["experiment_id"]
    runs = rest(
        mlflow_server, "runs/search", {"experiment_ids": [experiment_id], "max_results": 100}
    )
    children = [r for r in runs["runs"] if any(t["key"] == "dse.trial" for t in r["data"]["tags"])]
    assert len(children) == 20
    front = dse("front", "--name", "served", "--format", "json", "--tracking-uri", mlflow_server)
    assert json.loads(front.stdout)
    # On a server, `dse ui --name` prints the search's runs page there.
    page = dse("ui", "--name", "served", "--tracking-uri", mlflow_server).stdout.strip()
    assert page == (
        f"{mlflow_server}/#/experiments/{experiment_id}/runs"
        "?viewStateShareKey=dse-pareto&workflowType=machine_learning"
    )
    tags = {t["key"]: t["value"] for t in experiment["experiment"]["tags"]}
    view = json.loads(json.loads(tags["mlflow.sharedViewState.dse-pareto"])["state"])
    assert view["selectedColumns"][:2] == ["metrics.`f1`", "metrics.`f2`"]
    assert tags["mlflow.experimentKind"] == "custom_model_development"
