"""Datasets: the synthetic generator, CamVid npz loading, the folder layout, augmentation and
one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from evaluators.data import (
    DATASETS,
    Augmentation,
    DataError,
    SegmentationData,
    augment_batch,
    load_dataset,
    to_model_input,
)
from evaluators.training import confusion_matrix, scores

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def synthetic() -> SegmentationData:
    return load_dataset("synthetic", num_train=96, num_val=32, seed=3)


def assert_one_line(error: pytest.ExceptionInfo[BaseException], *fragments: str) -> None:
    message = str(error.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# --- synthetic scenes -------------------------------------------------------------------------


def test_synthetic_layout_and_classes(synthetic: SegmentationData) -> None:
    assert synthetic.train_images.shape == (96, 64, 64, 3)
    assert synthetic.train_images.dtype == torch.uint8
    assert synthetic.val_labels.shape == (32, 64, 64)
    assert synthetic.num_classes == len(synthetic.class_names) >= 5
    counts = torch.bincount(synthetic.train_labels.flatten().long(), minlength=256)
    assert (counts[: synthetic.num_classes] > 0).all(), "every class occurs"
    assert counts[synthetic.num_classes :].sum() == 0


def test_synthetic_is_deterministic_and_seeded(synthetic: SegmentationData) -> None:
    again = load_dataset("synthetic", num_train=96, num_val=32, seed=3)
    other = load_dataset("synthetic", num_train=8, num_val=8, seed=4)
    assert torch.equal(again.train_images, synthetic.train_images)
    assert torch.equal(again.val_labels, synthetic.val_labels)
    assert not torch.equal(other.train_images, synthetic.train_images[:8])
    # More scenes append; the earlier ones stay the same.
    fewer = load_dataset("synthetic", num_train=10, num_val=5, seed=3)
    assert torch.equal(fewer.train_images, synthetic.train_images[:10])
    assert torch.equal(fewer.val_labels, synthetic.val_labels[:5])


def test_synthetic_any_image_size() -> None:
    data = load_dataset("synthetic", image_size=(48, 80), num_train=4, num_val=2)
    assert data.image_size == (48, 80)
    assert data.train_labels.shape == (4, 48, 80)


def test_colour_alone_is_not_enough(synthetic: SegmentationData) -> None:
    """The best per-pixel colour lookup (8 bins per channel, fitted on train) stays far from a
    trained network: objects share overlapping colour ranges with each other and with blobs."""
    classes = synthetic.num_classes

    def bins(images: torch.Tensor) -> torch.Tensor:
        q = images.reshape(-1, 3).long() // 32
        return q[:, 0] * 64 + q[:, 1] * 8 + q[:, 2]

    votes = torch.zeros(512, classes)
    votes.index_put_(
        (bins(synthetic.train_images), synthetic.train_labels.flatten().long()),
        torch.ones(synthetic.train_labels.numel()),
        accumulate=True,
    )
    predictions = votes.argmax(1)[bins(synthetic.val_images)]
    result = scores(confusion_matrix(predictions, synthetic.val_labels.flatten(), classes))
    assert result.miou < 0.45
    object_iou = result.per_class_iou[3:]
    assert max(object_iou) < 0.45


# --- CamVid --------------------------------------------------------------------------------


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


def test_unknown_dataset_and_bad_size() -> None:
    with pytest.raises(DataError) as error:
        load_dataset("imagenet")
    assert_one_line(error, "'imagenet'", "synthetic")
    with pytest.raises(DataError) as error:
        load_dataset("synthetic", image_size=(64,))  # type: ignore[arg-type]
    assert_one_line(error, "image_size")
    assert {"synthetic", "camvid", "folder"} <= set(DATASETS)


def test_subset_larger_than_the_split(camvid_root: Path) -> None:
    with pytest.raises(DataError) as error:
        load_dataset("camvid", data_root=camvid_root, num_val=500)
    assert_one_line(error, "500 val images", "101")


# --- folder layout -------------------------------------------------------------------------


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


# --- augmentation ---------------------------------------------------------------------------


PALETTE = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])


def blocky_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Labels in 8x8 blocks; each image pixel has its class's palette colour."""
    generator = torch.Generator().manual_seed(0)
    coarse = torch.randint(0, 4, (6, 4, 4), generator=generator)
    labels = coarse.repeat_interleave(8, 1).repeat_interleave(8, 2)
    return PALETTE[labels].permute(0, 3, 1, 2).contiguous(), labels


def test_flip_only_is_exact() -> None:
    images, labels = blocky_batch()
    config = Augmentation(flip_prob=1.0, scale=(1.0, 1.0), brightness=0, contrast=0, saturation=0)
    out_images, out_labels = augment_batch(images, labels, torch.Generator(), config)
    torch.testing.assert_close(out_images, images.flip(-1))
    assert torch.equal(out_labels, labels.flip(-1))


def test_augmentation_keeps_labels_aligned_and_pads_with_ignore() -> None:
    images, labels = blocky_batch()
    config = Augmentation(scale=(0.6, 1.6), brightness=0, contrast=0, saturation=0)
    out_images, out_labels = augment_batch(images, labels, torch.Generator().manual_seed(1), config)
    assert out_labels.dtype == labels.dtype and out_images.shape == images.shape
    valid = out_labels != 255
    colours = out_images.permute(0, 2, 3, 1)[valid]
    nearest = torch.cdist(colours, PALETTE).argmin(dim=1)  # bilinear blends only at boundaries
    assert (nearest == out_labels[valid]).float().mean() > 0.98, "labels follow their pixels"
    padded = ~valid
    assert padded.any(), "zooming out to 0.6 leaves uncovered, ignored borders"
    assert out_images.permute(0, 2, 3, 1)[padded].abs().max() < 0.5


def test_augmentation_is_seeded() -> None:
    images, labels = blocky_batch()
    first = augment_batch(images, labels, torch.Generator().manual_seed(5))
    second = augment_batch(images, labels, torch.Generator().manual_seed(5))
    third = augment_batch(images, labels, torch.Generator().manual_seed(6))
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert not torch.equal(first[0], third[0])
    assert float(first[0].min()) >= 0 and float(first[0].max()) <= 1


def test_to_model_input(synthetic: SegmentationData) -> None:
    batch = to_model_input(synthetic.val_images[:2])
    assert batch.shape == (2, 3, 64, 64) and batch.dtype == torch.float32
    assert float(batch.max()) <= 1.0
    assert to_model_input(batch) is batch
