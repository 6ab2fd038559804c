"""A digital electronic accelerator costed on the same layers: the yardstick for a photonic design.

Per layer: t = max(MACs/MAC_rate + ops/op_rate, DRAM bytes/bandwidth) and
E = MACs*e_MAC + ops*e_op + SRAM bytes*e_SRAM + DRAM bytes*e_DRAM, with the memory traffic model
of the photonic chip (:mod:`.memory`) at ``bits`` per value, so the two differ only in how they
compute. Defaults describe an INT8 edge accelerator (all assumptions, stated per field): 1 024
MAC units at 1 GHz, a 256-lane vector unit at 1 GHz for the digital ops, and the photonic
defaults' SRAM (2 MB) and HBM; e_MAC = 0.23 pJ is Horowitz's 45 nm 8-bit multiply (0.2 pJ) plus
add (0.03 pJ) (ISSCC 2014), a pessimistic figure for 7-16 nm nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from evaluators.options import Options, knob

from .errors import ConfigError
from .layers import LayerSpec, LayerTable
from .memory import traffic
from .report import headline_metrics

PJ_PER_UJ = 1e6
HOROWITZ = "Horowitz ISSCC 2014: 45 nm INT8 multiply 0.2 + add 0.03 pJ"


@dataclass(frozen=True)
class DigitalReference(Options):
    """An electronic accelerator: energies in pJ, rates per second, area in mm²."""

    label: ClassVar[str] = "reference."
    error: ClassVar[type[ConfigError]] = ConfigError

    pj_per_mac: float = knob(0.23, 0.0, 100.0, "pJ", HOROWITZ)
    macs_per_s: float = knob(1.024e12, 0.0, 1e18, "MAC/s", "1 024 MACs at 1 GHz", open_low=True)
    pj_per_op: float = knob(0.1, 0.0, 10.0, "pJ", "docs/photonic-model.md §4.4 e_op")
    ops_per_s: float = knob(2.56e11, 0.0, 1e18, "op/s", "256 lanes at 1 GHz", open_low=True)
    bits: int = knob(8, 1, 32, "bit", "activations and weights in memory")
    sram_pj_per_byte: float = knob(0.46, 0.0, 100.0, "pJ/B", "LT params GB1: 0.92 pJ per 2 B")
    dram_pj_per_byte: float = knob(62.4, 0.0, 1000.0, "pJ/B", "SP LT.yml HBM")
    dram_gbps: float = knob(1000.0, 0.0, 1e5, "GB/s", "HBM 1 TB/s", open_low=True)
    sram_kb: float = knob(2048.0, 0.0, 1e6, "KiB", "as the photonic default")
    area_mm2: float = knob(15.0, 0.0, 1e4, "mm^2", "2 MB SRAM at LT's density + ~0.4 mm² MACs")


def cost_digital(layers: Sequence[LayerSpec], ref: DigitalReference) -> dict[str, float]:
    """The hardware metrics of ``layers`` on ``ref`` (same names as the photonic report)."""
    table = LayerTable.of(layers)
    moved = traffic(table, ref.bits, ref.bits, ref.sram_kb)
    compute_ns = (table.macs / ref.macs_per_s + table.digital_ops / ref.ops_per_s) * 1e9
    latency_ns = float(np.sum(np.maximum(compute_ns, moved.dram_bytes / ref.dram_gbps)))
    energy_pj = {
        "compute": float(np.sum(table.macs)) * ref.pj_per_mac,
        "digital": float(np.sum(table.digital_ops)) * ref.pj_per_op,
        "memory": float(
            np.sum(
                moved.sram_bytes * ref.sram_pj_per_byte + moved.dram_bytes * ref.dram_pj_per_byte
            )
        ),
    }
    macs = float(np.sum(table.macs))
    energy_uj = sum(energy_pj.values()) / PJ_PER_UJ
    return {
        **headline_metrics(table.batch, latency_ns / 1e3, energy_uj, ref.area_mm2, macs),
        "params": float(np.sum(table.params[table.first_call])),
        **{f"energy_{name}_uj": value / PJ_PER_UJ for name, value in energy_pj.items()},
    }
