"""The trade-offs the search must see (docs/photonic-model.md §3): idle arrays, shared weights."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from evaluators.hardware import HardwareConfig, cost_network, extract_layers
from tests.support.hardware import SharedBlockNet

SHAPE = (1, 32, 96, 128)  # §3's example: 32 channels at 96x128 on the default core


class Ghost(nn.Module):
    """GhostNet module: 1x1 primary conv 32 -> 16, then 16 depthwise 3x3 maps, concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.primary = nn.Conv2d(32, 16, 1, bias=False)
        self.cheap = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.primary(x)
        return torch.cat([y, self.cheap(y)], dim=1)


def gemm_totals(module: nn.Module) -> tuple[float, float, float]:
    """MACs, core-passes and cycles of the GEMM layers on the default DOTA-B chip."""
    report = cost_network(extract_layers(module, SHAPE), HardwareConfig())
    t = report.totals()
    return t["macs"], t["passes"], t["cycles"]


def test_depthwise_separable_does_fewer_macs_per_cycle_than_standard() -> None:
    dense = gemm_totals(nn.Conv2d(32, 32, 3, padding=1, bias=False))
    dw = gemm_totals(nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False))
    separable = gemm_totals(
        nn.Sequential(nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False), nn.Conv2d(32, 32, 1))
    )
    assert dense[:2] == (113_246_208, 73_728)  # §3: 113 M MACs in 73 728 core-passes
    assert dense[0] / dw[0] == 32 and dense[1] / dw[1] == 2.25  # 32x fewer MACs, 2.25x passes
    assert dw[0] / (dw[1] * 12 * 12 * 12) == pytest.approx(9 / 12 / 12)  # U <= 6.25 %
    assert separable[0] / separable[2] < dense[0] / dense[2] / 3  # MACs per cycle


def test_ghost_module_saves_far_fewer_passes_than_macs() -> None:
    dense = gemm_totals(nn.Conv2d(32, 32, 3, padding=1, bias=False))
    ghost = gemm_totals(Ghost())
    assert dense[0] / ghost[0] == pytest.approx(14.0, rel=0.01)  # §3: 14x fewer MACs
    assert dense[1] / ghost[1] == pytest.approx(3.3, rel=0.02)  # but only 3.3x fewer passes


def shared_net_report(iterations: int, cfg: HardwareConfig):
    torch.manual_seed(0)
    layers = extract_layers(SharedBlockNet(iterations), (1, 3, 8, 8))
    return layers, cost_network(layers, cfg)


def block_cycles(report) -> float:
    return sum(r["cycles"] for r in report.rows() if str(r["module"]).startswith("block."))


def test_shared_block_costs_t_times_compute_but_no_extra_programming() -> None:
    cfg = HardwareConfig.preset("dota-b-mems")  # weights held in MEMS shifters, 8 cores
    _, once = shared_net_report(1, cfg)
    _, thrice = shared_net_report(3, cfg)
    assert block_cycles(thrice) == 3 * block_cycles(once) > 0
    # 19 weight tiles do not fit 8 cores, so every module is programmed once per inference;
    # the 2-tile block stays resident between its iterations
    assert once.totals()["prog_events"] == thrice.totals()["prog_events"] == 19
    assert once.metrics()["params"] == thrice.metrics()["params"]


def test_shared_block_reprograms_when_it_does_not_fit() -> None:
    cfg = dataclasses.replace(HardwareConfig.preset("dota-b-mems"), tiles=1, cores_per_tile=1)
    _, once = shared_net_report(1, cfg)
    _, thrice = shared_net_report(3, cfg)
    assert thrice.totals()["prog_events"] == once.totals()["prog_events"] + 2 * 2


def test_shared_weights_travel_from_dram_once() -> None:
    no_sram = dataclasses.replace(HardwareConfig(), sram_kb=0.0)  # weights cannot stay on chip
    once, thrice = (shared_net_report(t, no_sram)[1].totals() for t in (1, 3))
    assert once["dram_bytes"] == thrice["dram_bytes"] > 0
    assert thrice["sram_bytes"] > once["sram_bytes"]  # each iteration reads the buffer again


def test_shared_inputs_make_depthwise_and_ghost_slower_than_dense_on_dota_b() -> None:
    """§3: DOTA-B's tiles split output rows and its cores the reduction, so groups of one row
    and nine products leave 7 of 8 cores idle: the depthwise conv takes 32 * 1 024 cycles, 2.7x
    the dense one's 1 024 * 12 (fewer MACs by 32x), the ghost module 1.5x."""
    dense = gemm_totals(nn.Conv2d(32, 32, 3, padding=1, bias=False))
    dw = gemm_totals(nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False))
    ghost = gemm_totals(Ghost())
    assert (dense[2], dw[2], ghost[2]) == (1024 * 12, 32 * 1024, 1024 * 2 + 16 * 1024)
    # the same work on 8 independent cores (no sharing) would take P/8: dw 0.44x, ghost 0.31x
    free = dataclasses.replace(HardwareConfig(), share_inputs=False, share_adcs=False)
    layers = extract_layers(nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False), SHAPE)
    assert cost_network(layers, free).totals()["cycles"] == 32 * 1024 / 8
