"""Training a supernet: path sampling, then noise-aware training across the hardware range.

It reuses :func:`evaluators.training.train` unchanged (AdamW, one-cycle schedule, augmentation,
progress bar): the supernet is the model, and ``before_step`` picks the design (path) that the
next step trains, so one optimizer step updates one design's slices of the shared weights.

1. ``epochs`` of path sampling, ``paths_per_step`` designs per optimizer step, each on its
   share of the batch (so a step sums their gradients at the cost of one average design on the
   whole batch). ``uniform`` draws every design at random (single-path one-shot when one per
   step); ``sandwich`` trains the largest and the smallest design in every step plus random
   ones (BigNAS's sandwich rule: the extremes that the space's corners depend on are never
   left behind); with one path per step the four take turns. With ``distill`` (BigNAS's
   in-place distillation) every path of a step sees the whole batch instead: the first (the
   largest, under the sandwich rule) learns from the labels and the others from its soft
   predictions, at ``paths_per_step`` times the cost of a step; their terms averaged, or with
   ``distill_students: sum`` summed as BigNAS sums its children's losses.
2. ``noise_epochs`` of noise-aware training, as standalone designs get after float training
   (:func:`evaluators.accuracy.finetune_noise_aware`): every step draws a design and a chip of
   the space's ``hw.*`` range and trains through that chip's noise and quantization. The noisy
   forward pass costs 10-50x the float one on a CPU, hence its own smaller batch and, with
   ``noise_images``, a seeded subset of the training split as its epoch. ``noise_ramp`` grows
   the noise (every sigma, :meth:`~evaluators.noise.NoiseConfig.scaled`) from near zero to its
   value over that fraction of the phase; quantization applies from the first step.
   ``noise_max_grad_norm`` clips the phase's gradient norm (and skips non-finite steps) as
   noise-aware fine-tuning does: the phase visits the range's corners, such as 4-bit ADCs
   behind many products, where the straight-through gradient explodes (docs/photonic-model.md
   §7). Unclipped, the CamVid space's supernet came out of this phase with NaN weights. It is
   part of every supernet's key, so supernets cached before it are trained again.

The loss is the final output's cross-entropy only: anytime heads (``arch.anytime``) are not
trained here, which costs nothing at scoring since inference uses the final output alone.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from evaluators.accuracy import DYNAMIC_OFFSET
from evaluators.data import SegmentationData
from evaluators.noise import NoiseConfig
from evaluators.options import Options, knob
from evaluators.supernet.errors import SupernetError, SupernetSettingsError
from evaluators.supernet.model import Supernet
from evaluators.supernet.space import SupernetSpace
from evaluators.training import Checkpoint, TrainResult, segmentation_loss, train

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


NOISE_SETTINGS = (
    "noise_epochs", "noise_batch_size", "noise_lr", "noise_images", "noise_ramp",
    "noise_max_grad_norm", "noise_seed",
)  # fmt: skip
"""What only the noise-aware phase reads: :meth:`SupernetSettings.float_phase` resets them."""


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
    noise_ramp: float = knob(0.0, 0.0, 1.0, "of the noise phase", "0: full noise from step 1")
    distill: bool = knob(False, source="BigNAS in-place distillation from the largest path")
    distill_students: str = knob(
        "mean", choices=("mean", "sum"), source="with distill: the students' terms; BigNAS sums"
    )
    noise_max_grad_norm: float | None = knob(
        10.0, 0.0, None, "", "as finetune_noise_aware; None: unclipped", open_low=True
    )
    noise_seed: int = knob(
        0, 0, None, "", "which designs and chips the noise phase visits (0: the seed's own)"
    )

    ADDED: ClassVar[tuple[str, ...]] = ("noise_ramp", "distill", "noise_seed", "distill_students")
    """Settings added after the cache format was fixed: at their defaults they train exactly as
    before, so they are left out of the cache key then (no cached supernet is orphaned)."""

    def validate(self) -> None:
        if self.distill_students != "mean" and not self.distill:
            raise SupernetSettingsError(
                "supernet.distill_students applies only with distill: true (the students' terms"
                " of in-place distillation)"
            )

    def float_phase(self) -> SupernetSettings:
        """These settings without a noise-aware phase: the float supernet every noise phase of
        the same float recipe starts from (cached on its own, so a new noise recipe reuses it)."""
        default = SupernetSettings()
        reset = {name: getattr(default, name) for name in NOISE_SETTINGS}
        return dataclasses.replace(self, **{**reset, "noise_epochs": 0})

    def identity(self) -> dict[str, Any]:
        """The settings as plain data for the cache key (see :attr:`ADDED`)."""
        default = SupernetSettings()
        return {
            name: value
            for name, value in dataclasses.asdict(self).items()
            if name not in self.ADDED or value != getattr(default, name)
        }


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
    where: dict[str, Any] = {"seed": seed, "device": device, "progress": progress}
    results = [train_paths(supernet, data, settings, **where)]
    if settings.noise_epochs:
        results.append(train_under_noise(supernet, data, settings, noise_of=noise_of, **where))
    return tuple(results)


def train_paths(
    supernet: Supernet,
    data: SegmentationData,
    settings: SupernetSettings,
    *,
    seed: int,
    device: str = "auto",
    progress: bool = False,
    checkpoint: Path | None = None,
) -> TrainResult:
    """Phase 1, in float: ``epochs`` of path sampling (see module doc); its progress filed at
    ``checkpoint``, and resumed from there (:class:`evaluators.training.Checkpoint`)."""
    rng = random.Random(seed)
    sampler = SAMPLERS[settings.sampling]

    def next_paths(step: int) -> None:
        supernet.select(*sampler(supernet.space, step, settings.paths_per_step, rng))

    return _phase(
        supernet, data, epochs=settings.epochs, seed=seed, device=device,
        batch_size=settings.batch_size, lr=settings.lr, progress=progress,
        before_step=next_paths,
        loss=DISTILLATION[settings.distill_students] if settings.distill else segmentation_loss,
        checkpoint=Checkpoint(checkpoint, streams=(rng,)) if checkpoint else None,
    )  # fmt: skip


def train_under_noise(
    supernet: Supernet,
    data: SegmentationData,
    settings: SupernetSettings,
    *,
    noise_of: NoiseOf,
    seed: int,
    device: str = "auto",
    progress: bool = False,
    checkpoint: Path | None = None,
) -> TrainResult:
    """Phase 2: ``noise_epochs`` of noise-aware training from the float weights (resumable from
    ``checkpoint`` as phase 1 is). Its draws of
    designs and chips come from a stream of their own, so the phase computes the same whether
    phase 1 ran just before or its result was read from the cache; ``noise_seed`` draws others
    (how much a supernet's ranking owes to them is measured by varying it)."""
    stream = f"noise-{seed}" + (f"-{settings.noise_seed}" if settings.noise_seed else "")
    rng = random.Random(stream)
    space = supernet.space
    noise_data = data.subset(settings.noise_images, None, seed)
    noise_steps = settings.noise_epochs * max(
        1, noise_data.train_images.shape[0] // settings.noise_batch_size
    )

    def next_noisy_path(step: int) -> None:
        noise = _draw_noise(space, noise_of, rng)
        if settings.noise_ramp:  # the sigmas grow from ~0 to their value over the ramp
            noise = noise.scaled(min(1.0, (step + 1) / (settings.noise_ramp * noise_steps)))
        chip = seed * 100_003 + step
        supernet.select(
            space.sample(rng), noise=noise, chip_seed=chip, noise_seed=DYNAMIC_OFFSET + step
        )

    return _phase(
        supernet, noise_data, epochs=settings.noise_epochs, seed=seed, device=device,
        batch_size=settings.noise_batch_size, lr=settings.noise_lr, progress=progress,
        before_step=next_noisy_path, loss=segmentation_loss,
        max_grad_norm=settings.noise_max_grad_norm,
        checkpoint=Checkpoint(checkpoint, streams=(rng,)) if checkpoint else None,
    )  # fmt: skip


def _phase(supernet: Supernet, data: SegmentationData, **training: Any) -> TrainResult:
    """One phase through :func:`evaluators.training.train`, the full supernet selected after."""
    try:
        return train(supernet, data, **training)
    finally:
        supernet.select()


def distillation_loss(
    model: nn.Module, images: Tensor, labels: Tensor, ignore_index: int
) -> Tensor:
    """BigNAS's in-place distillation: every selected design on the whole batch; the first (the
    sandwich rule's largest) learns from the labels, the others from its predictions (soft
    targets, detached), on the labelled pixels; the students' terms averaged."""
    teacher, students = _distillation(model, images, labels, ignore_index)
    return teacher + students.mean() if len(students) else teacher


def summed_distillation_loss(
    model: nn.Module, images: Tensor, labels: Tensor, ignore_index: int
) -> Tensor:
    """:func:`distillation_loss` with the students' terms summed, as BigNAS sums every child's
    loss: each student weighs as much as the teacher."""
    teacher, students = _distillation(model, images, labels, ignore_index)
    return teacher + students.sum()


def _distillation(
    model: nn.Module, images: Tensor, labels: Tensor, ignore_index: int
) -> tuple[Tensor, Tensor]:
    """The teacher's cross-entropy, and each student's divergence from its predictions (empty
    without students)."""
    assert isinstance(model, Supernet)
    teacher, *students = model.forward_each(images)
    loss = F.cross_entropy(teacher, labels, ignore_index=ignore_index)
    target = teacher.detach().softmax(1)
    labelled = (labels != ignore_index).unsqueeze(1)
    terms = [
        (F.kl_div(s.log_softmax(1), target, reduction="none") * labelled).sum()
        / labelled.sum().clamp_min(1)
        for s in students
    ]
    return loss, torch.stack(terms) if terms else loss.new_zeros(0)


DISTILLATION = {"mean": distillation_loss, "sum": summed_distillation_loss}
"""The losses of ``distill``, by ``distill_students`` (module-level functions: a training's
checkpoint names its loss)."""


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
