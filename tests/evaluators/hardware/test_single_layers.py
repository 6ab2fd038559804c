"""Hand-computed costs of single layers on the small array of ``small_config``.

Array: H = 4 rows, W = 2 columns, N_lambda = 3, R = 1 tile of C = 2 cores, no sharing, T = 1,
5 GHz, 4 bits. docs/photonic-model.md §3-§4.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from evaluators.hardware import HardwareReport, cost_network, extract_layers
from tests.support.hardware import small_config

CONV = (nn.Conv2d(8, 6, 3, padding=1), (1, 8, 6, 6))  # N = 6, D = 72, M = 36


def cost(module: nn.Module, shape: tuple[int, int, int, int], **overrides: Any) -> HardwareReport:
    torch.manual_seed(0)
    return cost_network(extract_layers(module, shape), small_config(**overrides))


def gemm_row(report: HardwareReport) -> dict[str, float]:
    (row,) = [r for r in report.rows() if r["groups"]]
    return row  # type: ignore[return-value]


def test_standard_conv_mapping_and_events() -> None:
    row = gemm_row(cost(*CONV))
    # n_N = ceil(6/4) = 2, n_M = ceil(36/2) = 18, n_D = ceil(72/3) = 24
    assert (row["weight_tiles"], row["column_blocks"]) == (2 * 24, 18)
    assert row["passes"] == 2 * 18 * 24 == 864
    assert row["cycles"] == 432  # 864 passes over 2 cores
    assert row["utilization"] == pytest.approx(15552 / (864 * 4 * 2 * 3))  # 0.75
    # DAC conversions: input 864*W*N_l = 5184, weights streamed 864*H*N_l = 10368
    assert row["dac_conversions"] == 5184 + 10368
    assert row["adc_conversions"] == 864 * 4 * 2  # one per node-cycle at T = 1
    assert row["latency_us"] == pytest.approx(432 / 5 / 1e3)  # 86.4 ns


def test_standard_conv_energy_by_component() -> None:
    row = gemm_row(cost(*CONV))
    uj = 1e-6  # pJ -> uJ
    assert row["energy_dac_uj"] == pytest.approx(15552 * 0.4017857 * uj)  # 6248.57 pJ
    assert row["energy_modulator_uj"] == pytest.approx(15552 * 0.45 * uj)  # 6998.4 pJ
    assert row["energy_adc_uj"] == pytest.approx(6912 * 0.74 * uj)  # 5114.88 pJ
    assert row["energy_detector_uj"] == pytest.approx(6912 * (2 * 0.22 + 0.6) * uj)  # 7188.48
    # 72 MRR rerouters ((4+2)*3*2 per core, 2 cores) hold 0.275 mW each for 86.4 ns
    assert row["energy_tuning_uj"] == pytest.approx(72 * 0.275 * 86.4 * uj)  # 1710.72 pJ
    # laser (LT photonic_crossbar.py): -25 dBm + 4.02 dB path (modulator 1.2, 2 rings 1.86,
    # 2 splitters 0.2, node 0.76) + 10 log10(8) = -11.949 dBm = 0.063842 mW per core,
    # /0.2 wall-plug * 2^4 = 5.1074 mW, 2 cores, for 86.4 ns
    assert row["energy_laser_uj"] == pytest.approx(10.2147 * 86.4 * uj, rel=1e-4)
    # memory: RF 15552 symbols * 0.5 B * 0.0365; SRAM (288 + 216 + 438) * 0.5 B * 0.46;
    # DRAM input + output (288 + 216) * 0.5 B * 62.4 (weights fit on chip)
    assert (row["sram_bytes"], row["dram_bytes"]) == (471, 252)
    memory = 7776 * 0.0365 + 471 * 0.46 + 252 * 62.4
    assert row["energy_memory_uj"] == pytest.approx(memory * uj)  # 16225.28 pJ
    # bias adds + rescale and add of the 6*36*24 = 5184 real partial sums (padding skipped)
    assert row["energy_digital_uj"] == pytest.approx((216 + 2 * 5184) * 0.1 * uj)


@pytest.mark.parametrize(
    ("module", "shape", "macs", "passes", "cycles", "adc"),
    [
        # depthwise 8 ch: g = 8, N = 1, D = 9 -> n_N 1, n_M 18, n_D 3
        (nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), (1, 8, 6, 6), 2592, 432, 216, 3456),
        # grouped 8 -> 12, g = 4: N = 3, D = 18 -> n_N 1, n_M 18, n_D 6
        (nn.Conv2d(8, 12, 3, padding=1, groups=4, bias=False), (1, 8, 6, 6), 7776, 432, 216, 3456),
        # pointwise 8 -> 6: N = 6, D = 8 -> n_N 2, n_M 18, n_D 3
        (nn.Conv2d(8, 6, 1), (1, 8, 6, 6), 1728, 108, 54, 864),
        # linear 12 -> 5 on a batch of 2: N = 5, D = 12, M = 2 -> n_N 2, n_M 1, n_D 4
        (nn.Sequential(nn.Flatten(), nn.Linear(12, 5)), (2, 3, 2, 2), 120, 8, 4, 64),
    ],
    ids=["depthwise", "grouped", "pointwise", "linear"],
)
def test_layer_kinds(
    module: nn.Module, shape, macs: int, passes: int, cycles: int, adc: int
) -> None:
    row = gemm_row(cost(module, shape))
    assert (row["macs"], row["passes"], row["cycles"], row["adc_conversions"]) == (
        macs,
        passes,
        cycles,
        adc,
    )
    assert row["utilization"] == pytest.approx(macs / (passes * 24))
    assert row["energy_adc_uj"] == pytest.approx(adc * 0.74e-6)


def test_temporal_accumulation_converts_every_t_cycles() -> None:
    row = gemm_row(cost(*CONV, temporal_accumulation=2))
    assert row["cycles"] == 432  # unchanged
    assert row["adc_conversions"] == 2 * 18 * 12 * 8  # ceil(24/2) samples per output block
    # photodiodes every cycle, TIAs per conversion (both references divide them by T)
    assert row["energy_detector_uj"] == pytest.approx((6912 * 0.44 + 3456 * 0.6) * 1e-6)
    # an integrator is an option (SP integrator.yml 0.3 mW), one per TIA channel: 16 here
    row = gemm_row(cost(*CONV, temporal_accumulation=2, integrator_mw=0.3))
    assert row["energy_detector_uj"] == pytest.approx(
        (6912 * 0.44 + 3456 * 0.6 + 16 * 0.3 * 86.4) * 1e-6
    )


def test_shared_converters_divide_input_encoders_by_tiles_and_adcs_by_cores() -> None:
    row = gemm_row(cost(*CONV, tiles=2, share_inputs=True, share_adcs=True))
    # tiles split the 2 row blocks, cores the 24 reduction blocks: 1 * 18 * 12 cycles
    assert row["cycles"] == 18 * 12 == 864 / 4
    # per cycle 2 cores x 2 x 3 shared input symbols and 4 cores x 4 x 3 weight symbols
    assert row["dac_conversions"] == 216 * (12 + 48) == 5184 / 2 + 10368
    # 2 tiles x 8 node positions convert once per run of 12 cycles at T = 1: 12 times
    assert row["adc_conversions"] == 216 * 16 == 6912 / 2


def test_sequential_groups_and_sign_passes() -> None:
    grouped = (nn.Conv2d(8, 12, 3, padding=1, groups=4, bias=False), (1, 8, 5, 5))
    # per group n_N 1 * n_M ceil(25/2) = 13 * n_D 6 = 78 passes, 4 cores
    assert gemm_row(cost(*grouped, tiles=2))["cycles"] == 78  # ceil(312/4)
    assert gemm_row(cost(*grouped, tiles=2, sequential_groups=True))["cycles"] == 4 * 20
    assert gemm_row(cost(*CONV, sign_passes=2))["passes"] == 2 * 864


def test_weight_stationary_conv_pays_programming() -> None:
    report = cost(*CONV, weight_tuning="mems")
    row = gemm_row(report)
    # 48 weight tiles > 2 cores: all programmed, 24 waves of 2 us each
    assert row["prog_events"] == 48
    assert row["program_us"] == 24 * 2.0
    assert row["latency_us"] == pytest.approx((432 / 5 + 24 * 2000) / 1e3)
    assert row["dac_conversions"] == 5184 + 48 * 4 * 3  # weights converted once per tile
    assert row["energy_modulator_uj"] == pytest.approx(5184 * 0.45e-6)  # inputs only
    thermal = gemm_row(cost(*CONV, weight_tuning="thermo-optic"))
    # 24 weight shifters (H*N_l per core) at half of P_pi = 30 mW, plus the 72 rings
    hold_mw = 24 * 15.0 + 72 * 0.275
    assert thermal["energy_tuning_uj"] == pytest.approx(hold_mw * thermal["latency_us"] * 1e-3)


def test_report_metrics_for_a_single_layer() -> None:
    report = cost(*CONV)
    metrics = report.metrics()
    assert metrics["macs"] == 15552 and metrics["params"] == 438
    assert metrics["latency_ms"] == pytest.approx(86.4e-6)
    assert metrics["throughput_fps"] == pytest.approx(1 / 86.4e-9)
    assert metrics["power_w"] == pytest.approx(metrics["energy_uj"] / 86.4e-3)
    assert metrics["utilization"] == pytest.approx(0.75)
