"""Hardware evaluations per second on networks of the default family, on one core.

Each network is built with ``evaluators.network.build_network`` and extracted once (the slow,
torch part, timed separately); then random hardware designs drawn like a search would
(``hw.bits``, ``hw.array_size``, ``hw.wavelengths``, ``hw.adc_bits``, ``hw.preset``) are turned
into configs and costed: ``HardwareConfig.from_params`` + ``cost_network`` + ``metrics()`` is one
evaluation. The extracted list is passed as is, as an evaluator would.

Usage: .venv/bin/python benchmarks/hardware_throughput.py [--seconds 3] [--size 96 128]
Torch runs with one thread; the cost model itself is single-threaded numpy.
"""

from __future__ import annotations

import argparse
import random
import shlex
import sys
import time
from typing import Any

import numpy as np
import torch
from benchmark_support import machine

from evaluators.hardware import HardwareConfig, cost_network, extract_layers
from evaluators.network import build_network

NETWORKS: dict[str, dict[str, Any]] = {
    "standard-w16": {"arch.width": 16, "arch.block": "standard"},
    "depthwise-w16-it2": {"arch.width": 16, "arch.block": "depthwise", "arch.iterations": 2},
    "ghost-w24-it3": {"arch.width": 24, "arch.block": "ghost", "arch.iterations": 3},
    "mixed-w32": {
        "arch.width": 32,
        "arch.stage1.block": "depthwise",
        "arch.stage2.block": "ghost",
        "arch.stage3.block": "standard",
        "arch.stage3.iterations": 4,
    },
}
HW_SPACE: dict[str, tuple[Any, ...]] = {
    "hw.preset": ("lt-dota-b", "lt-dota-l", "dota-b-mems"),
    "hw.bits": tuple(range(2, 9)),
    "hw.adc_bits": tuple(range(4, 9)),
    "hw.array_size": (8, 16, 32, 64, 128),
    "hw.wavelengths": (1, 2, 4, 8, 12, 16, 32),
}


def hardware_designs(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Random hardware params, drawn before timing so the loop measures the model only."""
    return [{k: rng.choice(v) for k, v in HW_SPACE.items()} for _ in range(count)]


def evals_per_second(layers: list, designs: list[dict[str, Any]], seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for params in designs:
            cost_network(layers, HardwareConfig.from_params(params)).metrics()
        done += len(designs)
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="timing per network")
    parser.add_argument("--size", type=int, nargs=2, default=(96, 128), metavar=("H", "W"))
    parser.add_argument("--classes", type=int, default=11)
    args = parser.parse_args()
    torch.set_num_threads(1)
    designs = hardware_designs(random.Random(0), 200)
    shape = (1, 3, *args.size)
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"machine: {machine()}")
    print(f"{'network':<20}{'layers':>8}{'extract s':>11}{'evals/s':>10}")
    rates = []
    for name, params in NETWORKS.items():
        net = build_network(params, args.classes, seed=0)
        start = time.perf_counter()
        layers = extract_layers(net, shape)
        extract_s = time.perf_counter() - start
        rate = evals_per_second(layers, designs, args.seconds)
        rates.append(rate)
        print(f"{name:<20}{len(layers):>8}{extract_s:>11.3f}{rate:>10.0f}")
    print(f"hardware evaluations per second (one core, mean over networks): {np.mean(rates):.0f}")


if __name__ == "__main__":
    main()
