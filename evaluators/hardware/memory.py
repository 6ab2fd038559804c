"""Memory traffic per layer (docs/photonic-model.md §4.2; the traffic model is our assumption).

- DRAM: the network input and output once per inference, and every module's parameters once
  per inference unless all of them fit into the on-chip SRAM (``sram_kb``), in which case they
  stay resident across inferences in steady-state streaming and cost no DRAM traffic. A
  weight-shared module is fetched once however many times it runs.
- global buffer (SRAM): each layer reads its inputs and writes its output once; a layer with
  parameters also reads them once per call.
- register file (photonic only, in :mod:`.cost`): one read per DAC symbol.

Activations take act_bits/8 bytes per value, parameters weight_bits/8. Energy per byte and
DRAM bandwidth are configuration fields (HBM 62.4 pJ/B at 1 TB/s by default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layers import LayerTable


@dataclass(frozen=True, eq=False)
class Traffic:
    """Bytes moved per layer."""

    sram_bytes: np.ndarray
    dram_bytes: np.ndarray


def traffic(table: LayerTable, act_bits: int, weight_bits: int, sram_kb: float) -> Traffic:
    """Global-buffer and DRAM bytes of every layer of ``table``."""
    act, wgt = act_bits / 8, weight_bits / 8
    weight_bytes = table.params * wgt
    resident = float(np.sum(weight_bytes[table.first_call])) <= sram_kb * 1024
    fetched = (
        np.zeros_like(weight_bytes) if resident else np.where(table.first_call, weight_bytes, 0.0)
    )
    return Traffic(
        sram_bytes=(table.in_elems + table.out_elems) * act + weight_bytes,
        dram_bytes=table.io_elems * act + fetched,
    )
