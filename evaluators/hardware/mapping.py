"""Mapping GEMMs onto the photonic array: core-passes, cycles, programming and device events.

docs/photonic-model.md §1, §3, §4 (SP ``onnarchsim/workflow/dataflow.py``, LT ``simulator_FFN.py``).
Per GEMM layer with g groups of W (N x D) times X (D x M) on H x W cores with N_lambda
wavelengths, R tiles of C cores, sign passes L and temporal accumulation T::

    n_N = ceil(N/H)   n_M = ceil(M/W)   n_D = ceil(D/N_lambda)
    P = g*n_N*n_M*n_D*L                core-passes (one core busy for one cycle)
    cycles = ceil(P/(R*C))              or g*ceil(n_N*n_M*n_D*L/(R*C)) with sequential_groups
    U = g*N*M*D / (P*H*W*N_lambda)      utilization

Device events per layer (counts, every padded lane included, as SimPhony charges them):
input symbols P*W*N_lambda (/R when tiles share input encoders); weight symbols P*H*N_lambda when
weights are streamed, else one H*N_lambda tile per programming event; node readouts
g*n_N*n_M*ceil(n_D/T)*L*H*W (each node sampled once per T cycles), ADC conversions = readouts (/C
when the cores of a tile share an ADC); detector node-cycles P*H*W (PDs and TIAs run every cycle);
partial sums g*N*M*ceil(n_D/T)*L, the readouts of real outputs that digital logic rescales and adds
(padded rows and columns are converted, since the ADC is on, but never post-processed).

Weight-stationary tuning (a shifter holds the weights): a layer's g*n_N*n_D weight tiles are
programmed, in ceil(tiles/(R*C)) waves of one response time each, unless they are still resident:
they are when every module run since the previous call of this one (cyclically, in steady-state
streaming; see ``layers._residency_windows``) fits into the R*C cores together. Weight-shared
iterations therefore reprogram nothing when the repeated block fits, and LT's MZI baseline
t_prog = ceil(n_N*n_D/(R*C))*t_resp is recovered for a layer that does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import HardwareConfig
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
    adc_conversions: np.ndarray
    node_cycles: np.ndarray  # detector node-cycles (two PDs each)


def _ceil_div(a: np.ndarray, b: float) -> np.ndarray:
    return np.ceil(a / b)


def map_layers(table: LayerTable, cfg: HardwareConfig) -> ArrayMapping:
    """Map every GEMM of ``table`` onto ``cfg``'s array."""
    h, w, lam, cores = cfg.rows, cfg.cols, cfg.wavelengths, cfg.cores
    g, sign = table.groups, cfg.sign_passes
    n_n, n_m, n_d = _ceil_div(table.n, h), _ceil_div(table.m, w), _ceil_div(table.d, lam)
    per_group = n_n * n_m * n_d * sign
    passes = g * per_group
    cycles = g * _ceil_div(per_group, cores) if cfg.sequential_groups else _ceil_div(passes, cores)
    tiles = g * n_n * n_d
    events, t_prog = _programming(table, cfg, tiles)
    samples = _ceil_div(n_d, cfg.temporal_accumulation) * sign  # per output, per group
    readouts = g * n_n * n_m * samples * (h * w)  # every node sampled once per T cycles
    streamed = cfg.weight_shifter is None
    weight_symbols = (passes if streamed else events) * (h * lam)
    return ArrayMapping(
        n_n=n_n,
        n_m=n_m,
        n_d=n_d,
        weight_tiles=tiles,
        passes=passes,
        cycles=cycles,
        utilization=np.divide(
            table.macs, passes * (h * w * lam), out=np.zeros_like(passes), where=passes > 0
        ),
        prog_events=events,
        t_compute_ns=cycles / cfg.clock_ghz,
        t_prog_ns=t_prog,
        input_symbols=passes * (w * lam) / (cfg.tiles if cfg.share_converters else 1),
        weight_symbols=weight_symbols,
        weight_modulations=weight_symbols if streamed else np.zeros_like(passes),
        partial_sums=g * table.n * table.m * samples,
        adc_conversions=readouts / (cfg.cores_per_tile if cfg.share_converters else 1),
        node_cycles=passes * (h * w),
    )


def _programming(
    table: LayerTable, cfg: HardwareConfig, tiles: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weight tiles programmed per layer and the time it takes (zero for streamed weights)."""
    if cfg.weight_shifter is None:
        zero = np.zeros_like(tiles)
        return zero, zero
    footprint = table.window @ np.where(table.first_call, tiles, 0.0)
    reprogram = table.gemm & (footprint > cfg.cores)
    events = np.where(reprogram, tiles, 0.0)
    return events, _ceil_div(events, cfg.cores) * cfg.response_ns
