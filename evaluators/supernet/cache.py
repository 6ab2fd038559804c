"""Train a supernet once per recipe, keep it under the cache directory, load it everywhere.

The file is ``<cache_dir>/supernets/<key>.pt``: ``torch.save`` of plain data (loadable with
``weights_only=True``) holding the format, the key and the recipe it was computed from, the
space, the tensors and a SHA-256 checksum of their names, dtypes, shapes and bytes. A file that
does not load, whose checksum or key disagrees, or whose format is old, is never used: the
driver trains again (with a warning) and replaces it atomically; a worker refuses it.

The key covers everything training reads: the space's domains, the training settings, the
training data's content (a fingerprint of its arrays, so a changed file at the same path counts),
the image size, the number of classes, the seed, and the noise and hardware base options. The
validation split is not in it: training never reads it.

A recipe with a noise-aware phase also leaves the float supernet it started from, under the key
of its :func:`float_recipe` (the same recipe without the noise phase): a later recipe that only
changes the noise phase trains that phase alone (minutes instead of the float phase's hour).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import sys
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from tqdm import tqdm

from evaluators.data import SegmentationData
from evaluators.files import write_atomically
from evaluators.keys import content_key
from evaluators.supernet.errors import SupernetError
from evaluators.supernet.model import Supernet
from evaluators.supernet.space import SupernetSpace
from evaluators.supernet.training import (
    NoiseOf,
    SupernetSettings,
    train_paths,
    train_under_noise,
)

FORMAT = 2  # bump when training or the file layout changes, so old files are retrained
# 2: the noise phase draws from a stream of its own, and float supernets are cached apart
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SupernetRecipe:
    """Everything a trained supernet depends on; its :attr:`key` names the cache file."""

    space: SupernetSpace
    settings: SupernetSettings
    num_classes: int
    seed: int
    data_fingerprint: str
    context: Mapping[str, Any] = field(default_factory=dict)  # other options training reads

    def identity(self) -> dict[str, Any]:
        """The recipe as plain data (stored in the file, hashed into the key)."""
        return {
            "format": FORMAT,
            "space": self.space.to_data(),
            "settings": self.settings.identity(),
            "num_classes": self.num_classes,
            "seed": self.seed,
            "data": self.data_fingerprint,
            "context": json.loads(json.dumps(dict(self.context), sort_keys=True, default=str)),
        }

    @property
    def key(self) -> str:
        return content_key(self.identity())


def fingerprint(data: SegmentationData) -> str:
    """The training split's fingerprint, all that supernet training reads (so scoring on another
    validation subset reuses the supernet)."""
    return data.fingerprint("train")


def checksum(tensors: Mapping[str, Tensor]) -> str:
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def cache_path(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / "supernets" / f"{key}.pt"


def partial_path(path: Path) -> Path:
    """Where the training of the supernet to be filed at ``path`` files its progress: a search
    killed in the middle of it (most of a CamVid search's first half hour) resumes there."""
    return path.with_name(f"{path.stem}.partial.pt")


def obtain_supernet(
    recipe: SupernetRecipe,
    cache_dir: Path,
    data: SegmentationData,
    *,
    noise_of: NoiseOf,
    device: str = "auto",
    progress: bool = True,
) -> Path:
    """The path of a valid trained supernet for ``recipe``: the cached one, else a new one.
    A new one with a noise-aware phase starts from the cached float supernet of its
    :func:`float_recipe` when there is one (and caches it when there is not): the float phase
    is most of the training, and noise recipes are what gets varied."""
    path = cache_path(cache_dir, recipe.key)
    if _cached(path, recipe.key) is not None:
        return path
    supernet = Supernet(recipe.space, recipe.num_classes, seed=recipe.seed)
    start = time.perf_counter()
    settings = recipe.settings
    float_phase = float_recipe(recipe)
    float_path = cache_path(cache_dir, float_phase.key)
    cached_float = _cached(float_path, float_phase.key) if float_phase.key != recipe.key else None
    if cached_float is not None:
        supernet.store.load(cached_float["tensors"])
        if progress:
            tqdm.write(f"supernet {recipe.key}: float phase from {float_path}", file=sys.stderr)
    else:
        if progress:
            tqdm.write(f"training supernet {recipe.key} ({settings})", file=sys.stderr)
        train_paths(
            supernet, data, settings, seed=recipe.seed, device=device, progress=progress,
            checkpoint=partial_path(float_path),
        )  # fmt: skip
        save_supernet(supernet, float_phase, float_path, seconds=time.perf_counter() - start)
    if settings.noise_epochs:
        train_under_noise(
            supernet, data, settings, noise_of=noise_of, seed=recipe.seed, device=device,
            progress=progress, checkpoint=partial_path(path),
        )  # fmt: skip
        save_supernet(supernet, recipe, path, seconds=time.perf_counter() - start)
    return path


def float_recipe(recipe: SupernetRecipe) -> SupernetRecipe:
    """The recipe of ``recipe``'s float phase alone (the same recipe when it has no noise
    phase): its file is the starting point of every noise phase trained from it."""
    return dataclasses.replace(recipe, settings=recipe.settings.float_phase())


def _cached(path: Path, key: str) -> dict[str, Any] | None:
    """The verified record at ``path`` if it holds a valid supernet of ``key``, else None (a
    damaged one is warned about)."""
    if not path.exists():
        return None
    try:
        return read_record(path, key)
    except SupernetError as error:
        log.warning("%s; training the supernet again", error)
        return None


def save_supernet(supernet: Supernet, recipe: SupernetRecipe, path: Path, seconds: float) -> None:
    """Write the file next to its final name, then rename: readers never see half a file."""
    tensors = {k: v.cpu() for k, v in supernet.store.tensors().items()}
    record = {
        "format": FORMAT,
        "key": recipe.key,
        "recipe": recipe.identity(),
        "train_seconds": seconds,
        "tensors": tensors,
        "checksum": checksum(tensors),
    }
    write_atomically(path, lambda temporary: torch.save(record, temporary))


def read_record(path: Path, key: str | None = None) -> dict[str, Any]:
    """The file's content, verified (format, checksum, and ``key`` when given)."""
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, zipfile.BadZipFile) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SupernetError(f"{path}: not a readable supernet file ({first})") from error
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise SupernetError(f"{path}: not a supernet file of format {FORMAT}")
    if checksum(record["tensors"]) != record["checksum"]:
        raise SupernetError(f"{path}: checksum mismatch (the file is corrupt)")
    if content_key(record["recipe"]) != record["key"]:
        raise SupernetError(f"{path}: its recipe does not match its key {record['key']}")
    if key is not None and record["key"] != key:
        raise SupernetError(f"{path}: holds supernet {record['key']}, expected {key}")
    return dict(record)


def load_supernet(path: Path) -> Supernet:
    """The trained supernet of a verified file (what every worker does once)."""
    record = read_record(path)
    recipe = record["recipe"]
    space = SupernetSpace.from_domains(recipe["space"])
    supernet = Supernet(space, recipe["num_classes"], seed=recipe["seed"])
    supernet.store.load(record["tensors"])
    return supernet.eval()
