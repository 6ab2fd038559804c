"""Running the real command line and the servers it talks to, from tests."""

from __future__ import annotations

import ctypes
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
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PR_SET_PDEATHSIG = 1  # prctl(2)
TEST_TARGETS = "tests.support.problems:*"  # the test evaluators, allowed as a user allows theirs


def dse_env(**extra: str) -> dict[str, str]:
    """Environment for a ``dse`` subprocess: test evaluators importable and allowed, no progress
    bar noise."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["DSE_ALLOWED_TARGETS"] = TEST_TARGETS
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(extra)
    return env


def run_dse(
    cwd: Path,
    *args: str,
    check: bool = True,
    timeout: float = 900,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m dse ARGS`` in ``cwd`` (``env`` added to :func:`dse_env`'s); with
    ``check``, fail with its output if it fails."""
    result = subprocess.run(
        [sys.executable, "-m", "dse", *args],
        cwd=cwd,
        env=dse_env(**(env or {})),
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


def start_dse(cwd: Path, *args: str, **popen: Any) -> subprocess.Popen[str]:
    """Start ``python -m dse ARGS`` in ``cwd`` and return at once (to stop it, or run two at a
    time); its output goes nowhere unless ``popen`` says where."""
    streams = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, **popen}
    command = [sys.executable, "-m", "dse", *args]
    return subprocess.Popen(command, cwd=cwd, env=dse_env(), text=True, **streams)


def wait_for_designs(root: Path, name: str, search: subprocess.Popen[str], designs: int) -> None:
    """Wait until the ledger of search ``name`` under ``root`` holds ``designs`` lines; fail when
    the search ends or stalls first."""
    path = root / "runs" / "searches" / name / "ledger.jsonl"
    deadline = time.monotonic() + 300
    while not (path.exists() and path.read_text().count("\n") >= designs):
        if search.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(
                f"search {name!r} ended or stalled before {designs} designs: {search.poll()}"
            )
        time.sleep(0.05)


def read_ledger(root: Path, name: str) -> list[dict[str, Any]]:
    """The finished designs of search ``name`` under ``root/runs``, in trial order."""
    lines = (root / "runs" / "searches" / name / "ledger.jsonl").read_text().splitlines()
    return sorted((json.loads(line) for line in lines if line.endswith("}")), key=_number)


def _number(trial: dict[str, Any]) -> int:
    return int(trial["number"])


def search_args(
    space: Path, name: str, budget: int, population: int = 10, *extra: str, workers: int = 2
) -> list[str]:
    """Arguments of a quiet ``dse search`` on two Ray workers (``workers`` 0: in its own
    process, for tests of the search itself rather than of Ray)."""
    return [
        "search",
        str(space),
        "--name",
        name,
        "--quiet",
        "--budget",
        str(budget),
        "--population",
        str(population),
        "--workers",
        str(workers),
        *extra,
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(
    command: list[str], url: str, cwd: Path | None = None, output: Path | None = None
) -> Iterator[str]:
    """Run a server (an MLflow server or ``dse ui``) until the block ends, its stdout into
    ``output`` when given; yield its URL once ``/health`` answers."""
    with (output or Path(os.devnull)).open("w") as stdout:
        server = subprocess.Popen(
            command,
            cwd=cwd,
            env=dse_env(),
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        try:
            _wait_healthy(url, server)
            yield url
        finally:  # killed outright: a graceful shutdown takes seconds, and nothing needs it
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=60)


def _wait_healthy(url: str, server: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the server at {url} did not come up")
        time.sleep(0.5)


def rest(url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call MLflow's REST API: POST with a JSON body, or GET when there is none."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{url}/api/2.0/mlflow/{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def die_with_parent() -> None:
    """In a child before ``exec``: the kernel kills it when the tests' process ends, however it
    ends (a cancelled CI job, ``kill -9``), so no cluster outlives the session (Linux only)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@contextmanager
def ray_head(num_cpus: int) -> Iterator[str]:
    """A Ray head started apart with ``ray start --head`` on loopback, as a user starts a
    cluster; yields its address. It runs with ``--block`` in its own process group, which is
    what the block ends by killing, as ``ray stop --force`` would (which kills every Ray on the
    machine, a user's too)."""
    ray = str(Path(sys.executable).with_name("ray"))
    port = free_port()
    temp_dir = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # socket paths must stay short
    env = dse_env(RAY_DISABLE_USAGE_STATS="1", RAY_AUTH_MODE="disabled")
    env.pop("RAY_ADDRESS", None)
    command = [ray, "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1"]
    command += [f"--num-cpus={num_cpus}", "--include-dashboard=false", f"--temp-dir={temp_dir}"]
    log = temp_dir / "start.log"
    with log.open("w") as output:
        head = subprocess.Popen(
            command,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    try:
        deadline = time.monotonic() + 180
        while "Ray runtime started" not in log.read_text():
            if head.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"ray start failed:\n{log.read_text()}")
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        with suppress(ProcessLookupError):  # a head that failed to start is gone
            os.killpg(head.pid, signal.SIGKILL)
        head.wait(timeout=120)
        shutil.rmtree(temp_dir, ignore_errors=True)
