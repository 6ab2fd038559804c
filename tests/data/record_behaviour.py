"""Record the reference behaviour that tests/evaluators/test_behaviour.py compares against.

Run by hand, from the repository root, only when a change is *meant* to alter results (a new
training recipe, a cost-model fix); say so in the commit that replaces the files:

    .venv/bin/python tests/data/record_behaviour.py

It writes, next to itself,

- ``quickstart_ledger.json``: the designs and metrics of ``search_spaces/quickstart.yaml`` at
  budget 8, population 4, seed 0, 2 workers (the search ``tests/test_product.py`` runs), through
  the real command line;
- ``evaluator_reference.json``: the metrics of a few designs through the evaluator protocol
  (``prepare``, ``setup``, ``evaluate``) at both fidelities on tiny synthetic recipes, and the
  metrics table of the ``report.md`` that ``export`` writes for one of them.

Only the evaluator protocol and the CLI are used, so the script outlives refactors of either side.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from dse.evaluator import clean_metrics, prepare_options, setup_evaluator  # noqa: E402
from tests.support.reference import comparable, report_table  # noqa: E402

TARGET = "evaluators.photonic_segmentation:PhotonicSegmentationEvaluator"
QUICKSTART_ARGS = ["--budget", "8", "--population", "4", "--seed", "0", "--workers", "2",
                  "--optimizer", "nsga2"]  # fmt: skip  # as recorded (tpe became the default after)

BLOCKS = ["standard", "depthwise", "ghost"]
DOMAINS: dict[str, dict[str, Any]] = {
    "arch.width": {"type": "int", "low": 8, "high": 16, "step": 8, "log": False},
    "arch.stage2.block": {"type": "categorical", "choices": BLOCKS},
    "arch.stage3.block": {"type": "categorical", "choices": BLOCKS},
    "arch.stage3.iterations": {"type": "int", "low": 1, "high": 2, "step": 1, "log": False},
    "hw.bits": {"type": "int", "low": 4, "high": 8, "step": 1, "log": False},
    "hw.wavelengths": {"type": "int", "low": 4, "high": 16, "step": 1, "log": True},
}
BASE: dict[str, Any] = {
    "dataset": "synthetic",
    "image_size": [32, 32],
    "num_train": 32,
    "num_val": 16,
    "noise_samples": 2,
    "threads": 1,
    "device": "cpu",
    "noise": {"adc_gain": 4.0},
}
RECIPES: dict[str, dict[str, Any]] = {
    "supernet": {
        **BASE,
        "fidelity": "supernet",
        "recalibration_images": 16,
        "supernet": {"epochs": 2, "batch_size": 8, "noise_epochs": 1, "noise_batch_size": 16},
    },
    "standalone": {
        **BASE,
        "fidelity": "standalone",
        "epochs": 2,
        "batch_size": 8,
        "finetune_epochs": 1,
    },
}
DESIGNS: list[dict[str, Any]] = [
    {
        "arch.width": 8,
        "arch.stage2.block": "depthwise",
        "arch.stage3.block": "ghost",
        "arch.stage3.iterations": 2,
        "hw.bits": 6,
        "hw.wavelengths": 8,
    },
    {
        "arch.width": 16,
        "arch.stage2.block": "standard",
        "arch.stage3.block": "standard",
        "arch.stage3.iterations": 1,
        "hw.bits": 4,
        "hw.wavelengths": 16,
    },
]


def record_quickstart() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="dse-record-") as directory:
        subprocess.run(
            [sys.executable, "-m", "dse", "search", str(REPO / "search_spaces/quickstart.yaml"),
             "--name", "reference", "--quiet", *QUICKSTART_ARGS],
            cwd=directory, check=True, capture_output=True, text=True,
        )  # fmt: skip
        ledger = Path(directory) / "runs/searches/reference/ledger.jsonl"
        trials = [json.loads(line) for line in ledger.read_text().splitlines()]
    return [
        {
            "number": t["number"],
            "generation": t["generation"],
            "params": t["params"],
            "status": t["status"],
            "metrics": comparable(t["metrics"]),
        }
        for t in sorted(trials, key=lambda t: t["number"])
    ]


def record_evaluator() -> dict[str, Any]:
    torch.set_num_threads(1)
    recorded: dict[str, Any] = {"domains": DOMAINS, "recipes": RECIPES, "designs": DESIGNS}
    with tempfile.TemporaryDirectory(prefix="dse-record-") as directory:
        cache = Path(directory) / "cache"
        for fidelity, options in RECIPES.items():
            prepared = prepare_options(TARGET, options, cache, DOMAINS)
            evaluator = setup_evaluator(TARGET, prepared)
            recorded[fidelity] = [
                comparable(clean_metrics(evaluator.evaluate(dict(design)))) for design in DESIGNS
            ]
            out = Path(directory) / f"export-{fidelity}"
            evaluator.export(dict(DESIGNS[0]), out)  # type: ignore[attr-defined]
            recorded[f"{fidelity}_report"] = report_table((out / "report.md").read_text())
    return recorded


def main() -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    note = f"recorded by tests/data/record_behaviour.py at commit {commit}"
    evaluator = {"recorded": note, **record_evaluator()}
    (HERE / "evaluator_reference.json").write_text(json.dumps(evaluator, indent=1) + "\n")
    ledger = {"recorded": note, "args": QUICKSTART_ARGS, "trials": record_quickstart()}
    (HERE / "quickstart_ledger.json").write_text(json.dumps(ledger, indent=1) + "\n")


if __name__ == "__main__":
    main()
