"""Training and scoring of segmentation networks: `train`, `evaluate_miou`, `resolve_device`.

Training is AdamW with a one-cycle learning-rate schedule (warm-up then cosine decay to near
zero), which reaches a useful accuracy in a few epochs: the search trains many small designs,
so the time to a good-enough network matters more than the last point of mIoU. Cross-entropy
ignores label 255. A network built with ``arch.anytime`` adds the mean cross-entropy of its
intermediate heads with weight ``ANYTIME_LOSS_WEIGHT`` (0.4, as for PSPNet's auxiliary loss: it
helps early features without outweighing the final output).

A run is repeatable from its seed: ``torch.manual_seed(seed)`` plus one seeded generator that
drives shuffling and augmentation. The weights' initial values are the caller's (see
``build_network(..., seed=...)``).

A long training (a published network on a CPU: hours) can file its progress (:class:`Checkpoint`)
and resume from it after a crash or a stopped job, to the same weights the uninterrupted run
gives: the checkpoint holds the weights, the optimizer and schedule, both random streams and the
epoch's frame order.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode
from tqdm import tqdm

from evaluators.data import (
    IGNORE_INDEX,
    Augmentation,
    DataError,
    SegmentationData,
    augment_batch,
    to_model_input,
)
from evaluators.files import write_atomically
from evaluators.network import SegmentationNet

log = logging.getLogger(__name__)

ANYTIME_LOSS_WEIGHT = 0.4
Loss = Callable[[nn.Module, Tensor, Tensor, int], Tensor]  # model, images, labels, ignore index


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when present, else CPU; anything else as ``torch.device`` reads it."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {spec!r} requested but CUDA is not available")
    return device


class TrainingDiverged(RuntimeError):
    """Training left non-finite weights: one line, never a network that scores garbage."""


@dataclass(frozen=True)
class TrainResult:
    epochs: int
    steps: int
    seconds: float
    epoch_losses: tuple[float, ...]  # mean training loss of each epoch
    device: str
    skipped_steps: int = 0  # steps whose gradient was not finite (see ``max_grad_norm``)

    @property
    def final_loss(self) -> float:
        return self.epoch_losses[-1]


@dataclass(frozen=True)
class Checkpoint:
    """Where :func:`train` files its progress, and how often: every ``every_seconds`` at a step's
    end (a training shorter than that writes none), and it deletes the file once done. A run
    given the path of an earlier one's checkpoint resumes from it when it was written by the same
    training (same settings, same network); otherwise it starts afresh and says why."""

    path: Path
    every_seconds: float = 300.0
    """A U-Net-sized state (~370 MB with AdamW's moments) takes about a second to write: under
    1 % of five minutes, and a crash loses at most those five."""
    streams: tuple[random.Random, ...] = ()
    """Random streams outside torch that ``before_step`` draws from (a supernet's sampler of
    paths and chips): filed and restored with the rest, so a resumed run draws what the
    uninterrupted one would."""

    def due(self, last_saved: float) -> bool:
        """Whether the progress is to be filed now (``last_saved``: ``time.perf_counter()``)."""
        return time.perf_counter() - last_saved >= self.every_seconds


@dataclass
class _Progress:
    """Where a training stands between two steps (the rest of a checkpoint: weights, optimizer,
    schedule and random streams)."""

    epoch: int = 0
    step: int = 0  # over the whole run
    skipped: int = 0
    seconds: float = 0.0  # spent before this process took over
    losses: list[float] = field(default_factory=list)
    epoch_loss: float = 0.0  # summed over this epoch's steps so far
    order: Tensor | None = None  # this epoch's frame order, once drawn


def train(
    model: nn.Module,
    data: SegmentationData,
    *,
    epochs: int,
    seed: int,
    device: str | torch.device = "auto",
    batch_size: int = 8,
    lr: float = 5e-3,
    weight_decay: float = 1e-4,
    augment: bool | Augmentation = True,
    progress: bool = False,
    before_step: Callable[[int], None] | None = None,
    loss: Loss | None = None,
    max_grad_norm: float | None = None,
    checkpoint: Checkpoint | None = None,
) -> TrainResult:
    """Train ``model`` in place on ``data``'s train split; it is left on ``device`` in eval mode.

    ``before_step(step)`` runs before every optimisation step's forward pass (step counts from
    0 over the whole run): noise-aware fine-tuning redraws its noise there. ``loss`` replaces
    :func:`segmentation_loss` (a supernet's in-place distillation). ``max_grad_norm``: the
    gradient is scaled down to that norm when above it, and a step whose gradient is not finite
    is skipped (counted in ``skipped_steps``); see :func:`clip_gradient`. ``checkpoint``: file
    progress there, and resume from it (see :class:`Checkpoint`).
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs = {epochs} and batch_size = {batch_size} must be at least 1")
    target = resolve_device(device)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    augmentation = Augmentation() if augment is True else (augment or None)
    count = data.train_images.shape[0]
    steps_per_epoch = max(1, count // batch_size)
    layout = training_layout(target)
    model.to(target)
    # foreach: one vectorised update over all tensors, ~10 % of a small network's step on CPU
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=lr, weight_decay=weight_decay, foreach=True
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, epochs * steps_per_epoch)
    training = _Training(model, optimizer, schedule, generator)
    settings = [epochs, seed, batch_size, lr, weight_decay, repr(augmentation), count]
    settings += [getattr(loss, "__qualname__", repr(loss)), max_grad_norm]
    state = training.resume(checkpoint, settings) if checkpoint is not None else _Progress()
    start = last_saved = time.perf_counter()
    with (
        _training_mode(model, layout),
        tqdm(
            total=epochs * steps_per_epoch, initial=state.step, disable=not progress, unit="step"
        ) as bar,
    ):
        while state.epoch < epochs:
            if state.order is None:  # drawn before the epoch's first augmentation, as ever
                state.order = torch.randperm(count, generator=generator)
            for within in range(state.step - state.epoch * steps_per_epoch, steps_per_epoch):
                if before_step is not None:
                    before_step(state.step)
                index = state.order[within * batch_size : (within + 1) * batch_size]
                images, labels = _training_batch(data, index, target, generator, augmentation)
                images = images.contiguous(memory_format=layout)
                value = (loss or segmentation_loss)(model, images, labels, data.ignore_index)
                state.skipped += not training.step(value, max_grad_norm)
                state.epoch_loss += value.item()
                state.step += 1
                bar.update()
                if checkpoint is not None and checkpoint.due(last_saved):
                    elapsed = state.seconds + time.perf_counter() - start
                    training.save(checkpoint, settings, state, elapsed)
                    last_saved = time.perf_counter()
            state.losses.append(state.epoch_loss / steps_per_epoch)
            state.epoch, state.epoch_loss, state.order = state.epoch + 1, 0.0, None
            bar.set_postfix(loss=f"{state.losses[-1]:.3f}")
    if not all(bool(p.isfinite().all()) for p in model.parameters()):
        raise TrainingDiverged(
            f"training diverged: non-finite weights after {state.step} steps at lr {lr}"
            f" ({state.skipped} skipped)"
        )
    if checkpoint is not None:
        checkpoint.path.unlink(missing_ok=True)
    seconds = state.seconds + time.perf_counter() - start
    return TrainResult(epochs, state.step, seconds, tuple(state.losses), str(target), state.skipped)


def training_layout(device: torch.device) -> torch.memory_format:
    """How :func:`train` lays out 4-D weights and batches on ``device``.

    Channels-last on the CPU: oneDNN's depthwise convolutions run forward and backward 2.3x
    faster so (the family's depthwise and ghost blocks), a supernet step 1.42x, a standalone
    design's float step 1.02-1.58x, and the noisy tile, which does its own im2col, the same
    (benchmarks/RESULTS.md, channels-last training). The model goes back to the default layout when
    training ends, so scoring, caching and export see what they always did. Not measured on a
    GPU, so the default there.
    """
    return torch.channels_last if device.type == "cpu" else torch.contiguous_format


@contextmanager
def _training_mode(model: nn.Module, layout: torch.memory_format) -> Iterator[None]:
    """``model`` in train mode and ``layout`` inside, in eval mode and the default layout after,
    also when training stops on an error (a caller that catches it still gets a network that
    scores and saves as always)."""
    _lay_out(model, layout).train()
    try:
        with _PointwiseStridesInDefaultLayout() if layout == torch.channels_last else nullcontext():
            yield
    finally:
        _lay_out(model, torch.contiguous_format).eval()


class _PointwiseStridesInDefaultLayout(TorchFunctionMode):
    """Hands every strided 1x1 convolution its input and weights in the default layout.

    oneDNN's channels-last kernel for the weight gradient of a strided 1x1 convolution writes past
    its workspace when the input has fewer channels than the kernel's vector block (16 on
    AVX-512, 8 on AVX2; oneDNN issue #6035, open). On an AMD EPYC it crashed the CamVid
    supernet's training at its first width-8 shortcut (8 channels at 48x64), with oneDNN at any
    of its AVX-512 instruction sets; the issue reports hangs and wrong gradients without a crash
    on other machines. With both in the default layout oneDNN takes another kernel: the same
    values (tests/evaluators/test_training.py). The weights are copied, not made contiguous: a
    1x1 kernel's channels-last strides count as contiguous, and would keep that kernel. Calls as
    ``nn.Conv2d`` makes them (input and weight by position) are seen; the mode costs about a
    microsecond a torch call, and the copies are a small part of a step.
    """

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if func is F.conv2d and len(args) > 1 and args[1].shape[-2:] == (1, 1):
            stride = args[3] if len(args) > 3 else kwargs.get("stride", 1)
            if stride not in (1, (1, 1), [1, 1]):
                weight = args[1].clone(memory_format=torch.contiguous_format)
                args = (args[0].contiguous(), weight, *args[2:])
        return func(*args, **kwargs)


def _lay_out(model: nn.Module, layout: torch.memory_format) -> nn.Module:
    """``model`` with its 4-D weights in ``layout`` (``nn.Module.to`` takes ``memory_format``;
    its type stubs leave it out)."""
    return model.to(memory_format=layout)  # type: ignore[call-overload]


@dataclass(frozen=True)
class _Training:
    """What a checkpoint saves and restores besides :class:`_Progress`."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    generator: torch.Generator

    def step(self, loss: Tensor, max_grad_norm: float | None) -> bool:
        """One optimisation step on ``loss``; False when it was skipped (see :func:`train`)."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        applied = max_grad_norm is None or clip_gradient(self.model, max_grad_norm)
        if applied:
            self.optimizer.step()
        self.schedule.step()
        return applied

    def save(
        self, checkpoint: Checkpoint, settings: list[Any], state: _Progress, seconds: float
    ) -> None:
        progress = {**asdict(state), "seconds": seconds}
        saved = {
            "settings": settings,
            "progress": progress,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "generator": self.generator.get_state(),
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "streams": [stream.getstate() for stream in checkpoint.streams],
        }
        write_atomically(checkpoint.path, lambda temporary: torch.save(saved, temporary))

    def resume(self, checkpoint: Checkpoint, settings: list[Any]) -> _Progress:
        """The progress filed at ``checkpoint`` with everything else restored; a fresh start,
        nothing changed, when there is none, or it does not read, or is another training's."""
        path = checkpoint.path
        if not path.exists():
            return _Progress()
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            _check_same_training(saved, settings, self.model)
            if len(saved["streams"]) != len(checkpoint.streams):
                raise ValueError("written with other random streams")
        except (OSError, RuntimeError, ValueError, KeyError, TypeError) as error:
            log.warning("checkpoint %s not used, training from the start: %s", path, error)
            return _Progress()
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.schedule.load_state_dict(saved["schedule"])
        self.generator.set_state(saved["generator"])
        torch.set_rng_state(saved["rng"])
        if saved["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(saved["cuda_rng"])
        for stream, filed in zip(checkpoint.streams, saved["streams"], strict=True):
            stream.setstate(filed)
        state = _Progress(**saved["progress"])
        log.info("resuming the training filed at %s from step %d", path, state.step)
        return state


def _check_same_training(saved: dict[str, Any], settings: list[Any], model: nn.Module) -> None:
    """ValueError unless ``saved`` was filed by a training of these settings and this network
    (checked before anything is restored, so a refused checkpoint changes nothing)."""
    if saved["settings"] != settings:
        raise ValueError(f"written by another training ({saved['settings']}, not {settings})")
    shapes = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    if {name: tuple(value.shape) for name, value in saved["model"].items()} != shapes:
        raise ValueError("written for another network")


def clip_gradient(model: nn.Module, max_norm: float) -> bool:
    """Scale ``model``'s gradient down to ``max_norm`` when its norm is larger; False (and the
    gradient left alone) when it is not finite.

    The norm is summed in float64: the gradients this guards against (1e20 and more, see
    :func:`evaluators.accuracy.finetune_noise_aware`) overflow float32 when squared.
    """
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    norm = math.sqrt(sum(float(g.double().square().sum()) for g in grads))
    if not math.isfinite(norm):
        return False
    if norm > max_norm:
        torch._foreach_mul_(grads, max_norm / norm)
    return True


def _training_batch(
    data: SegmentationData,
    index: Tensor,
    device: torch.device,
    generator: torch.Generator,
    augmentation: Augmentation | None,
) -> tuple[Tensor, Tensor]:
    """Float images and int64 labels of the train images at ``index``, augmented if asked."""
    images = to_model_input(data.train_images[index].to(device))
    labels = data.train_labels[index].to(device).long()
    if augmentation is None:
        return images, labels
    return augment_batch(images, labels, generator, augmentation, data.ignore_index)


def segmentation_loss(
    model: nn.Module, images: Tensor, labels: Tensor, ignore_index: int
) -> Tensor:
    """Cross-entropy of the final output, plus the weighted anytime heads' mean if it has any."""
    if isinstance(model, SegmentationNet) and model.config.anytime:
        *early, final = model.forward_all(images)
        loss = F.cross_entropy(final, labels, ignore_index=ignore_index)
        aux = torch.stack([F.cross_entropy(o, labels, ignore_index=ignore_index) for o in early])
        return loss + ANYTIME_LOSS_WEIGHT * aux.mean()
    return F.cross_entropy(model(images), labels, ignore_index=ignore_index)


@dataclass(frozen=True)
class MiouResult:
    """Scores of one evaluation; ``confusion[t, p]`` counts pixels of true class t predicted p.

    ``miou`` averages the IoU of the classes that occur in the labels or the predictions; a class
    absent from both has IoU NaN in ``per_class_iou`` and does not count (on CamVid val every
    one of the 11 classes occurs, so it is the mean over all 11).
    """

    miou: float
    per_class_iou: tuple[float, ...]
    pixel_accuracy: float
    confusion: Tensor


def confusion_matrix(
    predictions: Tensor, labels: Tensor, num_classes: int, ignore_index: int = IGNORE_INDEX
) -> Tensor:
    """``C x C`` int64 counts (rows: truth, columns: prediction) over non-ignored pixels."""
    keep = labels != ignore_index
    pairs = labels[keep].long() * num_classes + predictions[keep].long()
    return torch.bincount(pairs, minlength=num_classes**2).view(num_classes, num_classes)


def scores(confusion: Tensor) -> MiouResult:
    """mIoU, per-class IoU and pixel accuracy of a confusion matrix."""
    confusion = confusion.double().cpu()
    hits = confusion.diagonal()
    union = confusion.sum(0) + confusion.sum(1) - hits
    if confusion.sum() == 0:
        raise DataError("no labelled pixels to score (every label is the ignore index)")
    iou = torch.where(union > 0, hits / union.clamp(min=1), math.nan)
    return MiouResult(
        miou=float(iou[union > 0].mean()),
        per_class_iou=tuple(float(v) for v in iou),
        pixel_accuracy=float(hits.sum() / confusion.sum()),
        confusion=confusion.long(),
    )


@torch.inference_mode()
def evaluate_miou(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    *,
    num_classes: int,
    ignore_index: int = IGNORE_INDEX,
    batch_size: int = 32,
    device: str | torch.device = "auto",
) -> MiouResult:
    """Score ``model`` (in eval mode, restored afterwards) on uint8 ``N x H x W x 3`` images (or
    float ``N x 3 x H x W`` in [0, 1]) against ``N x H x W`` labels."""
    target = resolve_device(device)
    was_training = model.training
    model.to(target).eval()
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.long, device=target)
    for start in range(0, images.shape[0], batch_size):
        batch = to_model_input(images[start : start + batch_size].to(target))
        # max(1).indices: the same first maximal index as argmax(1), 3x faster on CPU in NCHW
        predictions = model(batch).max(dim=1).indices
        truth = labels[start : start + batch_size].to(target)
        confusion += confusion_matrix(predictions, truth, num_classes, ignore_index)
    model.train(was_training)
    return scores(confusion)
