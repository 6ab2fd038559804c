"""Property tests: monotone throughput and converter energy, totals that add up."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from evaluators.hardware import HardwareConfig, LayerTable, cost_network, extract_layers
from evaluators.hardware.devices import ADC_LAWS, DAC_LAWS, WEIGHT_TUNING, converter_energy
from evaluators.hardware.report import ENERGY_COLUMNS


class Mixed(nn.Module):
    """Every layer kind at once: strided, depthwise, grouped, shared, upsampled, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pw = nn.Conv2d(8, 16, 1)
        self.grouped = nn.Conv2d(16, 16, 3, padding=1, groups=4)
        self.shared = nn.Conv2d(16, 16, 1)
        self.head = nn.Conv2d(16, 5, 1)
        self.fc = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.grouped(self.pw(F.relu(self.dw(self.stem(x)))))
        for _ in range(2):
            y = y + F.relu(self.shared(y))
        seg = F.interpolate(self.head(y), scale_factor=2.0, mode="bilinear")
        return seg, self.fc(y.mean(dim=(2, 3)))


@functools.cache
def table() -> LayerTable:
    torch.manual_seed(0)
    return LayerTable(extract_layers(Mixed(), (1, 3, 16, 16)))


configs = st.builds(
    HardwareConfig,
    rows=st.integers(1, 48),
    cols=st.integers(1, 48),
    wavelengths=st.integers(1, 32),
    tiles=st.integers(1, 8),
    cores_per_tile=st.integers(1, 4),
    clock_ghz=st.floats(0.5, 5.0),
    temporal_accumulation=st.integers(1, 4),
    sign_passes=st.integers(1, 2),
    share_inputs=st.booleans(),
    share_adcs=st.booleans(),
    gate_idle=st.booleans(),
    sequential_groups=st.booleans(),
    digital_overlap=st.booleans(),
    weight_tuning=st.sampled_from(WEIGHT_TUNING),
    sram_kb=st.sampled_from([0.0, 2048.0]),
)
GROWING = ("rows", "cols", "wavelengths", "tiles", "cores_per_tile")


def throughput(cfg: HardwareConfig) -> float:
    return cost_network(table(), cfg).metrics()["throughput_fps"]


@settings(max_examples=150, deadline=None)
@given(cfg=configs, knob=st.sampled_from(GROWING), step=st.integers(1, 8))
def test_throughput_never_falls_with_a_bigger_array(
    cfg: HardwareConfig, knob: str, step: int
) -> None:
    bigger = dataclasses.replace(cfg, **{knob: getattr(cfg, knob) + step})
    assert throughput(bigger) >= throughput(cfg) * (1 - 1e-12)


@settings(max_examples=60, deadline=None)
@given(cfg=configs, factor=st.floats(1.0, 2.0))
def test_throughput_never_falls_with_a_faster_clock(cfg: HardwareConfig, factor: float) -> None:
    faster = dataclasses.replace(cfg, clock_ghz=min(cfg.clock_ghz * factor, cfg.max_clock_ghz))
    assert throughput(faster) >= throughput(cfg) * (1 - 1e-12)


@pytest.mark.parametrize("law", [*DAC_LAWS.values(), *ADC_LAWS.values()])
def test_conversion_energy_never_falls_with_more_bits(law) -> None:
    energies = [converter_energy(law, bits, 1.0, 8) for bits in range(2, 17)]
    assert energies == sorted(energies)


@settings(max_examples=60, deadline=None)
@given(
    cfg=configs,
    bits=st.sampled_from(["input_bits", "weight_bits", "adc_bits"]),
    law=st.sampled_from(sorted(DAC_LAWS)),
    adc_law=st.sampled_from(sorted(ADC_LAWS)),
)
def test_network_converter_energy_never_falls_with_more_bits(
    cfg: HardwareConfig, bits: str, law: str, adc_law: str
) -> None:
    fewer: dict[str, Any] = {bits: 3, "dac_law": law, "adc_law": adc_law}
    base = dataclasses.replace(cfg, **fewer)
    more = dataclasses.replace(base, **{**fewer, bits: 7})
    low, high = (cost_network(table(), c).metrics() for c in (base, more))
    for key in ("energy_dac_uj", "energy_adc_uj", "energy_laser_uj"):
        assert high[key] >= low[key] * (1 - 1e-12)


@settings(max_examples=60, deadline=None)
@given(cfg=configs)
def test_layers_add_up_to_the_totals(cfg: HardwareConfig) -> None:
    report = cost_network(table(), cfg)
    metrics, rows = report.metrics(), report.rows()
    assert sum(float(r["latency_us"]) for r in rows) == pytest.approx(metrics["latency_ms"] * 1e3)
    assert sum(float(r["energy_uj"]) for r in rows) == pytest.approx(metrics["energy_uj"])
    assert sum(metrics[k] for k in ENERGY_COLUMNS) == pytest.approx(metrics["energy_uj"])
    for row in rows:
        assert sum(float(row[k]) for k in ENERGY_COLUMNS) == pytest.approx(float(row["energy_uj"]))
    assert metrics["macs"] == sum(s.macs for s in table())
