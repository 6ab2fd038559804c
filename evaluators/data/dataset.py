"""`SegmentationData`: the in-memory form every dataset kind is loaded into.

Layout, chosen once for all kinds: images are ``uint8`` tensors ``N x H x W x 3`` (RGB,
channels-last, as PNG files and the CamVid npz arrays store them, so loading needs no transpose);
labels are integer tensors ``N x H x W`` (``uint8`` from the bundled loaders) holding class indices
``0..C-1`` or ``ignore_index`` (255). uint8 keeps a few hundred images small enough to hold on
every worker; training converts one batch at a time to float ``N x 3 x H x W`` with
:func:`to_model_input`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

from evaluators.data.errors import DataError

IGNORE_INDEX = 255
SPLITS = ("train", "val")
ARRAYS = ("train_images", "train_labels", "val_images", "val_labels")


@dataclass(frozen=True)
class SegmentationData:
    """Train and val splits of one segmentation dataset, validated on construction."""

    name: str
    train_images: Tensor
    train_labels: Tensor
    val_images: Tensor
    val_labels: Tensor
    class_names: tuple[str, ...]
    ignore_index: int = IGNORE_INDEX
    source: str = ""  # where the data came from (a path, or the generator and seed): for errors

    def __post_init__(self) -> None:
        where = self.source or self.name
        for split in SPLITS:
            _check_split(self.images(split), self.labels(split), self, f"{where}: {split}")
        if self.train_images.shape[1:3] != self.val_images.shape[1:3]:
            raise DataError(
                f"{where}: train images are {tuple(self.train_images.shape[1:3])} but val images"
                f" are {tuple(self.val_images.shape[1:3])} (H x W must agree)"
            )

    @classmethod
    def from_arrays(
        cls, name: str, arrays: Mapping[str, Tensor], class_names: tuple[str, ...], source: str
    ) -> SegmentationData:
        """Build from the four named arrays of ``ARRAYS`` (as npz files and loaders hold them)."""
        missing = [key for key in ARRAYS if key not in arrays]
        if missing:
            raise DataError(
                f"{source}: missing array {missing[0]!r} (expected {', '.join(ARRAYS)})"
            )
        return cls(
            name=name,
            train_images=arrays["train_images"],
            train_labels=arrays["train_labels"],
            val_images=arrays["val_images"],
            val_labels=arrays["val_labels"],
            class_names=class_names,
            source=source,
        )

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W) of every image in both splits."""
        return int(self.train_images.shape[1]), int(self.train_images.shape[2])

    def images(self, split: str) -> Tensor:
        return self.train_images if split == "train" else self.val_images

    def labels(self, split: str) -> Tensor:
        return self.train_labels if split == "train" else self.val_labels

    def fingerprint(self, split: str) -> str:
        """SHA-256 of one split's arrays and the class names: what a result computed from that
        split (a trained supernet, a validation score) is keyed by, so that a changed file at
        the same path counts as other data."""
        digest = hashlib.sha256(json.dumps(self.class_names).encode())
        for tensor in (self.images(split), self.labels(split)):
            digest.update(str(tuple(tensor.shape)).encode())
            digest.update(tensor.contiguous().numpy().tobytes())
        return digest.hexdigest()

    def subset(self, num_train: int | None, num_val: int | None, seed: int) -> SegmentationData:
        """A seeded random subset (kept in original order) of each split; None keeps a split whole.

        Random rather than leading frames because video datasets such as CamVid store sequences
        one after another, so the first N frames would all come from one scene.
        """
        picks: dict[str, Any] = {}
        for offset, (split, count) in enumerate(zip(SPLITS, (num_train, num_val), strict=True)):
            total = self.images(split).shape[0]
            if count is None or count == total:
                continue
            if not 0 < count <= total:
                raise DataError(
                    f"{self.source or self.name}: asked for {count} {split} images, it has {total}"
                )
            generator = torch.Generator().manual_seed(seed + offset)
            index = torch.randperm(total, generator=generator)[:count].sort().values
            picks[f"{split}_images"] = self.images(split)[index]
            picks[f"{split}_labels"] = self.labels(split)[index]
        return replace(self, **picks) if picks else self


def _check_split(images: Tensor, labels: Tensor, data: SegmentationData, where: str) -> None:
    """Shapes, dtypes and label values of one split, each failure one line naming the array."""
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise DataError(
            f"{where}_images has shape {tuple(images.shape)} and dtype {images.dtype},"
            " expected N x H x W x 3 uint8"
        )
    if labels.ndim != 3 or labels.shape != images.shape[:3]:
        raise DataError(
            f"{where}_labels has shape {tuple(labels.shape)}, expected {tuple(images.shape[:3])}"
            " (N x H x W, matching the images)"
        )
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise DataError(f"{where}_labels has dtype {labels.dtype}, expected an integer type")
    if images.shape[0] == 0:
        raise DataError(f"{where} split is empty")
    valid = (labels >= 0) & (labels < data.num_classes) | (labels == data.ignore_index)
    if not bool(valid.all()):
        bad = int(labels[~valid][0])
        raise DataError(
            f"{where}_labels holds value {bad}, expected 0..{data.num_classes - 1}"
            f" or {data.ignore_index} (ignore)"
        )


def to_model_input(images: Tensor) -> Tensor:
    """uint8 ``N x H x W x 3`` images → float32 ``N x 3 x H x W`` in [0, 1], the network's input.

    Float ``N x 3 x H x W`` tensors are passed through unchanged, so callers may hand over either.
    """
    if images.dtype == torch.uint8:
        return images.permute(0, 3, 1, 2).float().div_(255.0)
    return images
