"""Helpers of the photonic segmentation evaluator tests: a small recipe and one design."""

from __future__ import annotations

SMALL = {
    "fidelity": "standalone",  # training each design; the supernet: fidelities/test_supernet.py
    "dataset": "synthetic",
    "image_size": (32, 32),
    "num_train": 64,
    "num_val": 32,
    "epochs": 3,
    "noise_samples": 2,
    "threads": 1,
}
DESIGN = {
    "arch.width": 8,
    "arch.stage3.block": "ghost",
    "arch.stage3.iterations": 2,
    "hw.bits": 6,
    "hw.adc_bits": 6,
    "hw.array_size": 16,
    "hw.wavelengths": 8,
}
