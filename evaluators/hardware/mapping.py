"""Mapping GEMMs onto the photonic array: partition, cycles, programming and device events.

docs/photonic-model.md §1, §3, §4. Per GEMM layer with g groups of W (N x D) times X (D x M) on
H x W cores with N_lambda wavelengths, R tiles of C cores, sign passes L and temporal
accumulation T::

    n_N = ceil(N/H)   n_M = ceil(M/W)   n_D = ceil(D/N_lambda)
    P = g*n_N*n_M*n_D*L                 core-passes of work (one core busy for one cycle)

The partition follows the sharing the chip is charged for (SP ``onnarchsim/workflow/dataflow.py``,
LT ``simulator_FFN.py``). Tiles that share input encoders see the same input block, so they split
the output rows: ceil(n_N/R) row waves, tiles idle when n_N < R. Cores that sum into one TIA and
ADC per node add up partial products of the same outputs, so they split the reduction:
ceil(n_D/C) cycles per output tile, cores idle when n_D < C. Whatever no sharing binds (groups,
column blocks, and rows or reduction blocks of unshared units) is spread over the free units::

    cycles = rows * reduction * ceil(pool / units)
    rows   = ceil(n_N/R) if share_inputs else 1       units = (1 or R) * (1 or C)
    reduction = ceil(n_D/C) if share_adcs else 1       pool = g*n_M*L * (1 or n_N) * (1 or n_D)

so DOTA-B (both shared) takes g*L*n_M*ceil(n_N/R)*ceil(n_D/C) cycles, SimPhony's partition
(inputs shared only) ceil(n_N/R)*ceil(g*L*n_M*n_D/C), and a chip without sharing LT's
ceil(P/(R*C)). With ``sequential_groups`` the groups run one after another instead.

Device events. A busy core runs all its lanes, padded ones included (SP charges a whole core
per cycle): P*H*N_lambda weight symbols and P*H*W node-cycles (two photodiodes each); a shared
input block is sent once per row wave for all tiles, g*n_M*n_D*L*ceil(n_N/R)*W*N_lambda symbols
(else P*W*N_lambda). A channel (TIA + ADC: per node, or per node position of a tile when its
cores sum) converts once per T cycles of accumulation on one output tile, or once per run when
the run is shorter: a run is ceil(n_D/C) cycles with ``share_adcs``, else n_D, so
g*n_N*n_M*L*ceil(run/T)*H*W conversions. With ``gate_idle`` off every device of the chip acts
on every cycle of a layer, idle tiles and cores too, as SP ``energy.py`` charges count x
cycles. Weight-stationary tuning replaces the per-cycle weight symbols by one conversion per
programmed weight. Partial sums g*N*M*ceil(run/T)*L are the readouts of real outputs that digital
logic rescales and adds (padded rows and columns are converted, but never post-processed).

Weight-stationary tuning (a shifter holds the weights): a layer's g*n_N*n_D weight tiles are
programmed, in ceil(tiles/(R*C)) waves of one response time each, unless they are still resident:
they are when every module run since the previous call of this one (cyclically, in steady-state
streaming; see ``layers._residency_windows``) fits into the R*C cores together. Weight-shared
iterations therefore reprogram nothing when the repeated block fits, and LT's MZI baseline
t_prog = ceil(n_N*n_D/(R*C))*t_resp is recovered for a layer that does not. A product of two
activations (attention) programs its row operand on every call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import HardwareConfig
from .counts import DeviceCounts
from .layers import LayerTable


@dataclass(frozen=True, eq=False)
class ArrayMapping:
    """Per-layer arrays (same order as the table; zeros for digital layers)."""

    n_n: np.ndarray
    n_m: np.ndarray
    n_d: np.ndarray
    weight_tiles: np.ndarray  # g*n_N*n_D: core-loads of weights
    passes: np.ndarray
    cycles: np.ndarray
    utilization: np.ndarray
    prog_events: np.ndarray  # weight tiles (re)programmed
    t_compute_ns: np.ndarray
    t_prog_ns: np.ndarray
    input_symbols: np.ndarray
    weight_symbols: np.ndarray  # weight DAC conversions
    weight_modulations: np.ndarray  # weight symbols sent through modulators
    partial_sums: np.ndarray  # readouts of real (unpadded) outputs, rescaled digitally
    conversions: np.ndarray  # TIA + ADC conversions
    node_cycles: np.ndarray  # detector node-cycles (two PDs each)


def _ceil_div(a: np.ndarray, b: float) -> np.ndarray:
    return np.ceil(a / b)


def map_layers(table: LayerTable, cfg: HardwareConfig) -> ArrayMapping:
    """Map every GEMM of ``table`` onto ``cfg``'s array."""
    h, w, lam, per_tile = cfg.rows, cfg.cols, cfg.wavelengths, cfg.cores_per_tile
    g, sign = table.groups, cfg.sign_passes
    n_n, n_m, n_d = _ceil_div(table.n, h), _ceil_div(table.m, w), _ceil_div(table.d, lam)
    passes = g * n_n * n_m * n_d * sign
    rows = _ceil_div(n_n, cfg.tiles) if cfg.share_inputs else np.ones_like(n_n)
    run = _ceil_div(n_d, per_tile) if cfg.share_adcs else n_d  # cycles on one output tile
    cycles = _cycles(cfg, g, n_n, n_m, n_d, rows, run)
    weight_tiles = g * n_n * n_d
    events, t_prog = _programming(table, cfg, weight_tiles)
    samples = _ceil_div(run, cfg.temporal_accumulation)  # conversions per output tile and pass
    if cfg.gate_idle:  # the busy cores' devices, and a shared input once per row wave
        inputs = (g * n_m * n_d * sign * rows if cfg.share_inputs else passes) * (w * lam)
        weights, nodes = passes * (h * lam), passes * (h * w)
        conversions = g * n_n * n_m * sign * samples * (h * w)
    else:  # every device of the chip on every cycle
        chip = DeviceCounts.of(cfg)
        inputs, weights, nodes = (
            cycles * n for n in (chip.input_encoders, chip.weight_encoders, chip.nodes)
        )
        conversions = _per_run(cycles * chip.channels * samples, run)
    streamed = cfg.weight_shifter is None
    weight_symbols = weights if streamed else events * (h * lam)
    return ArrayMapping(
        n_n=n_n,
        n_m=n_m,
        n_d=n_d,
        weight_tiles=weight_tiles,
        passes=passes,
        cycles=cycles,
        utilization=_per_run(table.macs, cycles * (h * w * lam * cfg.cores)),
        prog_events=events,
        t_compute_ns=cycles / cfg.clock_ghz,
        t_prog_ns=t_prog,
        input_symbols=inputs,
        weight_symbols=weight_symbols,
        weight_modulations=weight_symbols if streamed else np.zeros_like(passes),
        partial_sums=g * table.n * table.m * samples * sign,
        conversions=conversions,
        node_cycles=nodes,
    )


