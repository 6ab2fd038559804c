"""CPU seconds of one supernet-level score per design, with the native tile and without.

Issue 13's scoring cost: what ``fidelity: supernet`` spends on a design of the shipped CamVid
space once its weights are sliced (batch-norm recalibration on ``recalibration_images`` frames
through a calibration chip, then ``noise_samples`` chips and the clean pass on ``num_val``
frames), timed as process CPU on one thread, the way a search worker runs it. Each of the
committed reference designs is sliced from a supernet, at its initialisation or ``--supernet``
(a trained one from a cache's ``supernets/``: trained weights make other ADC clipping and so a
little other work), and scored once per tile: ``native`` (:mod:`evaluators.noise.native`) and
``pytorch`` (``PHOTONIC_DSE_NATIVE=0``), in that order, each after its own warm-up design.

Usage (from the repository root; CamVid as the space reads it, ``DSE_CAMVID_ROOT``)::

    .venv/bin/python benchmarks/scoring_cost.py [--designs 24] [--tiles native pytorch] \\
        [--supernet runs/cache/supernets/KEY.pt] [--out report.md]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from pathlib import Path

import torch
import yaml
from benchmark_support import code_commit, machine, publish

from evaluators.allocation import keep_large_buffers
from evaluators.data import SegmentationData
from evaluators.design import Design
from evaluators.fidelities.supernet import recalibrate
from evaluators.measurements import measure
from evaluators.noise import native
from evaluators.segmentation_options import SegmentationOptions
from evaluators.supernet import Supernet, SupernetSpace, load_supernet

REPO = Path(__file__).resolve().parents[1]
SPACE = REPO / "search_spaces" / "camvid.yaml"
REFERENCE = REPO / "benchmarks" / "reference" / "camvid_standalone.json"
TILES = {"native": "1", "pytorch": "0"}  # PHOTONIC_DSE_NATIVE


def score_seconds(
    supernet: Supernet, design: Design, options: SegmentationOptions, data: SegmentationData
) -> tuple[float, float, float]:
    """(recalibration, measurement, noisy mIoU of the first chip): CPU seconds and a check."""
    network = supernet.network(design.params)
    start = time.process_time()
    recalibrate(network, design, options, data)
    middle = time.process_time()
    measurement = measure(network, design, options, data)
    return middle - start, time.process_time() - middle, measurement.noisy[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--designs", type=int, default=24, help="reference designs to score")
    parser.add_argument("--tiles", nargs="+", choices=list(TILES), default=list(TILES))
    parser.add_argument("--supernet", type=Path, default=None, help="a trained supernet file")
    parser.add_argument("--glibc-defaults", action="store_true", help="skip keep_large_buffers")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    kept = False if args.glibc_defaults else keep_large_buffers()
    space = yaml.safe_load(SPACE.read_text())
    options = SegmentationOptions.create(**space["evaluator"]["options"])
    data = options.load_data()
    supernet = (
        load_supernet(args.supernet)
        if args.supernet
        else Supernet(SupernetSpace.from_domains(space["params"]), data.num_classes, seed=0)
    )
    rows = json.loads(REFERENCE.read_text())["rows"][: args.designs]
    designs = [Design.resolve(row["params"], options) for row in rows]
    totals: dict[str, list[float]] = {}
    lines = ["| design | tile | recalibration s | scoring s | total s | mIoU, chip 1 |"]
    lines.append("|---|---|---|---|---|---|")
    for tile in args.tiles:
        os.environ["PHOTONIC_DSE_NATIVE"] = TILES[tile]
        native.tile_kernel.cache_clear()
        score_seconds(supernet, designs[0], options, data)  # warm-up: imports, the build
        for row, design in zip(rows, designs, strict=True):
            recal, scoring, miou = score_seconds(supernet, design, options, data)
            totals.setdefault(tile, []).append(recal + scoring)
            lines.append(
                f"| {row['index']} | {tile} | {recal:.2f} | {scoring:.2f} |"
                f" {recal + scoring:.2f} | {miou:.4f} |"
            )
    summary = [
        f"{tile}: median {statistics.median(times):.2f} s, max {max(times):.2f} s"
        for tile, times in totals.items()
    ]
    text = "\n".join(
        [f"Machine: {machine()}, 1 torch thread; code {code_commit()}",
         f"Large buffers kept (evaluators.allocation): {kept}; peak RSS"
         f" {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB",
         f"Supernet: {args.supernet or 'at its initialisation'}", "",
         *lines, "", "Per design (recalibration included): " + "; ".join(summary)]
    )  # fmt: skip
    publish(text, args.out)


if __name__ == "__main__":
    main()
