"""evaluators.data.augment: flips, scale + crop and colour jitter keep labels aligned."""

from __future__ import annotations

import pytest
import torch

from evaluators.data import Augmentation, augment_batch

pytestmark = pytest.mark.usefixtures("one_thread")
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
