"""evaluators.design: a design's configs resolved once, from its params and the options."""

from __future__ import annotations

import pytest
import torch

from evaluators.design import Design
from evaluators.hardware import ConfigError
from evaluators.segmentation_options import SegmentationOptions


def test_params_resolve_to_network_hardware_and_noise() -> None:
    options = SegmentationOptions.create(
        hardware={"hw.tiles": 2, "hw.bits": 8}, noise={"sigma_out": 0.1, "adc_gain": 2.0}
    )
    design = Design.resolve({"arch.width": 16, "hw.bits": 6, "hw.wavelengths": 8}, options)
    assert design.network.width == 16
    assert (design.hardware.tiles, design.hardware.input_bits) == (2, 6)  # the design wins
    assert (design.noise.input_bits, design.noise.wavelengths) == (6, 8)  # from the hardware
    assert (design.noise.sigma_out, design.noise.adc_gain) == (0.1, 2.0)  # the options' noise
    network = design.build(num_classes=5, seed=0)
    assert network.config == design.network


def test_a_bad_param_fails_at_resolution_naming_it() -> None:
    options = SegmentationOptions.create(hardware={"hw.input_bits": 6})
    with pytest.raises(ConfigError, match=r"^hw\.input_bits=10 out of range"):
        Design.resolve({"hw.input_bits": 10}, options)
    raised = Design.resolve({"hw.input_bits": 10, "hw.dac_ref_bits": 12}, options)
    assert raised.hardware.input_bits == 10  # a bound named by another field: checked together


def test_designs_that_build_one_network_share_their_trained_weights() -> None:
    """An all-standard design has no expanded middle: its expansion changes neither the network
    nor, so, the key its trained weights are filed under; a ghost stage's does."""
    options = SegmentationOptions.create()
    standard = {"arch.width": 8, "arch.block": "standard", "hw.bits": 6}
    narrow, wide = (Design.resolve({**standard, "arch.expansion": e}, options) for e in (2, 6))
    assert narrow.identity == wide.identity
    first, second = (d.build(num_classes=5, seed=0).state_dict() for d in (narrow, wide))
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    ghost = {**standard, "arch.stage3.block": "ghost"}
    ghost_narrow, ghost_wide = (
        Design.resolve({**ghost, "arch.expansion": e}, options) for e in (2, 6)
    )
    assert ghost_narrow.identity != ghost_wide.identity
    assert ghost_narrow.identity == ghost_narrow.params  # designs that use it: keys as they were
