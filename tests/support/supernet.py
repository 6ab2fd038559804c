"""Helpers of the supernet tests: a small space, recipes, a design and samples of the space."""

from __future__ import annotations

import random
from typing import Any

import torch

from evaluators.supernet import Supernet, SupernetSpace

BLOCKS = ["standard", "depthwise", "ghost"]
DOMAINS: dict[str, dict[str, Any]] = {
    "arch.width": {"type": "int", "low": 8, "high": 16, "step": 8, "log": False},
    "arch.expansion": {"type": "int", "low": 1, "high": 3, "step": 1, "log": False},
    "arch.kernel_size": {"type": "categorical", "choices": [3, 5]},
    "arch.stage2.block": {"type": "categorical", "choices": BLOCKS},
    "arch.stage3.block": {"type": "categorical", "choices": BLOCKS},
    "arch.stage3.iterations": {"type": "int", "low": 1, "high": 2, "step": 1, "log": False},
    "hw.bits": {"type": "int", "low": 4, "high": 8, "step": 1, "log": False},
    "hw.wavelengths": {"type": "int", "low": 4, "high": 16, "step": 1, "log": True},
}
OPTIONS: dict[str, Any] = {
    "dataset": "synthetic",
    "image_size": (32, 32),
    "num_train": 32,
    "num_val": 16,
    "noise_samples": 1,
    "threads": 1,
    "recalibration_images": 16,
    "noise": {"adc_gain": 4.0},
    "supernet": {"epochs": 3, "batch_size": 8, "noise_epochs": 1, "noise_batch_size": 16},
}
# A one-epoch recipe on a narrower space, for tests that train more than once.
QUICK = {**OPTIONS, "supernet": {"epochs": 1, "batch_size": 8, "noise_epochs": 0}}
QUICK_DOMAINS = {"arch.width": {"type": "int", "low": 8, "high": 8, "step": 8, "log": False}}
DESIGN = {
    "arch.width": 8,
    "arch.expansion": 1,
    "arch.kernel_size": 3,
    "arch.stage2.block": "depthwise",
    "arch.stage3.block": "ghost",
    "arch.stage3.iterations": 2,
    "hw.bits": 6,
    "hw.wavelengths": 8,
}


def designs(count: int, seed: int = 0) -> list[dict[str, Any]]:
    space = SupernetSpace.from_domains(DOMAINS)
    rng = random.Random(seed)
    return [space.sample(rng) for _ in range(count)]


def random_statistics(supernet: Supernet) -> None:
    """Give every BN running statistic a distinct value, so copying the wrong slice shows."""
    generator = torch.Generator().manual_seed(0)
    for name, tensor in supernet.store.named_buffers():
        if name.endswith("running_mean") or name.endswith("running_var"):
            tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
