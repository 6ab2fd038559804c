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
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from evaluators.data import (
    IGNORE_INDEX,
    Augmentation,
    DataError,
    SegmentationData,
    augment_batch,
    to_model_input,
)
from evaluators.network import SegmentationNet

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
) -> TrainResult:
    """Train ``model`` in place on ``data``'s train split; it is left on ``device`` in eval mode.

    ``before_step(step)`` runs before every optimisation step's forward pass (step counts from
    0 over the whole run): noise-aware fine-tuning redraws its noise there. ``loss`` replaces
    :func:`segmentation_loss` (a supernet's in-place distillation). ``max_grad_norm``: the
    gradient is scaled down to that norm when above it, and a step whose gradient is not finite
    is skipped (counted in ``skipped_steps``); see :func:`clip_gradient`.
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs = {epochs} and batch_size = {batch_size} must be at least 1")
    target = resolve_device(device)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    augmentation = Augmentation() if augment is True else (augment or None)
    count = data.train_images.shape[0]
    steps_per_epoch = max(1, count // batch_size)
    model.to(target).train()
    # foreach: one vectorised update over all tensors, ~10 % of a small network's step on CPU
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=lr, weight_decay=weight_decay, foreach=True
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, epochs * steps_per_epoch)
    start, losses, step, skipped = time.perf_counter(), [], 0, 0
    with tqdm(total=epochs * steps_per_epoch, disable=not progress, unit="step") as bar:
        for _ in range(epochs):
            total = 0.0
            for index in _shuffled_batches(count, batch_size, steps_per_epoch, generator):
                if before_step is not None:
                    before_step(step)
                images, labels = _training_batch(data, index, target, generator, augmentation)
                value = (loss or segmentation_loss)(model, images, labels, data.ignore_index)
                optimizer.zero_grad(set_to_none=True)
                value.backward()
                if max_grad_norm is None or clip_gradient(model, max_grad_norm):
                    optimizer.step()
                else:
                    skipped += 1
                schedule.step()
                total += value.item()
                step += 1
                bar.update()
            losses.append(total / steps_per_epoch)
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    model.eval()
    if not all(bool(p.isfinite().all()) for p in model.parameters()):
        raise TrainingDiverged(
            f"training diverged: non-finite weights after {step} steps at lr {lr}"
            f" ({skipped} skipped)"
        )
    seconds = time.perf_counter() - start
    return TrainResult(epochs, step, seconds, tuple(losses), str(target), skipped)


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


def _shuffled_batches(
    count: int, batch_size: int, steps: int, generator: torch.Generator
) -> Iterator[Tensor]:
    """Index tensors of one epoch; a last partial batch is dropped (BatchNorm dislikes tiny
    batches), unless the split is smaller than one batch."""
    order = torch.randperm(count, generator=generator)
    for step in range(steps):
        yield order[step * batch_size : (step + 1) * batch_size]


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
