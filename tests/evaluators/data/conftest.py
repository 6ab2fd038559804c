"""Fixtures of the dataset tests."""

from __future__ import annotations

import pytest

from evaluators.data import SegmentationData, load_dataset


@pytest.fixture(scope="module")
def synthetic() -> SegmentationData:
    return load_dataset("synthetic", num_train=96, num_val=32, seed=3)
