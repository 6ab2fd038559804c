"""Helpers of the photonic-noise tests: the ideal config, small models, a no-grad run."""

from __future__ import annotations

import torch
from torch import nn

from evaluators.noise import NoiseConfig, photonic_mode

IDEAL = NoiseConfig(
    input_bits=16, weight_bits=16, adc_bits=16, adc_gain=1.0, crosstalk=False,
    temporal_accumulation=1,
).scaled(0.0)  # fmt: skip
"""No noise, no crosstalk, 16-bit converters, unit gain (no clipping), one accumulation step
(n = 12 products per conversion): float, reproduced."""


def relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    """Largest deviation relative to the largest reference output."""
    return float((out - ref).abs().max() / ref.abs().max())


def small_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, groups=8),
        nn.ReLU(),
        nn.Conv2d(8, 16, 1),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 5),
    ).eval()


def infer(
    model: nn.Module, x: torch.Tensor, config: NoiseConfig | None, **seeds: int
) -> torch.Tensor:
    """Forward under photonic_mode (None: float), without autograd."""
    with torch.no_grad(), photonic_mode(model, config, **seeds):
        out: torch.Tensor = model(x)
    return out


def zero_sum_linear(fan_in: int, blocks: int, rows: int = 8) -> nn.Linear:
    """Weights ±1 alternating within every block: with all-ones inputs each block sums to 0."""
    layer = nn.Linear(fan_in * blocks, rows, bias=False)
    signs = torch.tensor([1.0, -1.0]).repeat(fan_in * blocks // 2)
    layer.weight.data.copy_(signs.expand(rows, -1))
    return layer
