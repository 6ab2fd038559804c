"""Training-time augmentation for segmentation: flip, scale + crop, colour jitter.

The geometric part is one affine warp per image (``affine_grid`` + ``grid_sample``) applied to the
whole batch at once: bilinear for images, nearest for labels, so image and label stay aligned
pixel for pixel. Where zooming out leaves the frame uncovered, images get black and labels get
the ignore index, so the loss never learns from padding. All randomness comes from the caller's
``torch.Generator``, so a training run is repeatable from its seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from evaluators.data.dataset import IGNORE_INDEX


@dataclass(frozen=True)
class Augmentation:
    """Ranges of the random transforms; zero / (1, 1) switches one off."""

    flip_prob: float = 0.5
    scale: tuple[float, float] = (0.75, 1.5)  # > 1 zooms in (crop), < 1 zooms out (pad)
    brightness: float = 0.2  # factor drawn from 1 ± brightness
    contrast: float = 0.2
    saturation: float = 0.2


def augment_batch(
    images: Tensor,
    labels: Tensor,
    generator: torch.Generator,
    config: Augmentation = Augmentation(),
    ignore_index: int = IGNORE_INDEX,
) -> tuple[Tensor, Tensor]:
    """Augment float ``N x 3 x H x W`` images in [0, 1] and ``N x H x W`` integer labels."""
    images = _jitter_colour(images, generator, config)
    theta = _random_affine(images.shape[0], generator, config).to(images.device)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    warped = F.grid_sample(images, grid, mode="bilinear", align_corners=False)
    # Labels shifted by one so that zero padding marks "outside the frame".
    shifted = (labels.to(images.dtype) + 1)[:, None]
    sampled = F.grid_sample(shifted, grid, mode="nearest", align_corners=False)[:, 0].long() - 1
    return warped, torch.where(sampled < 0, ignore_index, sampled).to(labels.dtype)


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def _random_affine(n: int, generator: torch.Generator, config: Augmentation) -> Tensor:
    """``n x 2 x 3`` output→input maps: zoom by s, mirror, and shift within the free margin."""
    zoom = _uniform(n, *config.scale, generator)
    flip = torch.where(torch.rand(n, generator=generator) < config.flip_prob, -1.0, 1.0)
    margin = (1 - 1 / zoom).abs()  # normalised coordinates: the frame spans [-1, 1]
    shift = (2 * torch.rand(n, 2, generator=generator) - 1) * margin[:, None]
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = flip / zoom
    theta[:, 1, 1] = 1 / zoom
    theta[:, :, 2] = shift
    return theta


def _jitter_colour(images: Tensor, generator: torch.Generator, config: Augmentation) -> Tensor:
    """Brightness, contrast and saturation factors per image, clamped back into [0, 1]."""
    n = images.shape[0]
    factors = [
        _uniform(n, 1 - amount, 1 + amount, generator).to(images.device).view(n, 1, 1, 1)
        for amount in (config.brightness, config.contrast, config.saturation)
    ]
    brightness, contrast, saturation = factors
    images = images * brightness
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    images = (images - mean) * contrast + mean
    grey = images.mean(dim=1, keepdim=True)
    images = (images - grey) * saturation + grey
    return images.clamp(0.0, 1.0)
