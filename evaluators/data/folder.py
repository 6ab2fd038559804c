"""A plain folder of PNG files, for bringing your own data without writing a loader.

Layout under ``data_root``::

    classes.txt           optional: one class name per line, line i names class i
    train/images/*.png    RGB images (any format Pillow opens: .png, .jpg, ...)
    train/labels/*.png    one per image, same file stem; 8-bit single channel (mode L or P)
                          holding class indices 0..C-1, and 255 for pixels to ignore
    val/images/*.png
    val/labels/*.png

Without ``classes.txt`` the classes are 0..max label seen, named ``class_<i>``. Every image and
label is resized to ``image_size`` (default: the first train image's size), bilinear for images and
nearest for labels, so a folder may mix sizes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from evaluators.data.dataset import IGNORE_INDEX, SPLITS, SegmentationData
from evaluators.data.errors import DataError
from evaluators.data.registry import DatasetRequest, register_dataset
from evaluators.data.resize import resize_images, resize_labels

LABEL_MODES = ("L", "P")


@register_dataset("folder")
def load_folder(request: DatasetRequest) -> SegmentationData:
    root = request.data_root
    if root is None or not root.is_dir():
        raise DataError(f"folder dataset needs data_root pointing at a directory, got {root}")
    pairs = {split: _pairs(root / split) for split in SPLITS}
    size = request.image_size or _image_size(pairs["train"][0][0])
    arrays = {}
    for split in SPLITS:
        images, labels = zip(
            *(_read_pair(img, lbl, size) for img, lbl in pairs[split]), strict=True
        )
        arrays[f"{split}_images"] = torch.cat(images)
        arrays[f"{split}_labels"] = torch.cat(labels)
    return SegmentationData.from_arrays(root.name, arrays, _class_names(root, arrays), str(root))


def _pairs(split_dir: Path) -> list[tuple[Path, Path]]:
    """(image, label) paths of one split, matched by file stem, in sorted order."""
    image_dir, label_dir = split_dir / "images", split_dir / "labels"
    for folder in (image_dir, label_dir):
        if not folder.is_dir():
            raise DataError(f"folder dataset: missing directory {folder}")
    labels = {path.stem: path for path in label_dir.iterdir() if path.is_file()}
    images = sorted(path for path in image_dir.iterdir() if path.is_file())
    if not images:
        raise DataError(f"folder dataset: no images in {image_dir}")
    unmatched = [path for path in images if path.stem not in labels]
    if unmatched:
        raise DataError(f"folder dataset: no label in {label_dir} for image {unmatched[0].name}")
    return [(path, labels[path.stem]) for path in images]


def _image_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.height, image.width


def _read_pair(
    image_path: Path, label_path: Path, size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """One image and its label as 1-stacks at ``size``."""
    with Image.open(image_path) as image:
        rgb = torch.from_numpy(np.asarray(image.convert("RGB")).copy())
    with Image.open(label_path) as label:
        if label.mode not in LABEL_MODES:
            raise DataError(
                f"{label_path}: label image has mode {label.mode}, expected 8-bit"
                " single-channel class indices (mode L or P)"
            )
        classes = torch.from_numpy(np.asarray(label).copy())
    if classes.shape != rgb.shape[:2]:
        raise DataError(
            f"{label_path}: label is {tuple(classes.shape)} but its image is"
            f" {tuple(rgb.shape[:2])} (H x W)"
        )
    return resize_images(rgb[None], size), resize_labels(classes[None], size)


def _class_names(root: Path, arrays: dict[str, torch.Tensor]) -> tuple[str, ...]:
    names_file = root / "classes.txt"
    if names_file.is_file():
        names = [line.strip() for line in names_file.read_text().splitlines() if line.strip()]
        if not names:
            raise DataError(f"{names_file}: no class names")
        return tuple(names)
    labels = torch.cat([arrays[f"{split}_labels"].flatten() for split in SPLITS])
    seen = labels[labels != IGNORE_INDEX]
    count = int(seen.max()) + 1 if seen.numel() else 1
    return tuple(f"class_{index}" for index in range(count))
