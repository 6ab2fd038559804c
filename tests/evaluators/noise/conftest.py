"""Fixtures of the photonic-noise tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_thread: None) -> None:
    """Every noise test runs on one CPU thread (small tensors gain nothing from more)."""
