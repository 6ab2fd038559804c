"""CamVid (11 classes) from the compact npz copies in ``shared/data/camvid``.

Each ``camvid_<H>x<W>.npz`` holds ``train_images`` / ``val_images`` (N x H x W x 3 uint8) and
``train_labels`` / ``val_labels`` (N x H x W uint8, 0..10 and 255). For a requested size the file
of exactly that size is used; otherwise the smallest file at least that large is resized down
(bilinear images, nearest labels), and only if none is large enough the largest is resized up.
Shrinking a larger copy keeps the detail that upsampling a smaller one cannot recover.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import numpy as np
import torch

from evaluators.data.dataset import ARRAYS, SegmentationData
from evaluators.data.errors import DataError
from evaluators.data.registry import DatasetRequest, register_dataset
from evaluators.data.resize import resize_data

CLASS_NAMES = (
    "sky", "building", "pole", "road", "pavement", "tree",
    "sign_symbol", "fence", "car", "pedestrian", "bicyclist",
)  # fmt: skip
DEFAULT_SIZE = (96, 128)
ENV_ROOT = "DSE_CAMVID_ROOT"
_FILE_PATTERN = re.compile(r"camvid_(\d+)x(\d+)\.npz")


def default_root() -> Path:
    """``$DSE_CAMVID_ROOT``, else ``shared/data/camvid`` beside the repository checkout."""
    env = os.environ.get(ENV_ROOT)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "camvid"


@register_dataset("camvid")
def load_camvid(request: DatasetRequest) -> SegmentationData:
    root = request.data_root or default_root()
    size = request.image_size or DEFAULT_SIZE
    path = pick_file(root, size)
    stored = SegmentationData.from_arrays("camvid", _read_npz(path), CLASS_NAMES, str(path))
    return resize_data(stored, size)


def pick_file(root: Path, size: tuple[int, int]) -> Path:
    """The npz to load for ``size`` (H, W): exact, else the smallest larger, else the largest."""
    if not root.is_dir():
        raise DataError(
            f"camvid data not found: {root} is not a directory (pass data_root or set {ENV_ROOT})"
        )
    files = {}
    for path in root.glob("camvid_*x*.npz"):
        match = _FILE_PATTERN.fullmatch(path.name)
        if match:
            files[(int(match[1]), int(match[2]))] = path
    if not files:
        raise DataError(f"camvid data not found: no camvid_<H>x<W>.npz file in {root}")
    larger = [s for s in files if s[0] >= size[0] and s[1] >= size[1]]
    if larger:
        return files[min(larger, key=lambda s: s[0] * s[1])]
    return files[max(files, key=lambda s: s[0] * s[1])]


def _read_npz(path: Path) -> dict[str, torch.Tensor]:
    try:
        npz = np.load(path)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: not a readable npz archive ({error})") from error
    with npz:
        return {key: torch.from_numpy(npz[key]) for key in ARRAYS if key in npz.files}
