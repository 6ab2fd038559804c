"""Costing a network on a photonic accelerator: latency, energy by component, area.

Per layer (docs/photonic-model.md §3): t_layer = max(t_compute + t_prog, t_mem, t_digital) with
t_compute = cycles/f, t_prog the weight programming time (:mod:`.mapping`), t_mem = DRAM bytes /
bandwidth (LT takes the max of compute and memory) and t_digital = digital ops/(lanes*f_dig),
or 0 when digital work overlaps photonic compute (the default). Layers run one after another at
batch 1 without cross-image pipelining, so latency = sum of t_layer and throughput = batch /
latency. Energy per layer = photonic components (:mod:`.energy`) + memory (register file one
read per DAC symbol, SRAM and DRAM traffic from :mod:`.memory`) + digital ops at e_op each,
where a GEMM adds 2 ops per partial sum of a real output (rescale and add, §4.4).

Costing is vectorised over layers (numpy columns of a :class:`LayerTable`): extract once
(:func:`extract_layers`), then cost any number of configurations. A plain list is turned into a
table once and remembered; passing the table itself skips even that lookup.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .area import area_mm2
from .config import HardwareConfig
from .energy import photonic_energy_pj
from .extract import Example, extract_layers
from .layers import LayerSpec, LayerTable
from .mapping import ArrayMapping, map_layers
from .memory import Traffic, traffic
from .report import COMPONENTS, HardwareReport

PJ_PER_UJ, NS_PER_US = 1e6, 1e3


def cost_network(layers: Sequence[LayerSpec], config: HardwareConfig) -> HardwareReport:
    """Cost every layer of a network (a list or a :class:`LayerTable`) on ``config``."""
    table = LayerTable.of(layers)
    mapping = map_layers(table, config)
    moved = traffic(table, config.input_bits, config.weight_bits, config.sram_kb)
    digital_ops = table.digital_ops + 2 * mapping.partial_sums
    latency_ns = _latency_ns(config, mapping, moved, digital_ops)
    energy = photonic_energy_pj(config, mapping, latency_ns)
    energy["memory"] = _memory_pj(config, mapping, moved)
    energy["digital"] = digital_ops * config.digital_pj_per_op
    columns = {
        "macs": table.macs,
        "params": np.where(table.first_call, table.params, 0.0),
        "groups": table.groups,
        "gemm_n": table.n,
        "gemm_d": table.d,
        "gemm_m": table.m,
        "weight_tiles": mapping.weight_tiles,
        "column_blocks": mapping.n_m,
        "utilization": mapping.utilization,
        "passes": mapping.passes,
        "cycles": mapping.cycles,
        "prog_events": mapping.prog_events,
        "program_us": mapping.t_prog_ns / NS_PER_US,
        "dac_conversions": mapping.input_symbols + mapping.weight_symbols,
        "adc_conversions": mapping.conversions,
        "digital_ops": digital_ops,
        "sram_bytes": moved.sram_bytes,
        "dram_bytes": moved.dram_bytes,
        "latency_us": latency_ns / NS_PER_US,
        **{f"energy_{c}_uj": energy[c] / PJ_PER_UJ for c in COMPONENTS},
        "energy_uj": sum(energy.values()) / PJ_PER_UJ,
    }
    return HardwareReport(config, table.layers, columns, area_mm2(config), table.batch)


def evaluate_hardware(
    model: torch.nn.Module, example: Example, config: HardwareConfig | None = None
) -> HardwareReport:
    """Cost any torch module on ``config`` (default: the DOTA-B preset).

    ``example`` is an input shape (random values are drawn), an example tensor (token ids, say)
    or a tuple of example tensors for a forward taking several; see :func:`extract_layers`.
    """
    return cost_network(extract_layers(model, example), config or HardwareConfig())


def _latency_ns(
    cfg: HardwareConfig, mapping: ArrayMapping, moved: Traffic, digital_ops: np.ndarray
) -> np.ndarray:
    t_mem = moved.dram_bytes / cfg.dram_gbps  # 1 GB/s = 1 byte/ns
    t_photonic = mapping.t_compute_ns + mapping.t_prog_ns
    if cfg.digital_overlap:
        return np.maximum(t_photonic, t_mem)
    t_digital = digital_ops / (cfg.digital_lanes * cfg.digital_clock_ghz)
    return np.maximum(np.maximum(t_photonic, t_mem), t_digital)


def _memory_pj(cfg: HardwareConfig, mapping: ArrayMapping, moved: Traffic) -> np.ndarray:
    symbols = mapping.input_symbols * cfg.input_bits + mapping.weight_symbols * cfg.weight_bits
    return (
        symbols / 8 * cfg.rf_pj_per_byte
        + moved.sram_bytes * cfg.sram_pj_per_byte
        + moved.dram_bytes * cfg.dram_pj_per_byte
    )
