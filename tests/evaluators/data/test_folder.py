"""evaluators.data.folder: a plain folder of PNG files, and its one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from evaluators.data import DataError, load_dataset
from tests.support.data import assert_one_line

pytestmark = pytest.mark.usefixtures("one_thread")


def write_folder(root: Path, label_value: int = 2, classes: str | None = None) -> Path:
    rng = np.random.default_rng(0)
    for split, count in (("train", 3), ("val", 2)):
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir(parents=True)
        for index in range(count):
            size = (20, 30) if index == 0 else (40, 60)  # mixed sizes are resized
            image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            label = np.zeros(size, np.uint8)
            label[: size[0] // 2] = label_value
            label[-1] = 255
            Image.fromarray(image).save(root / split / "images" / f"f{index}.png")
            Image.fromarray(label, mode="L").save(root / split / "labels" / f"f{index}.png")
    if classes is not None:
        (root / "classes.txt").write_text(classes)
    return root


def test_folder_layout(tmp_path: Path) -> None:
    data = load_dataset("folder", data_root=write_folder(tmp_path))
    assert data.image_size == (20, 30)  # the first train image's size
    assert data.train_images.shape == (3, 20, 30, 3)
    assert data.class_names == ("class_0", "class_1", "class_2")
    assert set(torch.unique(data.val_labels).tolist()) == {0, 2, 255}
    named = load_dataset(
        "folder", data_root=write_folder(tmp_path / "b", classes="a\nb\nc\nd\n"), image_size=(8, 8)
    )
    assert named.class_names == ("a", "b", "c", "d")
    assert named.val_labels.shape == (2, 8, 8)


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError) as error:
        load_dataset("folder", data_root=tmp_path / "missing")
    assert_one_line(error, "missing")
    root = write_folder(tmp_path / "bad", label_value=7, classes="a\nb\nc\n")
    with pytest.raises(DataError) as error:
        load_dataset("folder", data_root=root)
    assert_one_line(error, "holds value 7", "0..2")
    (root / "val" / "labels" / "f1.png").unlink()
    with pytest.raises(DataError) as error:
        load_dataset("folder", data_root=root)
    assert_one_line(error, "no label", "f1.png")
