"""A weight-sharing supernet over a search space: train once, score every design from it.

``SupernetSpace.from_domains(domains)`` reads the space; :class:`Supernet` holds the shared
weights and builds any design from slices of them; :func:`train_supernet` trains it by path
sampling and then noise-aware; :func:`obtain_supernet` does that once per
:class:`SupernetRecipe` and caches the result, :func:`load_supernet` reads it back; a design's
network gets its own batch-norm statistics from :func:`recalibrate_bn` before it is scored.
"""

from evaluators.supernet.cache import (
    SupernetRecipe,
    fingerprint,
    float_recipe,
    load_supernet,
    obtain_supernet,
)
from evaluators.supernet.errors import SupernetError
from evaluators.supernet.model import Supernet
from evaluators.supernet.recalibration import recalibrate_bn, recalibration_images
from evaluators.supernet.space import SupernetSpace
from evaluators.supernet.training import SAMPLERS, SupernetSettings, train_supernet

__all__ = [
    "SAMPLERS",
    "Supernet",
    "SupernetError",
    "SupernetRecipe",
    "SupernetSettings",
    "SupernetSpace",
    "fingerprint",
    "float_recipe",
    "load_supernet",
    "obtain_supernet",
    "recalibrate_bn",
    "recalibration_images",
    "train_supernet",
]
