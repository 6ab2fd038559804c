"""What a search exposes and what a received file can run: a local Ray cluster listens on
loopback only, with Ray's token authentication on, and an evaluator target outside the allow-list
is never imported, through every command that reads one from a file."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.dse.test_bad_input import one_line_error
from tests.support.cli import (
    dse_env,
    read_ledger,
    run_dse,
    search_args,
    start_dse,
    wait_for_designs,
)

Dse = Callable[..., Any]
LOOPBACK = re.compile(r"^(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]|\[::1\]):\d+$")


def descendants(pid: int) -> set[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    table = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True)
    for line in table.stdout.splitlines():
        child, parent = map(int, line.split())
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        found.add(todo[-1])
        todo += children.get(todo.pop(), [])
    return found


def listening(pids: set[int]) -> list[tuple[str, str, int]]:
    """(local address, process name, pid) of every TCP or UDP socket ``pids`` listen on."""
    sockets = subprocess.run(["ss", "-ltunpH"], capture_output=True, text=True).stdout
    found = []
    for line in sockets.splitlines():
        for name, pid in re.findall(r'"([^"]+)",pid=(\d+)', line):
            if int(pid) in pids:
                found.append((line.split()[4], name, int(pid)))
    return found


@pytest.mark.own_ray
def test_a_local_cluster_listens_on_loopback_with_ray_auth(
    slow_space: Path, tmp_path: Path
) -> None:
    search = start_dse(tmp_path, *search_args(slow_space, "open", 40))
    try:
        wait_for_designs(tmp_path, "open", search, 2)  # Ray and its workers are up
        sockets = listening(descendants(search.pid))
        ray = {pid for _, name, pid in sockets if name in ("gcs_server", "raylet")}
        modes = {_environment(pid).get("RAY_AUTH_MODE") for pid in ray}
    finally:
        search.kill()
        search.wait()
    assert {"gcs_server", "raylet"} <= {name for _, name, _ in sockets}, sockets
    assert all(LOOPBACK.match(address) for address, _, _ in sockets), sockets
    assert modes == {"token"}, modes  # Ray's default for a new local cluster, not switched off


def _environment(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:  # the process ended
        return {}
    pairs = (item.decode(errors="replace").partition("=") for item in raw.split(b"\0") if item)
    return {key: value for key, _, value in pairs}


PLANTED = """
from pathlib import Path

Path({marker!r}).write_text("imported")


class Evaluator:
    def evaluate(self, params):
        return {{"f1": params["x0"], "f2": 1 - params["x0"]}}
"""


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A module ``planted`` in the working directory (importable by ``python -m dse``) that
    writes the file it returns when imported."""
    marker = tmp_path / "planted-ran"
    (tmp_path / "planted.py").write_text(PLANTED.format(marker=str(marker)))
    return marker


def system_evaluator(marker: Path) -> dict[str, Any]:
    """An evaluator block that would run a shell command writing ``marker``."""
    return {"target": "os:system", "options": {"command": f"touch {marker}"}}


@pytest.mark.parametrize("target", ["os:system", "planted:Evaluator"])
def test_a_space_cannot_name_code_outside_the_allow_list(
    dse: Dse, write_space: Callable[..., Path], tmp_path: Path, planted: Path, target: str
) -> None:
    marker = tmp_path / "pwned"
    options = system_evaluator(marker)["options"] if target == "os:system" else {}
    space = write_space("zdt1", n_var=3, target=target, options=options)
    line = one_line_error(dse(*search_args(space, "x", 4), check=False))
    assert f"evaluator {target!r} is not allowed" in line and "--allow-target" in line
    assert not marker.exists() and not planted.exists()


def test_a_design_file_cannot_name_code_outside_the_allow_list(
    dse: Dse, tmp_path: Path, planted: Path
) -> None:
    marker = tmp_path / "pwned"
    design = tmp_path / "design.yaml"
    design.write_text(yaml.safe_dump({"evaluator": system_evaluator(marker), "params": {"x0": 1}}))
    line = one_line_error(dse("evaluate", str(design), check=False))
    assert "'os:system' is not allowed" in line
    assert not marker.exists()

    design.write_text(
        yaml.safe_dump({"evaluator": {"target": "planted:Evaluator"}, "params": {"x0": 0.25}})
    )
    one_line_error(dse("evaluate", str(design), check=False))
    assert not planted.exists()
    allowed = dse("evaluate", str(design), "--json", "--allow-target", "planted:Evaluator")
    assert '"f1": 0.25' in allowed.stdout and planted.exists()


def test_a_stored_space_cannot_make_export_run_code(
    dse: Dse, write_space: Callable[..., Path], tmp_path: Path
) -> None:
    dse(*search_args(write_space("zdt1", n_var=3), "shared", 10))
    (stored,) = (tmp_path / "runs" / "artifacts" / "shared").glob("*/artifacts/space.yaml")
    marker = tmp_path / "pwned"
    space = yaml.safe_load(stored.read_text())
    stored.write_text(yaml.safe_dump({**space, "evaluator": system_evaluator(marker)}))
    out = tmp_path / "out"
    line = one_line_error(
        dse("export", "--name", "shared", "--trial", "0", "--out", "out", check=False)
    )
    assert "'os:system' is not allowed" in line
    assert not marker.exists() and not (out / "design.yaml").exists()


def test_targets_allowed_by_the_environment_or_an_entry_point(
    tmp_path: Path, planted: Path
) -> None:
    design = tmp_path / "design.yaml"
    design.write_text(
        yaml.safe_dump({"evaluator": {"target": "planted:Evaluator"}, "params": {"x0": 0.5}})
    )
    by_env = run_dse(tmp_path, "evaluate", str(design), env={"DSE_ALLOWED_TARGETS": "planted:*"})
    assert "f1" in by_env.stdout and planted.exists()
    planted.unlink()
    # An installed package registers its evaluator: a distribution's entry_points.txt.
    site = tmp_path / "site"
    info = site / "planted_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: planted-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[dse.evaluators]\nplanted = planted:Evaluator\n")
    path = f"{site}:{dse_env()['PYTHONPATH']}"
    by_plugin = run_dse(tmp_path, "evaluate", str(design), env={"PYTHONPATH": path})
    assert "f1" in by_plugin.stdout and planted.exists()


def test_allowed_targets_reach_the_workers(
    dse: Dse, write_space: Callable[..., Path], tmp_path: Path, planted: Path
) -> None:
    space = write_space("zdt1", n_var=3, target="planted:Evaluator")
    dse(*search_args(space, "plugin", 10, 5, "--allow-target", "planted:Evaluator"))
    assert len(read_ledger(tmp_path, "plugin")) == 10
    assert all(t["status"] == "complete" for t in read_ledger(tmp_path, "plugin"))
