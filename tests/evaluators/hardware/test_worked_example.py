"""docs/photonic-model.md §4.3 and §4.1: the default 12x12x12 4-bit 5 GHz core, worked example.

The example excludes laser, memory and digital energy and counts the MRR hold per cycle; a
large standard convolution that fills the array (U = 1, on one core and on DOTA-B) reproduces it
per MAC.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import pytest
from torch import nn

from evaluators.hardware import HardwareConfig, LayerSpec, cost_network, extract_layers
from evaluators.hardware.energy import DeviceEnergies, laser_power_mw, path_loss_db

ARRAY_COMPONENTS = ("dac", "modulator", "adc", "detector", "tuning")


@functools.cache
def large_conv() -> tuple[LayerSpec, ...]:
    """3x3 conv 48 -> 48 on 24x24: N = 48 (4 row blocks, one per DOTA-B tile), D = 432 (36
    wavelength blocks, 18 per core of a tile), M = 576 (48 column blocks)."""
    return tuple(extract_layers(nn.Conv2d(48, 48, 3, padding=1, bias=False), (1, 48, 24, 24)))


def array_pj_per_mac(preset: str, **overrides: Any) -> float:
    cfg = dataclasses.replace(HardwareConfig.preset(preset), **overrides)
    metrics = cost_network(large_conv(), cfg).metrics()
    assert metrics["utilization"] == 1.0
    return sum(metrics[f"energy_{c}_uj"] for c in ARRAY_COMPONENTS) * 1e6 / metrics["macs"]


def test_per_conversion_energies() -> None:
    dev = DeviceEnergies.of(HardwareConfig())
    assert dev.dac_input == pytest.approx(0.402, rel=0.05)  # 3.57 * (16/5)/(256/9)
    assert dev.dac_weight == pytest.approx(0.402, rel=0.05)
    assert dev.adc == pytest.approx(0.74, rel=0.05)  # 1.48 * 4/8
    assert dev.mod_input == pytest.approx(0.45, rel=0.05)
    assert dev.tia == pytest.approx(0.6) and dev.pd == pytest.approx(0.22)


@pytest.mark.parametrize(
    ("preset", "overrides", "expected"),
    [
        ("dptc-core", {"temporal_accumulation": 1}, 0.31),  # 533 pJ per 1 728-MAC cycle
        ("dptc-core", {}, 0.234),  # T = 3: ADC and TIA once per 3 cycles, 405 pJ
        ("lt-dota-b", {}, 0.155),  # DOTA-B's sharing, 2 149 pJ per 13 824-MAC cycle
        (
            "dptc-core",
            {"temporal_accumulation": 1, "input_bits": 8, "weight_bits": 8, "adc_bits": 8},
            0.90,
        ),
        (
            "dptc-core",
            {"temporal_accumulation": 1, "input_bits": 2, "weight_bits": 2, "adc_bits": 2},
            0.24,
        ),
    ],
)
def test_energy_per_mac_of_a_large_conv(preset: str, overrides: dict, expected: float) -> None:
    assert array_pj_per_mac(preset, **overrides) == pytest.approx(expected, rel=0.02)


def test_laser_link_budget() -> None:
    """LT photonic_crossbar.py: 4.22 dB (modulator 1.2 + 2 rings 1.86 + 4 splitters 0.4 + node
    0.76), no coupling, no extinction-ratio factor: 96.3 mW per core at 4 bits."""
    core = HardwareConfig.preset("dptc-core")
    assert path_loss_db(core) == pytest.approx(4.22)
    assert laser_power_mw(core) == pytest.approx(96.26, rel=1e-3)
    eight = dataclasses.replace(core, adc_bits=8)
    assert laser_power_mw(eight) == pytest.approx(96.26 * 16, rel=1e-3)  # 2^b
    assert laser_power_mw(HardwareConfig()) == pytest.approx(8 * 96.26, rel=1e-3)  # 8 cores
    metrics = cost_network(large_conv(), core).metrics()
    assert metrics["energy_laser_uj"] * 1e6 / metrics["macs"] == pytest.approx(0.0111, rel=0.01)
    shot = dataclasses.replace(core, laser_law="4^b", adc_bits=6)
    assert laser_power_mw(shot) == pytest.approx(16 * laser_power_mw(core))  # 4^2 from 4 bits
    # SimPhony's laser/comb path (2 dB, its 6.22 dB core path) and extinction factor: options
    simphony = dataclasses.replace(core, il_coupling_db=2.0, extinction_penalty=True)
    assert path_loss_db(simphony) == pytest.approx(6.22)
    assert laser_power_mw(simphony) / laser_power_mw(core) == pytest.approx(1.761, rel=1e-3)
