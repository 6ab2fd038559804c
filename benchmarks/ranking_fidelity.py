"""Ranking fidelity: does a fidelity order the CamVid designs as the standalone reference does?

A fast proxy that ranks badly is worse than none, so this measures it against the committed
reference (``benchmarks/reference/camvid_standalone.json``, made by ``camvid_reference.py``:
designs of ``search_spaces/camvid.yaml`` trained standalone with noise-aware fine-tuning and
scored on all 101 validation frames under 3 chips). It scores the reference's designs with
``--fidelity`` (``supernet``, ``finetune``, ...) under the space's evaluator options plus
``--option key=value`` overrides (YAML values), each design as a search would: prepare once (a
supernet is trained or found in ``--cache``), then one design at a time, scores cached so an
interrupted run resumes. It reports, for ``miou`` (under each design's own noise, the search's
objective) and ``miou_clean``:

- Kendall's tau against the reference over every design, and among the *healthy* ones (reference
  mIoU above ``--healthy``), each with a bootstrap 90 % interval (``--bootstrap`` resamples of
  the designs);
- the reference's own seed-to-seed tau over the designs it trained twice: the ceiling;
- the fidelity's clean mIoU as a fraction of the reference's for the median design, and its
  cost per design (seconds on one thread, and the training images its ``cost`` reports).

Usage (from the repository root)::

    .venv/bin/python benchmarks/ranking_fidelity.py --fidelity supernet \\
        [--option 'supernet={epochs: 30}' ...] [--cache runs/cache] [--out report.md]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from benchmark_support import machine, publish
from scipy import stats

from dse.design import parse_overrides
from evaluators.photonic_segmentation import PhotonicSegmentationEvaluator

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO / "benchmarks" / "reference" / "camvid_standalone.json"
SCORES = ("miou", "miou_clean")


def tau(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    return float(stats.kendalltau(a, b).statistic) if len(a) > 1 else float("nan")


def bootstrap(a: Sequence[float], b: Sequence[float], resamples: int, seed: int = 0) -> str:
    """Kendall's tau of ``a`` and ``b`` with a bootstrap 90 % interval over the designs."""
    x, y = np.asarray(a), np.asarray(b)
    if len(x) < 3:
        return f"n/a ({len(x)} designs)"  # a partial reference: no interval to speak of
    rng = np.random.default_rng(seed)
    draws = [tau(x[i], y[i]) for i in (rng.integers(0, len(x), len(x)) for _ in range(resamples))]
    low, high = np.nanpercentile(draws, [5, 95])
    return f"{tau(x, y):.3f} [{low:.3f}, {high:.3f}]"


def score_path(cache: Path, options: dict[str, Any], params: dict[str, Any]) -> Path:
    blob = json.dumps([options, params], sort_keys=True, default=str)
    return cache / "scores" / f"{hashlib.sha256(blob.encode()).hexdigest()[:20]}.json"


def score(
    evaluator: PhotonicSegmentationEvaluator, path: Path, params: dict[str, Any]
) -> dict[str, float]:
    """The design's scores under ``evaluator`` (kept at ``path``) and the seconds they took."""
    if path.exists():
        cached: dict[str, float] = json.loads(path.read_text())
        return cached
    start = time.perf_counter()
    metrics = evaluator.evaluate(params)
    result = {**{k: float(metrics[k]) for k in SCORES}, "seconds": time.perf_counter() - start}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fidelity", default="supernet")
    parser.add_argument("--option", nargs="*", default=[], help="evaluator option key=value")
    parser.add_argument("--healthy", type=float, default=0.15, help="reference mIoU above")
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--cache", type=Path, default=Path("runs/cache"))
    parser.add_argument("--out", type=Path, default=None, help="also write the report here")
    parser.add_argument(
        "--designs", type=int, default=None, help="the first N designs of the draw (all)"
    )
    args = parser.parse_args(argv)
    table = json.loads(TABLE.read_text())
    space = yaml.safe_load((REPO / table["header"]["space"]).read_text())
    options = {
        **space["evaluator"]["options"],
        "fidelity": args.fidelity,
        "threads": 1,
        **parse_overrides(args.option),
    }
    reference = [row for row in table["rows"] if row["seed"] == 0][: args.designs]
    prepared = PhotonicSegmentationEvaluator(**options).prepare(args.cache, space["params"])
    worker = PhotonicSegmentationEvaluator(**{**options, **prepared})
    worker.setup()
    scores = []
    for index, row in enumerate(reference):
        scores.append(score(worker, score_path(args.cache, options, row["params"]), row["params"]))
        print(f"{args.fidelity} {index + 1}/{len(reference)}: {scores[-1]}", file=sys.stderr)
    command = shlex.join([sys.executable, *sys.argv]).replace(os.getcwd() + "/", "")
    publish(render(command, args, table, reference, scores, worker), args.out)


