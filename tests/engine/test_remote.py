"""Beyond one machine, on loopback: a Ray cluster started apart, and an MLflow tracking server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.conftest import dse_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ray_cli() -> str:
    return str(Path(sys.executable).with_name("ray"))


@pytest.fixture
def ray_head() -> Iterator[str]:
    """A Ray head started with ``ray start --head`` on loopback; stopped afterwards."""
    port = free_port()
    temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # Ray's socket paths must stay short
    env = dse_env(RAY_DISABLE_USAGE_STATS="1", RAY_AUTH_MODE="disabled")
    started = subprocess.run(
        [
            ray_cli(),
            "start",
            "--head",
            f"--port={port}",
            "--node-ip-address=127.0.0.1",
            "--num-cpus=2",
            "--include-dashboard=false",
            f"--temp-dir={temp_dir}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert started.returncode == 0, started.stderr
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([ray_cli(), "stop", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_search_on_an_existing_ray_cluster(
    dse: Callable[..., Any], write_space: Callable[..., Path], tmp_path: Path, ray_head: str
) -> None:
    space = write_space("zdt1", n_var=3)
    result = dse(
        "search",
        str(space),
        "--name",
        "cluster",
        "--quiet",
        "--budget",
        "20",
        "--population",
        "10",
        "--workers",
        "2",
        "--ray-address",
        ray_head,
    )
    assert "20 designs (0 failed)" in result.stdout
    lines = (tmp_path / "runs/searches/cluster/ledger.jsonl").read_text().splitlines()
    assert len(lines) == 20


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    """An ``mlflow server`` with its own SQLite store and artifact root; stopped afterwards."""
    port = free_port()
    store = tmp_path / "server"
    store.mkdir()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{store}/mlflow.db",
            "--artifacts-destination",
            str(store / "artifacts"),
            "--workers",
            "1",
        ],
        env=dse_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("mlflow server did not come up")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def rest(url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call MLflow's REST API: POST with a JSON body, or GET when there is none."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{url}/api/2.0/mlflow/{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_search_tracked_on_an_mlflow_server(
    dse: Callable[..., Any], write_space: Callable[..., Path], tmp_path: Path, mlflow_server: str
) -> None:
    space = write_space("zdt1", n_var=3, bounds=[(0, 1), (0, 1)])
    dse(
        "search",
        str(space),
        "--name",
        "served",
        "--quiet",
        "--budget",
        "20",
        "--population",
        "10",
        "--workers",
        "2",
        "--tracking-uri",
        mlflow_server,
    )
    assert not (tmp_path / "runs" / "mlflow.db").exists()
    experiment = rest(mlflow_server, "experiments/get-by-name?experiment_name=served")
    experiment_id = experiment["experiment"]["experiment_id"]
    runs = rest(
        mlflow_server, "runs/search", {"experiment_ids": [experiment_id], "max_results": 100}
    )
    children = [r for r in runs["runs"] if any(t["key"] == "dse.trial" for t in r["data"]["tags"])]
    assert len(children) == 20
    front = json.loads(
        dse("front", "--name", "served", "--format", "json", "--tracking-uri", mlflow_server).stdout
    )
    assert front
