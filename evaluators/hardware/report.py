"""The result of costing a network: per-layer table, totals, metrics and ``hardware.csv``.

Columns are numpy arrays in report units (µs, µJ), one entry per executed layer, so totals are
plain sums and ``metrics()`` stays cheap inside a search. Parameters are counted at a module's
first call only: a weight-shared block stores its weights once however often it runs.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import HardwareConfig
from .layers import LayerSpec

COMPONENTS = ("laser", "dac", "modulator", "adc", "detector", "tuning", "memory", "digital")
ENERGY_COLUMNS = tuple(f"energy_{c}_uj" for c in COMPONENTS)
# Per-layer columns that add up to a network total.
ADDITIVE = (
    "macs",
    "params",
    "passes",
    "cycles",
    "prog_events",
    "program_us",
    "dac_conversions",
    "adc_conversions",
    "digital_ops",
    "sram_bytes",
    "dram_bytes",
    "latency_us",
    *ENERGY_COLUMNS,
    "energy_uj",
)
MAPPING_COLUMNS = (
    "groups",
    "gemm_n",
    "gemm_d",
    "gemm_m",
    "weight_tiles",
    "column_blocks",
    "utilization",
)
TEXT_COLUMNS = ("layer", "module", "op", "call")
NUMERIC_COLUMNS = ("macs", *MAPPING_COLUMNS, *(c for c in ADDITIVE if c != "macs"))
CSV_COLUMNS = (*TEXT_COLUMNS, *NUMERIC_COLUMNS)


@dataclass(frozen=True, eq=False)
class HardwareReport:
    """Per-layer costs of one network on one hardware configuration."""

    config: HardwareConfig
    layers: tuple[LayerSpec, ...]
    columns: dict[str, np.ndarray]
    area_by_component_mm2: dict[str, float]
    batch: int

    def totals(self) -> dict[str, float]:
        """Network totals of the additive columns (``latency_us``, ``energy_uj``, ...)."""
        return {name: float(np.sum(self.columns[name])) for name in ADDITIVE}

    def metrics(self) -> dict[str, float]:
        """The evaluator's hardware metrics (docs/architecture.md) plus per-component extras."""
        t, cfg = self.totals(), self.config
        lanes = cfg.rows * cfg.cols * cfg.wavelengths * cfg.cores  # MACs per cycle at full use
        area = sum(self.area_by_component_mm2.values())
        return {
            **headline_metrics(self.batch, t["latency_us"], t["energy_uj"], area, t["macs"]),
            "params": t["params"],
            **{name: t[name] for name in ENERGY_COLUMNS},
            "utilization": t["macs"] / (t["cycles"] * lanes) if t["cycles"] else 0.0,
            "cycles": t["cycles"],
            "prog_events": t["prog_events"],
        }

    def rows(self) -> list[dict[str, str | int | float]]:
        """One dict per layer with the ``hardware.csv`` columns."""
        values = np.stack([self.columns[name] for name in NUMERIC_COLUMNS], axis=1).tolist()
        return [
            {
                "layer": s.name,
                "module": s.module,
                "op": s.op,
                "call": s.call_index,
                **dict(zip(NUMERIC_COLUMNS, row, strict=True)),
            }
            for s, row in zip(self.layers, values, strict=True)
        ]

    def to_csv(self, path: str | Path) -> None:
        """Write ``hardware.csv`` (export layout of docs/architecture.md): one row per layer."""
        with Path(path).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            for row in self.rows():
                writer.writerow(
                    {k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()}
                )


def headline_metrics(
    batch: int, latency_us: float, energy_uj: float, area_mm2: float, macs: float
) -> dict[str, float]:
    """Throughput, latency, energy, power, area and MACs from network totals (batch-1 streaming:
    one inference after another, so throughput = batch / latency)."""
    return {
        "throughput_fps": batch * 1e6 / latency_us if latency_us > 0 else float("inf"),
        "latency_ms": latency_us / 1e3,
        "energy_uj": energy_uj,
        "power_w": energy_uj / latency_us if latency_us > 0 else 0.0,  # uJ/us = W
        "area_mm2": area_mm2,
        "macs": macs,
        "energy_per_mac_pj": energy_uj * 1e6 / macs if macs else 0.0,
    }