def agreement_row(
    label: str, ours: list[float], theirs: list[float], healthy: list[int], resamples: int
) -> str:
    """A table row: tau over all designs, and over the healthy ones (indices into both lists)."""
    everything = bootstrap(ours, theirs, resamples)
    subset = bootstrap([ours[i] for i in healthy], [theirs[i] for i in healthy], resamples)
    return f"| {label} | {everything} | {subset} |"


def render(
    command: str,
    args: argparse.Namespace,
    table: dict[str, Any],
    reference: list[dict[str, Any]],
    scores: list[dict[str, float]],
    worker: PhotonicSegmentationEvaluator,
) -> str:
    healthy = [i for i, row in enumerate(reference) if row["miou"] > args.healthy]
    repeats = {row["index"]: row for row in table["rows"] if row["seed"] != 0}
    first = [row for row in reference if row["index"] in repeats]
    twice_healthy = [i for i, row in enumerate(first) if row["miou"] > args.healthy]
    clean = [s["miou_clean"] / r["miou_clean"] for s, r in zip(scores, reference, strict=True)]
    cost = asdict(worker.fidelity.cost(int(worker.data.train_images.shape[0])))
    recipe = json.dumps(table["header"]["recipe"], sort_keys=True)
    lines = [
        f"Command: `{command}`",
        f"Machine: {machine()}",
        f"Reference: {TABLE.relative_to(REPO)}, {len(reference)} designs ({len(first)} twice),"
        f" recipe {recipe}",
        f"Fidelity: {args.fidelity}; training images (once and per design): {cost}",
        "",
        f"| Kendall tau [bootstrap 90 %] | all designs | healthy (reference miou > {args.healthy},"
        f" n = {len(healthy)}; of the repeated ones {len(twice_healthy)}) |",
        "|---|---|---|",
    ]
    for name in SCORES:
        ours, theirs = [s[name] for s in scores], [r[name] for r in reference]
        label = f"{args.fidelity} vs reference, `{name}`"
        lines.append(agreement_row(label, ours, theirs, healthy, args.bootstrap))
        again = [repeats[row["index"]][name] for row in first]
        label = f"reference seed 1 vs seed 0, `{name}`"
        once = [row[name] for row in first]
        lines.append(agreement_row(label, again, once, twice_healthy, args.bootstrap))
    seconds = [s["seconds"] for s in scores]
    lines += [
        "",
        f"Clean mIoU, fidelity / reference, median design: {statistics.median(clean):.2f}",
        f"Seconds per design (one thread, training included when not cached): median"
        f" {statistics.median(seconds):.1f}, max {max(seconds):.1f}",
        "",
        "| design | reference miou | reference clean | fidelity miou | fidelity clean |",
        "|---|---|---|---|---|",
    ]
    for row, scored in zip(reference, scores, strict=True):
        lines.append(
            f"| {row['index']} | {row['miou']:.3f} | {row['miou_clean']:.3f}"
            f" | {scored['miou']:.3f} | {scored['miou_clean']:.3f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
