"""The partition follows the sharing (docs/photonic-model.md §3), computed by hand on DOTA-B.

DOTA-B: R = 4 tiles sharing input encoders (so they split the output rows: ceil(n_N/4) row waves)
of C = 2 cores summing into one TIA + ADC per node (so they split the reduction: runs of
ceil(n_D/2) cycles); 12 x 12 cores, 12 wavelengths, T = 3. Sources: SP
onnarchsim/workflow/dataflow.py (N over H*R, M over W*C) and LT simulator_FFN.py (ps_size:
the cores of a tile summed before the ADC), at the commits of test_references.py.
"""

from __future__ import annotations

import dataclasses

import pytest
from torch import nn

from evaluators.hardware import HardwareConfig, HardwareReport, cost_network, extract_layers

DEPTHWISE = (nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False), (1, 16, 8, 8))
NARROW = (nn.Conv2d(64, 8, 1, bias=False), (1, 64, 8, 8))  # 8 output rows: 1 row block of 12


def row(layer: tuple[nn.Module, tuple[int, ...]], preset: str = "lt-dota-b", **overrides: object):
    module, shape = layer
    cfg = dataclasses.replace(HardwareConfig.preset(preset), **overrides)
    report: HardwareReport = cost_network(extract_layers(module, shape), cfg)
    (gemm,) = [r for r in report.rows() if r["groups"]]
    return gemm


def test_depthwise_layer_leaves_tiles_and_cores_idle() -> None:
    """g = 16 groups of N = 1, D = 9, M = 64: n_N = 1 < 4 tiles, n_D = 1 < 2 cores, n_M = 6.

    Inputs shared across tiles: a tile can only take another row block of the same group, and
    there is none, so 3 tiles idle; the cores of a tile sum one output, so 1 core idles.
    """
    r = row(DEPTHWISE)
    assert r["passes"] == 16 * 1 * 6 * 1 == 96  # the work, in core-passes
    assert r["cycles"] == 16 * 6 * 1 * 1 == 96  # g * n_M * ceil(1/4) * ceil(1/2)
    assert r["utilization"] == pytest.approx(16 * 9 * 64 / (96 * 12 * 12 * 12 * 8))  # 0.7 %
    # the busy core's devices only: one input block (12 x 12 symbols) and one weight block per
    # cycle, and its 144 node channels convert once per cycle (a run of 1 cycle < T = 3)
    assert r["dac_conversions"] == 96 * (144 + 144)
    assert r["adc_conversions"] == 96 * 144
    # SimPhony charges every device of the chip on every cycle: 288 shared input and 1 152
    # weight encoders, 576 channels
    ungated = row(DEPTHWISE, gate_idle=False)
    assert ungated["dac_conversions"] == 96 * (288 + 1152)
    assert ungated["adc_conversions"] == 96 * 576
    # a free pool of 8 cores (no sharing) would take ceil(96/8) = 12 cycles: 8x optimistic
    assert row(DEPTHWISE, share_inputs=False, share_adcs=False)["cycles"] == 12
    # SimPhony's partition (cores of a tile free): ceil(1/4) * ceil(16 * 6 * 1 / 2) = 48
    assert row(DEPTHWISE, "sp-dota-b")["cycles"] == 48


def test_narrow_pointwise_layer_with_fewer_row_blocks_than_tiles() -> None:
    """N = 8, D = 64, M = 64: n_N = 1 row block for 4 tiles, n_D = 6 -> runs of 3, n_M = 6."""
    r = row(NARROW)
    assert r["passes"] == 1 * 6 * 6 == 36
    assert r["cycles"] == 1 * 3 * 6 == 18  # ceil(1/4) * ceil(6/2) * n_M
    assert r["utilization"] == pytest.approx(8 * 64 * 64 / (18 * 13824))  # 13 %
    # each of the 6 output tiles is converted once (run 3 = T) on its 144 summed channels
    assert r["adc_conversions"] == 6 * 144
    # the shared input: 6 column blocks x 6 reduction blocks, once for the single row wave
    assert r["dac_conversions"] == 6 * 6 * 144 + 36 * 144
    # its readouts of real outputs: 8 rows x 64 pixels, once each
    assert r["digital_ops"] == 2 * 8 * 64
    assert row(NARROW, share_inputs=False, share_adcs=False)["cycles"] == 5  # ceil(36/8)
    assert row(NARROW, "sp-dota-b")["cycles"] == 18  # ceil(1/4) * ceil(6 * 6 / 2)
    # 48 output rows fill the 4 tiles: the same 18 cycles do 6x the work
    wide = row((nn.Conv2d(64, 48, 1, bias=False), (1, 64, 8, 8)))
    assert (wide["passes"], wide["cycles"]) == (4 * 6 * 6, 18)


def test_sign_passes_and_sequential_groups_on_dota_b() -> None:
    assert row(NARROW, sign_passes=2)["cycles"] == 2 * 18
    # groups already run one after another on DOTA-B: the switch changes nothing there
    assert row(DEPTHWISE, sequential_groups=True)["cycles"] == 96
    assert row(DEPTHWISE, "sp-dota-b", sequential_groups=True)["cycles"] == 16 * 3  # g*ceil(6/2)