def _cycles(
    cfg: HardwareConfig,
    g: np.ndarray,
    n_n: np.ndarray,
    n_m: np.ndarray,
    n_d: np.ndarray,
    rows: np.ndarray,
    run: np.ndarray,
) -> np.ndarray:
    """The partition of the module docstring: what the sharing binds, then the free pool."""
    bound = rows * (run if cfg.share_adcs else 1.0)
    free = n_m * cfg.sign_passes * (1.0 if cfg.share_inputs else n_n)
    free = free * (1.0 if cfg.share_adcs else n_d)
    units = (1 if cfg.share_inputs else cfg.tiles) * (1 if cfg.share_adcs else cfg.cores_per_tile)
    if cfg.sequential_groups:
        return g * bound * _ceil_div(free, units)
    return bound * _ceil_div(g * free, units)


def _per_run(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 for digital layers (denominator 0)."""
    return np.divide(
        numerator, denominator, out=np.zeros_like(numerator, dtype=float), where=denominator > 0
    )


def _programming(
    table: LayerTable, cfg: HardwareConfig, tiles: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weight tiles programmed per layer and the time it takes (zero for streamed weights)."""
    if cfg.weight_shifter is None:
        zero = np.zeros_like(tiles)
        return zero, zero
    footprint = table.window @ np.where(table.first_call, tiles, 0.0)
    reprogram = table.gemm & ((footprint > cfg.cores) | table.dynamic)
    events = np.where(reprogram, tiles, 0.0)
    return events, _ceil_div(events, cfg.cores) * cfg.response_ns
