"""The CamVid reference: designs of the shipped space trained standalone, scored as users would.

Any proxy's ranking is measured against this table (``benchmarks/ranking_fidelity.py``), so it is
computed once and committed (``benchmarks/reference/camvid_standalone.json``: the designs, the
recipe, the code commit and the scores); the trained weights stay in ``--cache``, out of git.

- Designs: ``--designs`` drawn from ``search_spaces/camvid.yaml`` by a Latin hypercube over every
  parameter (``--draw-seed``; each range cut into as many strata as designs, every stratum used
  once), in draw order.
- Recipe (``RECIPE``): each design trained from scratch in float, then fine-tuned noise-aware on
  its own chip (``finetune_epochs``), and scored on all 101 validation frames under 3 simulated
  chips (mean and spread), plus float32.
- The first ``--repeat`` designs are trained again with ``--repeat-seed`` (initial weights,
  shuffling, augmentation and chips all change): the reference's own seed-to-seed agreement, the
  ceiling any proxy can reach.

Designs already in the table are not trained again, so an interrupted run resumes, and a longer
run only adds rows. ``--jobs`` trainings run at a time, one torch thread each; a noise-aware
phase holds up to ~19 GB (design 11 on 23 GB was killed for memory beside a supernet training), so
run it alone, with ``--jobs 1`` on a machine of 24 GB. Usage::

    .venv/bin/python benchmarks/camvid_reference.py --designs 24 --repeat 8 --jobs 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from benchmark_support import code_commit, latin_hypercube, machine

from evaluators.photonic_segmentation import PhotonicSegmentationEvaluator

REPO = Path(__file__).resolve().parents[1]
SPACE = REPO / "search_spaces" / "camvid.yaml"
TABLE = REPO / "benchmarks" / "reference" / "camvid_standalone.json"
RECIPE: dict[str, Any] = {
    "fidelity": "standalone",
    "num_val": None,  # all 101 validation frames
    "epochs": 30,
    "lr": 5e-3,
    "batch_size": 8,
    "finetune_epochs": 1,
    "noise_samples": 3,
    # Scored with the input noise drawn per element, as the first rows were (``auto`` folds it
    # into the output noise when scoring: within 0.003 mIoU, benchmarks/RESULTS.md).
    "noise": {"adc_gain": 4.0, "input_noise": "exact"},
}
SCORES = ("miou", "miou_std", "miou_clean")
UNSTATED = ("threads", "cache_dir", "supernet", "recalibration_images", "recalibration_noise")
"""Options of the space that standalone training does not read (or that only place the work):
left out of the table's stated recipe, so a change of the space's supernet keeps the table."""


def space_options() -> tuple[dict[str, Any], dict[str, Any]]:
    space = yaml.safe_load(SPACE.read_text())
    return dict(space["evaluator"]["options"]), dict(space["params"])


def train_and_score(options: dict[str, Any], params: dict[str, Any]) -> dict[str, float]:
    """One design through the evaluator (in a worker process, one thread)."""
    start = time.perf_counter()
    evaluator = PhotonicSegmentationEvaluator(**options)
    evaluator.setup()
    metrics = evaluator.evaluate(params)
    return {**{k: float(metrics[k]) for k in SCORES}, "seconds": time.perf_counter() - start}


def read_table() -> dict[str, Any]:
    if TABLE.exists():
        table: dict[str, Any] = json.loads(TABLE.read_text())
        return table
    return {"rows": []}


def write_table(table: dict[str, Any]) -> None:
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    temporary = TABLE.with_suffix(".tmp")
    temporary.write_text(json.dumps(table, indent=1) + "\n")
    temporary.replace(TABLE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", type=int, default=24)
    parser.add_argument("--draw-seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=8)
    parser.add_argument("--repeat-seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=Path("runs/cache-reference"))
    args = parser.parse_args()
    base, domains = space_options()
    recipe = {**base, **RECIPE, "threads": 1, "cache_dir": str(args.cache)}
    designs = latin_hypercube(domains, args.designs, args.draw_seed)
    table = read_table()
    stated = {k: v for k, v in recipe.items() if k not in UNSTATED}
    header = {"space": str(SPACE.relative_to(REPO)), "draw": "latin hypercube",
              "draw_seed": args.draw_seed, "recipe": stated}  # fmt: skip
    if table.get("header", header) != header:
        raise SystemExit(f"{TABLE} holds another draw or recipe: move it away to start anew")
    done = {(row["index"], row["seed"]) for row in table["rows"]}
    wanted = [(i, 0) for i in range(len(designs))]
    wanted += [(i, args.repeat_seed) for i in range(min(args.repeat, len(designs)))]
    todo = [(i, seed) for i, seed in wanted if (i, seed) not in done]
    print(f"machine: {machine()}\n{len(todo)} trainings to run, {len(done)} in the table")
    commit = code_commit()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {
            pool.submit(train_and_score, {**recipe, "seed": seed}, designs[i]): (i, seed)
            for i, seed in todo
        }
        for future, (i, seed) in futures.items():
            scores = future.result()
            row = {"index": i, "seed": seed, "params": designs[i], "code_commit": commit,
                   "date": time.strftime("%Y-%m-%d"), **scores}  # fmt: skip
            table = {**read_table(), "header": header}
            table["rows"] = sorted([*table["rows"], row], key=lambda r: (r["seed"], r["index"]))
            write_table(table)
            print(f"design {i} seed {seed}: {scores}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
