"""What one attach gives every photonic layer of a model, and the per-layer cache helper."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

import torch

from .config import NoiseConfig
from .crosstalk import crosstalk_matrix
from .randomness import ChipErrors, NoiseSource

__all__ = ["NoiseState", "cached"]


@dataclass(frozen=True)
class NoiseState:
    """Config, the chip's static errors and the dynamic noise source, shared by all layers.

    Sharing matters: the same physical encoders serve every layer (one chip), and one dynamic
    stream keeps the noise of different layers independent. Deliberately not a Module or tensor,
    so it never enters a state_dict (aihwkit #275).
    """

    config: NoiseConfig
    chip_seed: int
    noise_seed: int
    chip: ChipErrors
    noise: NoiseSource
    crosstalk: torch.Tensor | None

    @classmethod
    def create(cls, config: NoiseConfig, chip_seed: int, noise_seed: int) -> NoiseState:
        """Draw the chip from ``chip_seed`` and start the dynamic stream at ``noise_seed``."""
        chip = ChipErrors(chip_seed, config.rows, config.cols, config.wavelengths)
        mixing = (
            crosstalk_matrix(config.wavelengths, config.ring_fwhm_nm, config.fsr_nm)
            if config.crosstalk
            else None
        )
        noise = NoiseSource(noise_seed, config.noise_reuse)
        return cls(config, chip_seed, noise_seed, chip, noise, mixing)


def cached(
    cache: dict[Hashable, torch.Tensor], key: Hashable, make: Callable[[], torch.Tensor]
) -> torch.Tensor:
    """``cache[key]``, computed by ``make`` on first use (static tensors per layer and shape)."""
    if key not in cache:
        cache[key] = make()
    return cache[key]
