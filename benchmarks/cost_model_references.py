"""The cost model beside SimPhony and Lightening-Transformer: the figures of their own files.

Prints the side-by-side table of benchmarks/RESULTS.md ("Cost model against SimPhony and
Lightening-Transformer"): each figure as the reference gives it (file and commit in
tests/evaluators/hardware/test_references.py, whose constants and models this script reuses)
and as this model computes it, on the preset that follows the reference (``sp-dota-b`` for
SimPhony's partition and charging; for LT's figures ``lt-dota-b`` at T = 1 with LT's DAC law, as
LT's profile computes them) and on the default preset ``lt-dota-b``.

Usage: .venv/bin/python benchmarks/cost_model_references.py
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import torch
from benchmark_support import machine
from torch import nn

from evaluators.hardware import HardwareConfig, cost_network, evaluate_hardware
from evaluators.hardware.area import area_mm2
from evaluators.hardware.energy import laser_power_mw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the reference figures live in tests/
from tests.evaluators.hardware import test_references as ref

Row = tuple[str, float | None, float | None, float, float]


def _full_rate_w(bits: int, law: str) -> float:
    cfg = HardwareConfig(
        input_bits=bits, weight_bits=bits, adc_bits=bits, temporal_accumulation=1, dac_law=law
    )
    t = evaluate_hardware(nn.Linear(768, 768), (1, 2400, 768), cfg).totals()
    return sum(t[f"energy_{c}_uj"] for c in ref.ARRAY) / t["latency_us"]


def rows() -> list[Row]:
    """(figure, SimPhony, LT, model on the matching preset, model on lt-dota-b)."""
    cnn, vit = ref.cnn_layers(), ref.vit_layers()
    mapped = ("linear", "conv16x16/s16")
    sp_cnn_cycles = sum(n * d * m for n, d, m, *_ in ref.SP_CNN_PARTITION)
    sp_vit_cycles = 2524160

    def cycles(table: object, preset: str, ops: tuple[str, ...] | None = None) -> float:
        report = cost_network(table, HardwareConfig.preset(preset))  # type: ignore[arg-type]
        return sum(float(r["cycles"]) for r in report.rows() if ops is None or r["op"] in ops)

    sp_cnn_pj = ref.SP_CNN_TOTAL_PJ - ref.SP_CNN["laser"][2]
    sp_vit_pj = ref.SP_VIT_TOTAL_PJ - ref.SP_VIT_LASER_PJ
    lt_power = {b: ref.lt_power_mw(b) for b in (4, 8)}
    photonic = {
        b: sum(v for k, v in lt_power[b].items() if k not in ("adder", "mem")) / 1e3 for b in (4, 8)
    }
    area = area_mm2(HardwareConfig())
    core = HardwareConfig.preset("dptc-core")
    return [
        (
            "SP small CNN, cycles",
            sp_cnn_cycles,
            None,
            cycles(cnn, "sp-dota-b"),
            cycles(cnn, "lt-dota-b"),
        ),
        (
            "SP small CNN, energy without laser (nJ)",
            sp_cnn_pj / 1e3,
            None,
            ref.array_pj(cnn, "sp-dota-b", ref.WITHOUT_LASER, None) / 1e3,
            ref.array_pj(cnn, "lt-dota-b", ref.WITHOUT_LASER, None) / 1e3,
        ),
        (
            "SP ViT-B batch 2, cycles",
            sp_vit_cycles,
            None,
            cycles(vit, "sp-dota-b", mapped),
            cycles(vit, "lt-dota-b", mapped),
        ),
        (
            "SP ViT-B batch 2, energy without laser (mJ)",
            sp_vit_pj / 1e9,
            None,
            ref.array_pj(vit, "sp-dota-b", ref.WITHOUT_LASER, mapped) / 1e9,
            ref.array_pj(vit, "lt-dota-b", ref.WITHOUT_LASER, mapped) / 1e9,
        ),
        (
            "SP chip area without memory (mm^2)",
            ref.SP_CHIP_AREA_UM2 / 1e6,
            None,
            sum(v for k, v in area.items() if k != "memory"),
            sum(v for k, v in area.items() if k != "memory"),
        ),
        (
            "LT DOTA-B area (mm^2)",
            None,
            ref.LT_AREA["total"],
            sum(area.values()),
            sum(area.values()),
        ),
        (
            "LT laser per core, 4 bit (mW)",
            None,
            lt_power[4]["laser"] / 8,
            laser_power_mw(core),
            laser_power_mw(core),
        ),
        (
            "LT full-rate power 4 bit, photonic (W)",
            None,
            photonic[4],
            _full_rate_w(4, "lt"),
            _full_rate_w(4, "sp"),
        ),
        (
            "LT full-rate power 8 bit, photonic (W)",
            None,
            photonic[8],
            _full_rate_w(8, "lt"),
            _full_rate_w(8, "sp"),
        ),
    ]


def main() -> None:
    torch.set_num_threads(1)
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"machine: {machine()}")
    print("| figure | SimPhony | LT | model, matching preset | ratio | model, lt-dota-b | ratio |")
    print("|---|---|---|---|---|---|---|")
    for figure, sp, lt, matching, preset in rows():
        reference = sp if sp is not None else lt
        assert reference is not None
        cells = [f"{v:.5g}" if v is not None else "—" for v in (sp, lt)]
        print(
            f"| {figure} | {cells[0]} | {cells[1]} | {matching:.5g} | {matching / reference:.3f} "
            f"| {preset:.5g} | {preset / reference:.3f} |"
        )


if __name__ == "__main__":
    main()
