"""`Design`: a design's params resolved, once, into the configs every step of its evaluation reads.

The network config (``arch.*``), the hardware (the options' base ``hardware`` params, then the
design's ``hw.*``) and the noise model derived from that hardware (plus the options' ``noise``
overrides) are built here and nowhere else, so training, scoring, costing and export all see the
same design; a bad param fails here, in one line naming it, before any work.

A design whose ``arch.model`` is not the family (a published network or a user's factory) keeps
only ``arch.model`` of its ``arch.*`` params: the family's do not shape it, so designs of a mixed
search space that differ only in them share their trained weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from evaluators.hardware import HardwareConfig
from evaluators.network import FAMILY, NetworkConfig, build_network
from evaluators.noise import NoiseConfig
from evaluators.segmentation_options import SegmentationOptions
from evaluators.zoo import build_model, check_model, is_factory, model_identity

ARCH = "arch."


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
        network = NetworkConfig.from_params(params)
        if network.model != FAMILY:
            check_model(network.model)
            params = {k: v for k, v in params.items() if not k.startswith(ARCH)}
            params.update(network.to_params())
        return cls(dict(params), network, hardware, noise_of(hardware, options))

    def build(self, num_classes: int, seed: int) -> nn.Module:
        """The design's network with fresh weights (repeatable from ``seed``)."""
        return build_config(self.network, num_classes, seed)

    @property
    def identity(self) -> dict[str, Any]:
        """What trained weights of this design depend on, as plain data: its params with those
        its network ignores at their defaults (:meth:`NetworkConfig.canonical`: the expansion of
        an all-standard design), and for a user's factory the hash of its source file too (an
        edited network trains anew)."""
        identity = dict(self.params)
        canonical = self.network.canonical()
        if canonical.expansion != self.network.expansion:  # other keys as they were written
            identity[f"{ARCH}expansion"] = canonical.expansion
        if is_factory(self.network.model):
            identity["arch.model.source"] = model_identity(self.network.model)
        return identity


def build_config(network: NetworkConfig, num_classes: int, seed: int | None) -> nn.Module:
    """The network of ``network``: the family's, or the zoo's or user's model it names."""
    if network.model == FAMILY:
        return build_network(network, num_classes, seed=seed)
    return build_model(network.model, num_classes, seed)


def hardware_of(params: Mapping[str, Any], options: SegmentationOptions) -> HardwareConfig:
    """The hardware of ``params`` (``hw.*`` keys; others are ignored) on the options' base."""
    return HardwareConfig.from_params({**options.hardware, **params})


def noise_of(hardware: HardwareConfig, options: SegmentationOptions) -> NoiseConfig:
    """The noise and quantization model of ``hardware``, with the options' overrides."""
    return NoiseConfig.from_hardware(hardware, **options.noise)
