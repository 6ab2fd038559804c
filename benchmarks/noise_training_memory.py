"""Peak memory and time of one noise-aware training step, by wavelength count.

Autograd through the tile model keeps every partial sum (ADC conversion) of a layer for the
backward pass, nb = ⌈D/(N_λ·T)⌉ per output, so the step's memory grows as the wavelength count
falls. ``evaluators.noise.layers.GRAPH_CONVERSIONS`` caps it: a layer call above that many
partial sums takes the float layer's gradient instead. This measures one forward and backward
pass of the widest CamVid design (base width 48, expansion 6, kernel 5, standard blocks,
iterations 2-3-4) on a batch of 4 images at 96x128 with 6-bit converters, under a given cap
(``inf``: always differentiate the tile), one process per measurement since peak RSS never
falls.

Usage (from the repository root)::

    .venv/bin/python benchmarks/noise_training_memory.py --cap inf --wavelengths 32 12 4
    .venv/bin/python benchmarks/noise_training_memory.py --cap 16777216 --wavelengths 12 4
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

import torch
import torch.nn.functional as F
from benchmark_support import machine

import evaluators.noise.layers as photonic_layers
from evaluators.network import build_network
from evaluators.noise import NoiseConfig, attach_noise

WIDEST = {
    "arch.width": 48,
    "arch.expansion": 6,
    "arch.kernel_size": 5,
    **{f"arch.stage{s}.block": "standard" for s in (1, 2, 3)},
    **{f"arch.stage{s}.iterations": s + 1 for s in (1, 2, 3)},
}


def measure(wavelengths: int) -> None:
    """One training step of the widest design at ``wavelengths``; prints time and peak RSS."""
    network = build_network(WIDEST, num_classes=11, seed=0).train()
    images = torch.rand(4, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 11, (4, 96, 128), generator=torch.Generator().manual_seed(1))
    noise = NoiseConfig(wavelengths=wavelengths, input_bits=6, weight_bits=6, adc_bits=6)
    attach_noise(network, noise, chip_seed=1, noise_seed=1)
    start = time.perf_counter()
    F.cross_entropy(network(images), labels).backward()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB -> GB
    print(f"{wavelengths} wavelengths: {seconds:.1f} s, peak RSS {peak:.1f} GB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=photonic_layers.GRAPH_CONVERSIONS)
    parser.add_argument("--wavelengths", type=int, nargs="+", default=[32, 12, 4])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        torch.set_num_threads(args.threads)
        photonic_layers.GRAPH_CONVERSIONS = args.cap
        measure(args.wavelengths[0])
        return
    print(f"machine: {machine()}; cap {args.cap:g} partial sums per layer call")
    for wavelengths in args.wavelengths:  # peak RSS never falls: one process per measurement
        options = ["--cap", str(args.cap), "--threads", str(args.threads)]
        command = [sys.executable, __file__, "--child", *options, "--wavelengths", str(wavelengths)]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
