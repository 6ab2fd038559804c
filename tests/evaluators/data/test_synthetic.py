"""evaluators.data.synthetic: the seeded street scenes, any size, not colour-separable."""

from __future__ import annotations

import pytest
import torch

from evaluators.data import SegmentationData, load_dataset
from evaluators.training import confusion_matrix, scores

pytestmark = pytest.mark.usefixtures("one_thread")


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
