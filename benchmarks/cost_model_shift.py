"""How a change of the cost model moves a CamVid search on the hardware-only path.

The same designs (a Latin hypercube over ``search_spaces/camvid.yaml``'s params, seeded) are
built untrained and costed by the hardware model of the working tree; ``--out`` writes each
design's params and hardware metrics as JSON. ``--compare BEFORE AFTER`` reads two such files
(measured before and after a change) and reports what moved: Kendall tau of the designs'
rankings by each metric, the median ratio after/before, and the Pareto front among the designs
within the space's area constraint.

By default accuracy is not measured: this isolates what the cost model alone does to the two
hardware objectives. Throughput and energy alone hardly conflict on this space (the fastest
designs are also the most frugal), so the front then also maximises the converter precision
min(hw.bits, hw.adc_bits), a stated stand-in for the accuracy objective. With ``--accuracy
CACHE`` each design is also scored as the space's search scores it (its supernet fidelity, the
supernet trained into or found in CACHE), and ``--compare`` builds both fronts on that ``miou``
(the file that has it; the same designs, so the same scores before and after): the search's own
three objectives, with only the cost model changed.

Usage:
  .venv/bin/python benchmarks/cost_model_shift.py --out before.json [--designs 200 --seed 0]
  .venv/bin/python benchmarks/cost_model_shift.py --out after.json --accuracy runs/cache
  .venv/bin/python benchmarks/cost_model_shift.py --compare before.json after.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from benchmark_support import latin_hypercube, machine
from scipy.stats import kendalltau

from evaluators.hardware import HardwareConfig, cost_network, extract_layers
from evaluators.network import NetworkConfig, build_network
from evaluators.photonic_segmentation import PhotonicSegmentationEvaluator

SPACE = Path(__file__).resolve().parent.parent / "search_spaces" / "camvid.yaml"
METRICS = ("throughput_fps", "energy_uj", "area_mm2", "latency_ms", "power_w", "cycles")


def measure(designs: int, seed: int, accuracy_cache: Path | None = None) -> dict[str, Any]:
    """Hardware metrics of ``designs`` designs of the CamVid space, with their params; with
    ``accuracy_cache``, also their ``miou`` at the space's own (supernet) fidelity."""
    space = yaml.safe_load(SPACE.read_text())
    options = space["evaluator"]["options"]
    shape = (1, 3, *options["image_size"])
    scorer = None if accuracy_cache is None else _scorer(space, accuracy_cache)
    rows = []
    for index, params in enumerate(latin_hypercube(space["params"], designs, seed)):
        net = build_network(NetworkConfig.from_params(params), 11, seed=0)
        report = cost_network(extract_layers(net, shape), HardwareConfig.from_params(params))
        metrics = report.metrics()
        rows.append({"params": params, **{k: float(metrics[k]) for k in METRICS}})
        if scorer is not None:
            rows[-1]["miou"] = float(scorer.evaluate(dict(params))["miou"])
            print(f"scored {index + 1}/{designs}: miou {rows[-1]['miou']:.3f}", file=sys.stderr)
    area_max = next(c["max"] for c in space["constraints"] if c["metric"] == "area_mm2")
    return {"machine": machine(), "area_max": area_max, "designs": rows}


def _scorer(space: dict[str, Any], cache: Path) -> PhotonicSegmentationEvaluator:
    """The space's evaluator as a search's worker holds it (supernet prepared in ``cache``)."""
    options = {**space["evaluator"]["options"], "threads": 1}
    prepared = PhotonicSegmentationEvaluator(**options).prepare(cache, space["params"])
    scorer = PhotonicSegmentationEvaluator(**{**options, **prepared})
    scorer.setup()
    return scorer


def _goals(row: dict[str, Any], miou: float | None) -> tuple[float, float, float]:
    """Objectives to maximise: throughput, -energy, and accuracy (the measured ``miou``, else
    the precision stand-in)."""
    p = row["params"]
    third = min(p["hw.bits"], p["hw.adc_bits"]) if miou is None else miou
    return row["throughput_fps"], -row["energy_uj"], third


def front(
    rows: list[dict[str, Any]], area_max: float, miou: list[float] | None = None
) -> list[int]:
    """Indices of the feasible designs that no other feasible design dominates."""
    ok = [i for i, r in enumerate(rows) if r["area_mm2"] <= area_max]
    goals = {i: _goals(rows[i], None if miou is None else miou[i]) for i in ok}

    def beats(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
        return all(x >= y for x, y in zip(a, b, strict=True)) and a != b

    return [i for i in ok if not any(beats(goals[j], goals[i]) for j in ok if j != i)]


def describe(row: dict[str, Any]) -> str:
    p = row["params"]
    blocks = "/".join(str(p[f"arch.stage{s}.block"])[:2] for s in (1, 2, 3))
    return (
        f"w{p['arch.width']} {blocks} b{p['hw.bits']} a{p['hw.array_size']} "
        f"l{p['hw.wavelengths']} t{p['hw.tiles']} {p['hw.clock_ghz']:.0f}GHz"
    )


def compare(before_path: Path, after_path: Path) -> None:
    before, after = (json.loads(Path(p).read_text()) for p in (before_path, after_path))
    old, new = before["designs"], after["designs"]
    assert [r["params"] for r in old] == [r["params"] for r in new], "not the same designs"
    print(f"designs: {len(old)}; area <= {after['area_max']} mm^2")
    for metric in METRICS:
        ratio = np.array([n[metric] / o[metric] for o, n in zip(old, new, strict=True)])
        tau = kendalltau([o[metric] for o in old], [n[metric] for n in new]).statistic
        print(
            f"{metric:<15} after/before median {np.median(ratio):.3g} "
            f"(p10 {np.percentile(ratio, 10):.3g}, p90 {np.percentile(ratio, 90):.3g}); "
            f"Kendall tau of the ranking {tau:.3f}"
        )
    infeasible = [sum(r["area_mm2"] > after["area_max"] for r in rows) for rows in (old, new)]
    print(f"infeasible by area: {infeasible[0]} before, {infeasible[1]} after")
    scored = next((rows for rows in (new, old) if "miou" in rows[0]), None)
    miou = None if scored is None else [r["miou"] for r in scored]
    fronts = [front(old, before["area_max"], miou), front(new, after["area_max"], miou)]
    kept = sorted(set(fronts[0]) & set(fronts[1]))
    third = "precision" if miou is None else "supernet miou"
    print(f"front (throughput, energy, {third}): {len(fronts[0])} before, {len(fronts[1])} after,")
    print(f"  {len(kept)} on both")
    for name, indices, rows in (("before", fronts[0], old), ("after", fronts[1], new)):
        print(f"front {name}:")
        for i in sorted(indices, key=lambda i: rows[i]["throughput_fps"]):
            r = rows[i]
            mark = "*" if i in kept else " "
            score = "" if miou is None else f"{miou[i]:>7.3f} miou"
            print(
                f"  {mark} #{i:<4}{describe(r):<38}{r['throughput_fps']:>10.4g} fps"
                f"{r['energy_uj']:>10.4g} uJ{r['area_mm2']:>8.1f} mm^2{score}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the measurements here")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--designs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--accuracy", type=Path, metavar="CACHE", help="also score miou (supernet in CACHE)"
    )
    args = parser.parse_args()
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    if args.compare:
        compare(*args.compare)
        return
    if args.out is None:
        parser.error("give --out or --compare")
    torch.set_num_threads(1)
    result = measure(args.designs, args.seed, args.accuracy)
    print(f"machine: {result['machine']}")
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
