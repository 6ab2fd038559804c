"""Fixtures shared by the test suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.support.cli import TEST_TARGETS, ray_head

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def allowed_test_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that build the test evaluators in-process allow them, as ``dse_env`` does."""
    monkeypatch.setenv("DSE_ALLOWED_TARGETS", TEST_TARGETS)


@pytest.fixture(scope="session")
def camvid_root() -> Path:
    """The CamVid npz directory: ``$DSE_CAMVID_ROOT``, else ``../shared/data/camvid`` from the
    repository root. The data is never copied into the repository, so tests skip without it."""
    env = os.environ.get("DSE_CAMVID_ROOT")
    root = Path(env) if env else REPO_ROOT.parent / "shared" / "data" / "camvid"
    if not any(root.glob("camvid_*x*.npz")):
        pytest.skip(f"CamVid data not found in {root} (set DSE_CAMVID_ROOT to its directory)")
    return root


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Run on one CPU thread: small tensors gain nothing from more, and the cores are shared."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session", autouse=True)
def ray_cluster() -> Iterator[str]:
    """One Ray cluster for the session, started apart as a user starts one: every search of the
    tests joins it through ``RAY_ADDRESS`` (which the ``dse`` subprocesses inherit) instead of
    starting its own (seconds apiece). Set for the whole session, before any module's fixtures
    run their searches, and over any address of the shell that runs the tests. Logical CPUs to
    spare, for the tests that run two searches at once."""
    with ray_head(num_cpus=8) as address, pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_ADDRESS", address)
        yield address


@pytest.fixture(autouse=True)
def own_ray(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test marked ``own_ray`` is about a cluster of its own: no ``RAY_ADDRESS``."""
    if request.node.get_closest_marker("own_ray") is not None:
        monkeypatch.delenv("RAY_ADDRESS", raising=False)
