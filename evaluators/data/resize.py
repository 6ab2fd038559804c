"""Resizing whole image and label stacks, the way the CamVid copies were made.

Images: bilinear with antialiasing (Pillow's BILINEAR filters over the full support when
shrinking; ``antialias=True`` matches that). Labels: nearest, because averaging class indices
would invent classes along boundaries.
"""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import Tensor

from evaluators.data.dataset import SegmentationData


def resize_images(images: Tensor, size: tuple[int, int]) -> Tensor:
    """uint8 ``N x H x W x 3`` → uint8 ``N x size[0] x size[1] x 3``, bilinear."""
    if tuple(images.shape[1:3]) == size:
        return images
    chw = images.permute(0, 3, 1, 2).float()
    resized = F.interpolate(chw, size=size, mode="bilinear", align_corners=False, antialias=True)
    return resized.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def resize_labels(labels: Tensor, size: tuple[int, int]) -> Tensor:
    """``N x H x W`` class indices → ``N x size[0] x size[1]``, nearest, dtype kept."""
    if tuple(labels.shape[1:3]) == size:
        return labels
    resized = F.interpolate(labels[:, None].float(), size=size, mode="nearest-exact")
    return resized[:, 0].to(labels.dtype)


def resize_data(data: SegmentationData, size: tuple[int, int]) -> SegmentationData:
    """Both splits of ``data`` at ``size`` (H, W); the same object when already that size."""
    if data.image_size == size:
        return data
    return replace(
        data,
        train_images=resize_images(data.train_images, size),
        train_labels=resize_labels(data.train_labels, size),
        val_images=resize_images(data.val_images, size),
        val_labels=resize_labels(data.val_labels, size),
    )
