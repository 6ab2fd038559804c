"""evaluators.data.dataset: subsets of a split and the model's input tensor."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from evaluators.data import DataError, SegmentationData, load_dataset, to_model_input
from tests.support.data import assert_one_line

pytestmark = pytest.mark.usefixtures("one_thread")


def test_subset_larger_than_the_split(camvid_root: Path) -> None:
    with pytest.raises(DataError) as error:
        load_dataset("camvid", data_root=camvid_root, num_val=500)
    assert_one_line(error, "500 val images", "101")


def test_to_model_input(synthetic: SegmentationData) -> None:
    batch = to_model_input(synthetic.val_images[:2])
    assert batch.shape == (2, 3, 64, 64) and batch.dtype == torch.float32
    assert float(batch.max()) <= 1.0
    assert to_model_input(batch) is batch
