"""Training a supernet: path sampling, then noise-aware training across the hardware range.

It reuses :func:`evaluators.training.train` unchanged (AdamW, one-cycle schedule, augmentation,
progress bar): the supernet is the model, and ``before_step`` picks the design (path) that the
next step trains, so one optimizer step updates one design's slices of the shared weights.

1. ``epochs`` of path sampling, ``paths_per_step`` designs per optimizer step, each on its
   share of the batch (so a step sums their gradients at the cost of one average design on the
   whole batch). ``uniform`` draws every design at random (single-path one-shot when one per
   step); ``sandwich`` trains the largest and the smallest design in every step plus random
   ones (BigNAS's sandwich rule: the extremes that the space's corners depend on are never
   left behind); with one path per step the four take turns.
2. ``noise_epochs`` of noise-aware training, as standalone designs get after float training
   (:func:`evaluators.accuracy.finetune_noise_aware`): every step draws a design and a chip of
   the space's ``hw.*`` range and trains through that chip's noise and quantization. The noisy
   forward pass costs 10-50x the float one on a CPU, hence its own smaller batch and, with
   ``noise_images``, a seeded subset of the training split as its epoch.

The loss is the final output's cross-entropy only: anytime heads (``arch.anytime``) are not
trained here, which costs nothing at scoring since inference uses the final output alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from evaluators.accuracy import DYNAMIC_OFFSET
from evaluators.data import SegmentationData
from evaluators.noise import NoiseConfig
from evaluators.options import Options, knob
from evaluators.supernet.errors import SupernetError, SupernetSettingsError
from evaluators.supernet.model import Supernet
from evaluators.supernet.space import SupernetSpace
from evaluators.training import TrainResult, train

Sampler = Callable[[SupernetSpace, int, int, random.Random], list[dict[str, Any]]]
NoiseOf = Callable[[Mapping[str, Any]], NoiseConfig]  # hw.* params -> that chip's noise model
HARDWARE_ATTEMPTS = 50  # draws of hw.* params before giving up on finding a valid chip


def _uniform(
    space: SupernetSpace, step: int, count: int, rng: random.Random
) -> list[dict[str, Any]]:
    return [space.sample(rng) for _ in range(count)]


def _sandwich(
    space: SupernetSpace, step: int, count: int, rng: random.Random
) -> list[dict[str, Any]]:
    """The largest, the smallest, then random designs; with one per step, the four take turns."""
    turns = range(count) if count > 1 else [step % 4]
    return [space.extreme(rng, largest=t == 0) if t < 2 else space.sample(rng) for t in turns]


SAMPLERS: dict[str, Sampler] = {"uniform": _uniform, "sandwich": _sandwich}


@dataclass(frozen=True)
class SupernetSettings(Options):
    """How a supernet is trained (the evaluator's ``supernet`` option); all of it is part of
    the cache key."""

    label: ClassVar[str] = "supernet."
    error: ClassVar[type[SupernetSettingsError]] = SupernetSettingsError

    epochs: int = knob(30, 1, None, "epochs", "path-sampling phase")
    sampling: str = knob("sandwich", choices=SAMPLERS, source="BigNAS sandwich rule; SPOS uniform")
    paths_per_step: int = knob(4, 1, None, "designs", "BigNAS: largest, smallest, 2 random")
    batch_size: int = knob(16, 1, None, "images")
    lr: float = knob(1e-2, 0.0, None, "", "AdamW peak of the one-cycle schedule", open_low=True)
    noise_epochs: int = knob(1, 0, None, "epochs", "noise-aware phase")
    noise_batch_size: int = knob(4, 1, None, "images")
    noise_lr: float = knob(2e-3, 0.0, None, "", "as noise-aware fine-tuning", open_low=True)
    noise_images: int | None = knob(
        None, "noise_batch_size", None, "images", "None: the whole training split",
        note="at least one noise batch",
    )  # fmt: skip


def train_supernet(
    supernet: Supernet,
    data: SegmentationData,
    settings: SupernetSettings,
    *,
    noise_of: NoiseOf,
    seed: int,
    device: str = "auto",
    progress: bool = False,
) -> tuple[TrainResult, ...]:
    """Train ``supernet`` in place: path sampling, then noise-aware (see module doc)."""
    rng = random.Random(seed)
    sampler = SAMPLERS[settings.sampling]
    space = supernet.space

    def next_paths(step: int) -> None:
        supernet.select(*sampler(space, step, settings.paths_per_step, rng))

    def next_noisy_path(step: int) -> None:
        noise = _draw_noise(space, noise_of, rng)
        chip = seed * 100_003 + step
        supernet.select(
            space.sample(rng), noise=noise, chip_seed=chip, noise_seed=DYNAMIC_OFFSET + step
        )

    phases = [(data, settings.epochs, settings.batch_size, settings.lr, next_paths)]
    if settings.noise_epochs:
        noise_data = data.subset(settings.noise_images, None, seed)
        noise_phase = (settings.noise_epochs, settings.noise_batch_size, settings.noise_lr)
        phases.append((noise_data, *noise_phase, next_noisy_path))
    results = []
    try:
        for phase_data, epochs, batch_size, lr, before_step in phases:
            results.append(
                train(
                    supernet,
                    phase_data,
                    epochs=epochs,
                    seed=seed,
                    device=device,
                    batch_size=batch_size,
                    lr=lr,
                    progress=progress,
                    before_step=before_step,
                )
            )
    finally:
        supernet.select()
    return tuple(results)


def _draw_noise(space: SupernetSpace, noise_of: NoiseOf, rng: random.Random) -> NoiseConfig:
    """The noise model of a random chip of the space; combinations the hardware model rejects
    (say a clock its converters cannot reach) are drawn again."""
    error: Exception | None = None
    for _ in range(HARDWARE_ATTEMPTS):
        try:
            return noise_of(space.sample_hardware(rng))
        except ValueError as rejected:
            error = rejected
    raise SupernetError(f"no valid hardware in {HARDWARE_ATTEMPTS} draws of hw.*: {error}")
