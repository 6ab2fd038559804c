"""Training time in the two memory layouts: what :func:`evaluators.training.training_layout` chose.

Times float training steps of the shipped CamVid space in NCHW (contiguous) and channels-last:
the supernet's (its recipe's sampler, paths per step, distillation and batch) and those of the
committed reference designs standalone (batch 8, as the reference recipe trains them). Same
steps, same random streams in both layouts; only the layout differs. Weights start from their
initialisation: the time does not depend on the values.

Usage (from the repository root; CamVid as the space reads it, ``DSE_CAMVID_ROOT``)::

    .venv/bin/python benchmarks/training_layout.py [--steps 8] [--designs 24] [--out report.md]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import torch
import yaml
from benchmark_support import machine, publish

from evaluators import training
from evaluators.design import Design
from evaluators.segmentation_options import SegmentationOptions
from evaluators.supernet import Supernet, SupernetSpace
from evaluators.supernet.training import train_paths

REPO = Path(__file__).resolve().parents[1]
SPACE = REPO / "search_spaces" / "camvid.yaml"
REFERENCE = REPO / "benchmarks" / "reference" / "camvid_standalone.json"
LAYOUTS = {"nchw": torch.contiguous_format, "channels_last": torch.channels_last}


def timed(run: Callable[[], object], layout: torch.memory_format) -> float:
    """Seconds ``run`` takes with :func:`training.train` laying out as ``layout``."""
    with mock.patch.object(training, "training_layout", lambda device: layout):
        start = time.perf_counter()
        run()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=8, help="optimizer steps per timing")
    parser.add_argument("--designs", type=int, default=24, help="reference designs to time")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    space = yaml.safe_load(SPACE.read_text())
    options = SegmentationOptions.create(**space["evaluator"]["options"])
    settings = options.supernet_settings
    data = options.load_data()
    supernet_data = data.subset(args.steps * settings.batch_size, None, 0)
    design_data = data.subset(args.steps * 8, None, 0)
    supernet_space = SupernetSpace.from_domains(space["params"])
    rows = ["| what | NCHW s | channels-last s | speed-up |", "|---|---|---|---|"]

    def supernet_run() -> object:
        supernet = Supernet(supernet_space, data.num_classes, seed=0)
        phase = dataclasses.replace(settings.float_phase(), epochs=1)
        return train_paths(supernet, supernet_data, phase, seed=0, device="cpu")

    times = {name: timed(supernet_run, layout) for name, layout in LAYOUTS.items()}
    rows.append(_row(f"supernet, {args.steps} steps", times))
    ratios = []
    for row in json.loads(REFERENCE.read_text())["rows"][: args.designs]:
        design = Design.resolve(row["params"], options)

        def design_run(design: Design = design) -> object:
            network = design.build(data.num_classes, seed=0)
            return training.train(network, design_data, epochs=1, seed=0, device="cpu")

        times = {name: timed(design_run, layout) for name, layout in LAYOUTS.items()}
        ratios.append(times["nchw"] / times["channels_last"])
        rows.append(_row(f"reference design {row['index']}, {args.steps} steps", times))
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    summary = ", ".join(f"{q:.2f}" for q in quartiles)
    text = "\n".join(
        [f"Machine: {machine()}, {torch.get_num_threads()} torch threads", "", *rows, "",
         f"Standalone designs' speed-up, quartiles: {summary}"]
    )  # fmt: skip
    publish(text, args.out)


def _row(what: str, times: dict[str, float]) -> str:
    nchw, last = times["nchw"], times["channels_last"]
    return f"| {what} | {nchw:.2f} | {last:.2f} | {nchw / last:.2f} |"


if __name__ == "__main__":
    main()
