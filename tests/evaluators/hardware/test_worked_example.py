"""docs/photonic-model.md §4.3 and §5: the default 12x12x12 4-bit 5 GHz core, worked example.

The example excludes laser, memory and digital energy and counts the MRR hold per core-pass; a
large standard convolution that fills the array (U = 1) reproduces it per MAC.
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
    """3x3 conv 24 -> 24 on 24x24: N = 24, D = 216, M = 576, all multiples of 12."""
    return tuple(extract_layers(nn.Conv2d(24, 24, 3, padding=1, bias=False), (1, 24, 24, 24)))


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
        ("dptc-core", {}, 0.31),  # 533 pJ per 1 728-MAC core-pass
        ("lt-dota-b", {}, 0.22),  # SimPhony's DOTA-B sharing
        ("dptc-core", {"temporal_accumulation": 3}, 0.27),
        ("dptc-core", {"input_bits": 8, "weight_bits": 8, "adc_bits": 8}, 0.90),
        ("dptc-core", {"input_bits": 2, "weight_bits": 2, "adc_bits": 2}, 0.24),
    ],
)
def test_energy_per_mac_of_a_large_conv(preset: str, overrides: dict, expected: float) -> None:
    assert array_pj_per_mac(preset, **overrides) == pytest.approx(expected, rel=0.05)


def test_laser_link_budget() -> None:
    core = HardwareConfig.preset("dptc-core")
    assert path_loss_db(core) == pytest.approx(6.98)  # SimPhony's 6.22 core + 0.76 node
    assert laser_power_mw(core) == pytest.approx(200, rel=0.05)  # 0.20 W per core at 4 bits
    eight = dataclasses.replace(core, adc_bits=8)
    assert laser_power_mw(eight) == pytest.approx(3200, rel=0.05)  # 3.2 W at 8 bits
    metrics = cost_network(large_conv(), core).metrics()
    assert metrics["energy_laser_uj"] * 1e6 / metrics["macs"] == pytest.approx(0.023, rel=0.05)
    shot = dataclasses.replace(core, laser_law="4^b", adc_bits=6)
    assert laser_power_mw(shot) == pytest.approx(16 * laser_power_mw(core))  # 4^2 from 4 bits


def test_dota_b_area_matches_lt_readme() -> None:
    area = cost_network(large_conv(), HardwareConfig()).metrics()["area_mm2"]
    assert area == pytest.approx(60.3, rel=0.05)
