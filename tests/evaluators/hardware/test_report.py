"""Reports: hardware.csv, metric names, evaluate_hardware, and the digital reference."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from torch import nn

from evaluators.hardware import (
    ConfigError,
    DigitalReference,
    ExtractionError,
    HardwareConfig,
    LayerTable,
    cost_digital,
    cost_network,
    evaluate_hardware,
    extract_layers,
)
from tests.support.hardware import SharedBlockNet

METRICS = {"throughput_fps", "latency_ms", "energy_uj", "power_w", "area_mm2", "macs", "params"}
COMPONENT_KEYS = {
    f"energy_{c}_uj"
    for c in ("laser", "dac", "modulator", "adc", "detector", "tuning", "memory", "digital")
}


def test_hardware_csv_has_one_row_per_layer(tmp_path: Path) -> None:
    model = SharedBlockNet(iterations=2)
    report = evaluate_hardware(model, (1, 3, 8, 8), HardwareConfig())
    path = tmp_path / "hardware.csv"
    report.to_csv(path)
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["layer"] for r in rows] == [s.name for s in report.layers]
    assert {"op", "macs", "weight_tiles", "passes", "cycles", "latency_us", "energy_uj"} <= set(
        rows[0]
    )
    assert set(rows[0]) >= COMPONENT_KEYS
    first = rows[0]
    assert (first["op"], int(float(first["macs"]))) == ("conv3x3", 48 * 27 * 64)
    second_call = next(r for r in rows if r["module"] == "block.0" and r["call"] == "1")
    assert float(second_call["params"]) == 0  # weights counted at the first call only


def test_metrics_have_the_contract_names() -> None:
    metrics = evaluate_hardware(SharedBlockNet(1), (1, 3, 8, 8), HardwareConfig()).metrics()
    assert set(metrics) >= METRICS | COMPONENT_KEYS
    assert all(isinstance(v, float) for v in metrics.values())
    assert metrics["params"] == sum(p.numel() for p in SharedBlockNet(1).parameters())


def test_layer_table_is_a_reusable_sequence() -> None:
    layers = extract_layers(SharedBlockNet(2), (1, 3, 8, 8))
    table = LayerTable(layers)
    assert list(table) == layers and table[0] == layers[0] and len(table) == len(layers)
    assert LayerTable.of(table) is table
    assert LayerTable.of(layers) is LayerTable.of(list(layers))  # built once per network
    cfg = HardwareConfig()
    assert cost_network(table, cfg).metrics() == cost_network(layers, cfg).metrics()


def test_empty_network_is_rejected() -> None:
    with pytest.raises(ExtractionError, match="no layers"):
        cost_network([], HardwareConfig())


def test_digital_reference_hand_computed_linear() -> None:
    layers = extract_layers(nn.Sequential(nn.Flatten(), nn.Linear(12, 5)), (2, 3, 2, 2))
    metrics = cost_digital(layers, DigitalReference())
    # 120 MACs at 1.024e12/s + 10 bias adds at 2.56e11/s = 0.1171875 + 0.0390625 ns;
    # DRAM: 24 inputs + 10 outputs at 1 B over 1000 GB/s = 0.034 ns (shorter)
    assert metrics["latency_ms"] == pytest.approx(0.15625e-6)
    assert metrics["energy_compute_uj"] == pytest.approx(120 * 0.23e-6)
    assert metrics["energy_digital_uj"] == pytest.approx(10 * 0.1e-6)
    # SRAM: (24 + 10) activations + 65 parameters at 1 B; DRAM: 34 B (weights stay on chip)
    assert metrics["energy_memory_uj"] == pytest.approx((99 * 0.46 + 34 * 62.4) * 1e-6)
    assert metrics["throughput_fps"] == pytest.approx(2 / 0.15625e-9)  # batch of 2
    assert set(metrics) >= METRICS and metrics["params"] == 65


def test_photonic_and_digital_reports_compare_on_the_same_layers() -> None:
    torch.manual_seed(0)
    layers = extract_layers(SharedBlockNet(3), (1, 3, 16, 16))
    photonic, digital = (
        cost_network(layers, HardwareConfig()).metrics(),
        cost_digital(layers, DigitalReference()),
    )
    assert photonic["macs"] == digital["macs"] and photonic["params"] == digital["params"]
    assert photonic["throughput_fps"] > digital["throughput_fps"]  # 69 TMAC/s vs 1 TMAC/s


def test_bad_digital_reference_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"macs_per_s=0 out of range: allowed \(0.0, 1e\+18\]"):
        DigitalReference(macs_per_s=0)
    with pytest.raises(ConfigError, match=r"pj_per_mac=-1.0 out of range"):
        DigitalReference(pj_per_mac=-1.0)
