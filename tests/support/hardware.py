"""Helpers of the hardware-model tests: tiny networks with hand-computable layers."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from evaluators.hardware import HardwareConfig, LayerSpec, extract_layers


def small_config(**overrides: Any) -> HardwareConfig:
    """A 4-row x 2-column array with 3 wavelengths and 2 unshared cores: every count differs.

    Device constants stay at their defaults (4 bits, 5 GHz): E_DAC(4) = 50/14 * 0.1125 = 0.401786,
    E_mod = 0.45, E_ADC(4) = 0.74, E_PD = 1.1/5 = 0.22, E_TIA = 3/5 = 0.6 pJ.
    """
    base = HardwareConfig(
        rows=4,
        cols=2,
        wavelengths=3,
        tiles=1,
        cores_per_tile=2,
        share_inputs=False,
        share_adcs=False,
        temporal_accumulation=1,
    )
    return dataclasses.replace(base, **overrides)


def only_gemm(module: nn.Module, shape: tuple[int, int, int, int]) -> LayerSpec:
    """The single GEMM layer of ``module`` traced at ``shape``."""
    (spec,) = [s for s in extract_layers(module, shape) if s.is_gemm]
    return spec


class SharedBlockNet(nn.Module):
    """Stem, one block of two 1x1 convs applied ``iterations`` times (shared weights), head."""

    def __init__(self, iterations: int, stem_out: int = 48) -> None:
        super().__init__()
        self.iterations = iterations
        self.stem = nn.Conv2d(3, stem_out, 3, padding=1)
        self.reduce = nn.Conv2d(stem_out, 12, 1)
        self.block = nn.Sequential(nn.Conv2d(12, 12, 1), nn.ReLU(), nn.Conv2d(12, 12, 1))
        self.head = nn.Conv2d(12, 5, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.reduce(torch.relu(self.stem(x)))
        for _ in range(self.iterations):
            y = y + self.block(y)
        return self.head(y)
