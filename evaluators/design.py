"""`Design`: a design's params resolved, once, into the configs every step of its evaluation reads.

The network config (``arch.*``), the hardware (the options' base ``hardware`` params, then the
design's ``hw.*``) and the noise model derived from that hardware (plus the options' ``noise``
overrides) are built here and nowhere else, so training, scoring, costing and export all see the
same design; a bad param fails here, in one line naming it, before any work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evaluators.hardware import HardwareConfig
from evaluators.network import NetworkConfig, SegmentationNet, build_network
from evaluators.noise import NoiseConfig
from evaluators.segmentation_options import SegmentationOptions


@dataclass(frozen=True)
class Design:
    """A design's params and what they resolve to under the evaluator's options."""

    params: Mapping[str, Any]
    network: NetworkConfig
    hardware: HardwareConfig
    noise: NoiseConfig

    @classmethod
    def resolve(cls, params: Mapping[str, Any], options: SegmentationOptions) -> Design:
        hardware = hardware_of(params, options)
        return cls(
            dict(params), NetworkConfig.from_params(params), hardware, noise_of(hardware, options)
        )

    def build(self, num_classes: int, seed: int) -> SegmentationNet:
        """The design's network with fresh weights (repeatable from ``seed``)."""
        return build_network(self.network, num_classes, seed=seed)


def hardware_of(params: Mapping[str, Any], options: SegmentationOptions) -> HardwareConfig:
    """The hardware of ``params`` (``hw.*`` keys; others are ignored) on the options' base."""
    return HardwareConfig.from_params({**options.hardware, **params})


def noise_of(hardware: HardwareConfig, options: SegmentationOptions) -> NoiseConfig:
    """The noise and quantization model of ``hardware``, with the options' overrides."""
    return NoiseConfig.from_hardware(hardware, **options.noise)
