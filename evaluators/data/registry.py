"""Dataset kinds by name: ``load_dataset("camvid", ...)`` looks the loader up here.

A new kind is one function decorated with ``@register_dataset("name")`` that turns a
:class:`DatasetRequest` into :class:`SegmentationData`; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

from evaluators.data.dataset import SegmentationData
from evaluators.data.errors import DataError
from evaluators.registry import Registry


@dataclass(frozen=True)
class DatasetRequest:
    """What the caller asked for; each loader reads the fields that mean something to it."""

    data_root: Path | None
    image_size: tuple[int, int] | None
    seed: int
    num_train: int | None
    num_val: int | None


DatasetLoader = Callable[[DatasetRequest], SegmentationData]
DATASETS: Registry[DatasetLoader] = Registry("dataset kind")
register_dataset = DATASETS.register  # decorator adding a loader under a name


def load_dataset(
    name: str,
    *,
    data_root: str | Path | None = None,
    image_size: tuple[int, int] | list[int] | None = None,
    seed: int = 0,
    num_train: int | None = None,
    num_val: int | None = None,
) -> SegmentationData:
    """Load dataset kind ``name`` (see ``DATASETS``: synthetic, camvid, folder).

    ``image_size`` is (H, W); None keeps the kind's native size. ``num_train`` / ``num_val``
    generate that many synthetic scenes, or pick a seeded random subset of a stored set.
    """
    loader = DATASETS.lookup(name, DataError, "dataset")
    request = DatasetRequest(
        data_root=Path(data_root).expanduser() if data_root is not None else None,
        image_size=_check_size(image_size),
        seed=seed,
        num_train=num_train,
        num_val=num_val,
    )
    return loader(request).subset(num_train, num_val, seed)


def _check_size(image_size: tuple[int, int] | list[int] | None) -> tuple[int, int] | None:
    if image_size is None:
        return None
    size = tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, Integral) and s > 0 for s in size):
        raise DataError(f"image_size {image_size!r} is not (H, W) with two positive integers")
    return int(size[0]), int(size[1])
