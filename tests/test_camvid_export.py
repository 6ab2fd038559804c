"""A design exported from a CamVid search runs on its own and scores what the search said.

A small CamVid search (supernet fidelity, a supernet trained for one short epoch: the point is
that export reproduces the evaluated network, not that it is accurate) exports its most accurate
design; ``model.pt`` is then read back with nothing but ``torch.jit.load`` and NumPy, run on the
whole CamVid validation split, and its mIoU must match the design's ``miou_clean``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from tests.support.cli import run_dse

IGNORE = 255


def camvid_space(root: Path) -> dict[str, object]:
    return {
        "name": "camvid-export",
        "evaluator": {
            "target": "evaluators.photonic_segmentation:PhotonicSegmentationEvaluator",
            "options": {
                "dataset": "camvid",
                "data_root": str(root),
                "image_size": [96, 128],
                "num_train": 32,
                "fidelity": "supernet",
                "supernet": {"epochs": 1, "noise_epochs": 0},
                "recalibration_images": 16,
                "noise_samples": 1,
                "threads": 1,
            },
        },
        "objectives": [
            {"name": "miou", "direction": "maximize", "bounds": [0.0, 1.0]},
            {"name": "energy_uj", "direction": "minimize"},
        ],
        "params": {
            "arch.width": {"type": "int", "low": 8, "high": 16, "step": 8},
            "arch.stage3.block": {"type": "categorical", "choices": ["standard", "depthwise"]},
            "hw.bits": {"type": "int", "low": 4, "high": 8},
        },
    }


def plain_miou(logits: np.ndarray, labels: np.ndarray, num_classes: int) -> float:
    """Mean IoU over the classes present in the labels or the predictions (ignore 255)."""
    keep = labels != IGNORE
    truth, predicted = labels[keep].astype(np.int64), logits.argmax(1)[keep]
    confusion = np.bincount(truth * num_classes + predicted, minlength=num_classes**2)
    confusion = confusion.reshape(num_classes, num_classes)
    hits = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - hits
    return float((hits[union > 0] / union[union > 0]).mean())


def test_exported_model_reproduces_miou_clean_on_camvid_val(
    camvid_root: Path, tmp_path: Path
) -> None:
    space = tmp_path / "camvid-export.yaml"
    space.write_text(yaml.safe_dump(camvid_space(camvid_root), sort_keys=False))
    run_dse(tmp_path, "search", str(space), "--name", "cv", "--budget", "4", "--population", "4",
            "--workers", "1", "--quiet")  # fmt: skip
    run_dse(tmp_path, "export", "--name", "cv", "--pick", "max-miou", "--out", "best")

    design = yaml.safe_load((tmp_path / "best" / "design.yaml").read_text())
    model = torch.jit.load(str(tmp_path / "best" / "model.pt"))
    val = np.load(camvid_root / "camvid_96x128.npz")
    images = torch.from_numpy(val["val_images"]).permute(0, 3, 1, 2).float() / 255
    with torch.inference_mode():
        logits = torch.cat([model(batch) for batch in images.split(16)]).numpy()
    assert logits.shape[1] == 11
    miou = plain_miou(logits, val["val_labels"], num_classes=11)
    assert miou == pytest.approx(design["metrics"]["miou_clean"], abs=0.01)
