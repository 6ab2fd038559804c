"""Segmentation datasets: ``load_dataset(name, ...)`` over a registry of kinds.

Kinds: ``synthetic`` (procedural scenes, the default), ``camvid`` (the npz copies), ``folder``
(PNG files). Augmentation for training lives in :mod:`evaluators.data.augment`.
"""

from evaluators.data import camvid, folder, synthetic  # noqa: F401  (register the kinds)
from evaluators.data.augment import Augmentation, augment_batch
from evaluators.data.dataset import IGNORE_INDEX, SegmentationData, to_model_input
from evaluators.data.errors import DataError
from evaluators.data.registry import DATASETS, load_dataset, register_dataset

__all__ = [
    "DATASETS",
    "IGNORE_INDEX",
    "Augmentation",
    "DataError",
    "SegmentationData",
    "augment_batch",
    "load_dataset",
    "register_dataset",
    "to_model_input",
]
