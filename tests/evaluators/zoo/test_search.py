"""A search space mixing published networks and the project's family, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.support.cli import run_dse

SPACE = {
    "name": "mixed",
    "evaluator": {
        "target": "evaluators.photonic_segmentation:PhotonicSegmentationEvaluator",
        "options": {
            "dataset": "synthetic", "image_size": [32, 32], "num_train": 64, "num_val": 16,
            "fidelity": "standalone", "epochs": 3, "noise_samples": 1, "noise": {"adc_gain": 4.0},
        },
    },
    "objectives": [
        {"name": "miou", "direction": "maximize", "bounds": [0.0, 1.0]},
        {"name": "energy_uj", "direction": "minimize", "bounds": [0.1, 100.0], "scale": "log"},
    ],
    # The family only at its cheapest (width 8, no expansion): the least energy of the space, so
    # a family design is on the front whatever it learns, and ENet (8x its energy) only by
    # scoring a higher mIoU than every family design.
    "params": {
        "arch.model": {"type": "categorical", "choices": ["family", "enet"]},
        "arch.width": {"type": "int", "low": 8, "high": 8},
        "arch.expansion": {"type": "int", "low": 1, "high": 1},
        "hw.bits": {"type": "int", "low": 6, "high": 8},
    },
    "search": {"budget": 6, "population": 6, "workers": 2, "seed": 0},
}  # fmt: skip


def test_zoo_networks_and_the_family_are_searched_onto_one_front(tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump(SPACE, sort_keys=False))
    run_dse(tmp_path, "search", str(path), "--name", "mixed")
    front = json.loads(run_dse(tmp_path, "front", "--name", "mixed", "--format", "json").stdout)
    models = {row["arch.model"] for row in front}
    assert models == {"family", "enet"}, front
