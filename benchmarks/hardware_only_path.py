"""Hardware-only evaluation: the evaluator's cost per design against the cost model's own.

An architect exploring the accelerator for a fixed network runs the evaluator with
``hardware_only: true``; every design is then the analytic model (:func:`cost_network`) on the
network's traced layers, plus the bookkeeping around it. This times, on one thread, for the
quickstart space's network at its defaults and ``--designs`` hardware designs drawn from the
quickstart space's ``hw.*`` params (Latin hypercube, seed 0):

- the cost model alone, as :class:`evaluators.model_cost.ModelCostEvaluator` runs it on layers
  traced beforehand: the design's ``HardwareConfig`` from its params, ``cost_network`` and its
  metrics (the floor);
- ``PhotonicSegmentationEvaluator(hardware_only=True).evaluate`` per design (first call, which
  traces the network, reported apart).

Usage: ``.venv/bin/python benchmarks/hardware_only_path.py [--designs 2000]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import yaml
from benchmark_support import latin_hypercube, machine

from evaluators.design import Design
from evaluators.hardware import HardwareConfig, LayerTable, cost_network, extract_layers
from evaluators.photonic_segmentation import PhotonicSegmentationEvaluator

SPACE = Path(__file__).resolve().parents[1] / "search_spaces" / "quickstart.yaml"


def per_call_ms(function, items) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for item in items:
        start = time.perf_counter()
        function(item)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    space = yaml.safe_load(SPACE.read_text())
    hardware = {k: v for k, v in space["params"].items() if k.startswith("hw.")}
    designs = latin_hypercube(hardware, args.designs, seed=0)
    evaluator = PhotonicSegmentationEvaluator(**space["evaluator"]["options"], hardware_only=True)
    evaluator.setup()
    options = evaluator.options
    network = Design.resolve(designs[0], options).build(evaluator.data.num_classes, 0)
    layers = LayerTable(extract_layers(network, options.input_shape))

    def cost_model(params: dict[str, object]) -> None:
        cost_network(layers, HardwareConfig.from_params(params)).metrics()

    floor = per_call_ms(cost_model, designs)
    calls = per_call_ms(evaluator.evaluate, designs)
    model, path = statistics.median(floor), statistics.median(calls[1:])
    print(f"machine: {machine()}")
    print(f"{args.designs} hardware designs of {SPACE.name}'s network at its defaults, 1 thread")
    print(f"cost model alone (config, cost_network, metrics): median {model:.3f} ms per design")
    print(f"evaluator, hardware_only: first call {calls[0]:.1f} ms (traces the network),")
    print(f"  then median {path:.3f} ms per design: {path / model:.2f}x the cost model")


if __name__ == "__main__":
    main()
