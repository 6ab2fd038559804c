"""Segmentation accuracy on the photonic hardware being costed, and how to recover it.

``noisy_miou`` scores a trained network through the noise and quantization model of
:mod:`evaluators.noise`, once per simulated chip (static errors from ``chip_seed``), and reports
the mean and spread: a design is only as good as the chips it will run on. ``finetune_noise_aware``
recovers accuracy by training with the same noisy forward pass, redrawing the chip every step so
the network learns robustness to the device errors rather than to one chip
(docs/photonic-model.md §7).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import torch
from torch import nn

from evaluators.data import SegmentationData
from evaluators.noise import NoiseConfig, attach_noise, detach_noise, photonic_mode
from evaluators.training import Checkpoint, TrainResult, evaluate_miou, train

# Seeds of evaluation chips and of training chips live in disjoint ranges, so a network is
# never scored on a chip it was fine-tuned on.
EVAL_CHIP_OFFSET = 10_000
CALIBRATION_CHIP_OFFSET = 20_000
DYNAMIC_OFFSET = 1_000_000


@dataclass(frozen=True)
class NoisyScore:
    """mIoU of one network over several simulated chips."""

    samples: tuple[float, ...]

    @property
    def miou(self) -> float:
        return statistics.fmean(self.samples)

    @property
    def miou_std(self) -> float:
        return statistics.pstdev(self.samples) if len(self.samples) > 1 else 0.0


def clean_miou(model: nn.Module, data: SegmentationData, device: str = "auto") -> float:
    """mIoU of the float32 network on the validation split, no noise."""
    return evaluate_miou(
        model, data.val_images, data.val_labels, num_classes=data.num_classes, device=device
    ).miou


@torch.no_grad()
def noisy_miou(
    model: nn.Module,
    data: SegmentationData,
    noise: NoiseConfig,
    *,
    samples: int,
    seed: int,
    device: str = "auto",
) -> NoisyScore:
    """mIoU on ``samples`` chips (chip seeds derived from ``seed``), noise redrawn per pass."""
    scores = []
    for sample in range(samples):
        chip = EVAL_CHIP_OFFSET + seed * samples + sample
        with photonic_mode(model, noise, chip_seed=chip, noise_seed=DYNAMIC_OFFSET + chip):
            scores.append(clean_miou(model, data, device))
    return NoisyScore(tuple(scores))


NOISE_AWARE_MAX_GRAD_NORM = 10.0
"""Gradient norm above which noise-aware fine-tuning scales the gradient down: ~10x what healthy
CamVid designs see (0.9-1.3 over their first steps), so it only acts on an exploding estimate."""


def finetune_noise_aware(
    model: nn.Module,
    data: SegmentationData,
    noise: NoiseConfig,
    *,
    epochs: int,
    seed: int,
    lr: float = 2e-3,
    device: str = "auto",
    checkpoint: Checkpoint | None = None,
) -> TrainResult:
    """Fine-tune a float-trained network through the noisy forward pass, in place (resumable
    from ``checkpoint``, see :func:`evaluators.training.train`).

    A lower learning rate than training from scratch: the float weights are a good start, and
    the aim is to move them into the region the converters and noise leave intact.

    The gradient norm is clipped at ``NOISE_AWARE_MAX_GRAD_NORM``. The straight-through
    estimate can explode: a channel the converters quantize to nearly one value has a batch
    variance near zero, and BatchNorm's backward pass multiplies its gradient by up to
    1/sqrt(eps) ≈ 316 per layer. On a CamVid design with a 4-bit ADC summing 18 wavelengths x 6
    products, the gradient norm was 1e20-1e27 from the first step and the weights were NaN
    after one epoch, where healthy designs stay near 1 (docs/photonic-model.md §7).
    """

    def new_chip(step: int) -> None:
        attach_noise(
            model, noise, chip_seed=seed * 100_003 + step, noise_seed=DYNAMIC_OFFSET + step
        )

    try:
        return train(
            model,
            data,
            epochs=epochs,
            seed=seed,
            lr=lr,
            device=device,
            before_step=new_chip,
            max_grad_norm=NOISE_AWARE_MAX_GRAD_NORM,
            checkpoint=checkpoint,
        )
    finally:
        detach_noise(model)
