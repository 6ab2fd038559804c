"""evaluators.data.camvid: the npz copies, resized and subset, and one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from evaluators.data import DataError, load_dataset
from tests.support.data import assert_one_line

pytestmark = pytest.mark.usefixtures("one_thread")


def test_camvid_exact_file(camvid_root: Path) -> None:
    data = load_dataset("camvid", data_root=camvid_root, image_size=(96, 128))
    assert data.train_images.shape == (367, 96, 128, 3)
    assert data.val_labels.shape == (101, 96, 128)
    assert data.num_classes == 11 and data.ignore_index == 255
    values = set(torch.unique(data.val_labels).tolist())
    assert values <= set(range(11)) | {255}
    assert data.source.endswith("camvid_96x128.npz")


def test_camvid_resizes_the_nearest_larger_file(camvid_root: Path) -> None:
    data = load_dataset(
        "camvid", data_root=camvid_root, image_size=(64, 96), num_train=12, num_val=6, seed=1
    )
    assert data.source.endswith("camvid_96x128.npz")
    assert data.train_images.shape == (12, 64, 96, 3)
    assert set(torch.unique(data.train_labels).tolist()) <= set(range(11)) | {255}
    # A seeded subset: the same seed picks the same frames.
    again = load_dataset(
        "camvid", data_root=camvid_root, image_size=(64, 96), num_train=12, num_val=6, seed=1
    )
    assert torch.equal(again.train_images, data.train_images)


def write_npz(path: Path, **overrides: np.ndarray) -> Path:
    arrays: dict[str, Any] = {
        "train_images": np.zeros((4, 16, 16, 3), np.uint8),
        "train_labels": np.zeros((4, 16, 16), np.uint8),
        "val_images": np.zeros((2, 16, 16, 3), np.uint8),
        "val_labels": np.full((2, 16, 16), 255, np.uint8),
    }
    arrays.update(overrides)
    path.mkdir(parents=True, exist_ok=True)
    np.savez(path / "camvid_16x16.npz", **{k: v for k, v in arrays.items() if v.size})
    return path


def test_camvid_missing_path(tmp_path: Path) -> None:
    with pytest.raises(DataError) as error:
        load_dataset("camvid", data_root=tmp_path / "nowhere")
    assert_one_line(error, "nowhere", "not found")


def test_camvid_missing_array(tmp_path: Path) -> None:
    root = write_npz(tmp_path, val_labels=np.zeros(0, np.uint8))
    with pytest.raises(DataError) as error:
        load_dataset("camvid", data_root=root, image_size=(16, 16))
    assert_one_line(error, "camvid_16x16.npz", "'val_labels'")


@pytest.mark.parametrize(
    ("key", "array", "fragment"),
    [
        ("train_images", np.zeros((4, 16, 16), np.uint8), "train_images has shape (4, 16, 16)"),
        ("val_labels", np.zeros((2, 16, 8), np.uint8), "val_labels has shape (2, 16, 8)"),
        ("train_images", np.zeros((4, 16, 16, 3), np.float32), "dtype torch.float32"),
    ],
)
def test_camvid_wrong_arrays(tmp_path: Path, key: str, array: np.ndarray, fragment: str) -> None:
    root = write_npz(tmp_path, **{key: array})
    with pytest.raises(DataError) as error:
        load_dataset("camvid", data_root=root, image_size=(16, 16))
    assert_one_line(error, "camvid_16x16.npz", fragment)


def test_camvid_labels_out_of_range(tmp_path: Path) -> None:
    labels = np.zeros((4, 16, 16), np.uint8)
    labels[2, 3, 4] = 11
    root = write_npz(tmp_path, train_labels=labels)
    with pytest.raises(DataError) as error:
        load_dataset("camvid", data_root=root, image_size=(16, 16))
    assert_one_line(error, "train_labels holds value 11", "0..10")
