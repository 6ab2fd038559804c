"""Ranking fidelity of the supernet: does it order designs as standalone training does?

A fast proxy that ranks badly is worse than none, so this measures it. For ``--designs`` designs
spread over a search space (a Latin hypercube over every domain: each parameter's range is cut
into as many strata as designs and every stratum is used once), it scores each design twice with
:class:`evaluators.photonic_segmentation.PhotonicSegmentationEvaluator`:

- ``fidelity: supernet``: the space's supernet, trained once by ``prepare`` (cached under
  ``--cache``), each design scored from inherited weights with batch-norm recalibration;
- ``fidelity: standalone``: each design trained from scratch (weights and scores cached, so an
  interrupted run resumes), ``--jobs`` designs at a time, one torch thread each;

then reports Kendall's tau and Spearman's rho between the two, for ``miou`` (under each design's
own noise model, the search's objective) and for ``miou_clean`` (float32: weight sharing alone),
with the supernet's training time and the per-design scoring time.

Options come from the space's ``evaluator.options``; ``--option``, ``--supernet-option`` and
``--standalone-option`` (``key=value``, values read as YAML) override them for both sides, the
supernet side or the standalone side; ``--only`` runs one side (both can run at once, then a
run without it finds everything cached and writes the report). Usage (from the repository
root)::

    .venv/bin/python benchmarks/ranking_fidelity.py search_spaces/camvid.yaml --designs 12 \\
        --supernet-option 'supernet={epochs: 30}' --standalone-option epochs=20 \\
        --out runs/ranking_fidelity/camvid.md
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
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from benchmark_support import latin_hypercube, machine, publish
from scipy import stats

from dse.design import parse_overrides
from evaluators.photonic_segmentation import PhotonicSegmentationEvaluator
from evaluators.supernet.cache import read_record


@dataclass(frozen=True)
class Score:
    """One design's accuracy from one side, and the seconds its evaluation took."""

    miou: float
    miou_clean: float
    seconds: float


def read_space(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The evaluator options and the params domains of a space file."""
    space = yaml.safe_load(path.read_text())
    return dict(space["evaluator"].get("options") or {}), dict(space["params"])


def score_path(cache: Path, options: Mapping[str, Any], params: Mapping[str, Any]) -> Path:
    """Where the score of a design under ``options`` is kept (a rerun reads it back)."""
    blob = json.dumps([dict(options), dict(params)], sort_keys=True, default=str)
    return cache / "scores" / f"{hashlib.sha256(blob.encode()).hexdigest()[:20]}.json"


def cached_score(
    path: Path, evaluator: PhotonicSegmentationEvaluator, params: dict[str, Any]
) -> Score:
    """The score kept at ``path``, else ``evaluator``'s, timed and kept there."""
    if path.exists():
        return Score(**json.loads(path.read_text()))
    start = time.perf_counter()
    metrics = evaluator.evaluate(params)
    score = Score(metrics["miou"], metrics["miou_clean"], time.perf_counter() - start)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(score)))
    return score


def score_supernet(
    options: dict[str, Any], domains: dict[str, Any], designs: list[dict[str, Any]], cache: Path
) -> tuple[float, list[Score]]:
    """The supernet's training seconds (as recorded when it was trained) and its scores."""
    options = {**options, "fidelity": "supernet"}
    extra = PhotonicSegmentationEvaluator(**options).prepare(cache, domains)
    seconds = float(read_record(Path(extra["supernet_path"]))["train_seconds"])
    options = {**options, **extra}
    worker = PhotonicSegmentationEvaluator(**options)
    worker.setup()
    scores = []
    for index, params in enumerate(designs):
        scores.append(cached_score(score_path(cache, options, params), worker, params))
        print(f"supernet {index + 1}/{len(designs)}: {scores[-1]}", file=sys.stderr, flush=True)
    return seconds, scores


def _standalone_one(options: dict[str, Any], params: dict[str, Any], path: Path) -> Score:
    """Train and score one design (in a worker process); the score is kept at ``path``."""
    if path.exists():
        return Score(**json.loads(path.read_text()))
    evaluator = PhotonicSegmentationEvaluator(**{**options, "fidelity": "standalone"})
    evaluator.setup()
    return cached_score(path, evaluator, params)


def score_standalone(
    options: dict[str, Any], designs: list[dict[str, Any]], cache: Path, jobs: int
) -> list[Score]:
    options = {**options, "cache_dir": str(cache)}
    paths = [score_path(cache, options, p) for p in designs]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [
            pool.submit(_standalone_one, options, p, path)
            for p, path in zip(designs, paths, strict=True)
        ]
        scores = []
        for index, future in enumerate(futures):
            scores.append(future.result())
            print(f"standalone {index + 1}/{len(designs)}: {scores[-1]}", file=sys.stderr)
    return scores


def agreement(proxy: Sequence[float], truth: Sequence[float]) -> tuple[float, float]:
    """Kendall's tau-b and Spearman's rho of two score lists over the same designs."""
    tau = stats.kendalltau(proxy, truth).statistic
    rho = stats.spearmanr(proxy, truth).statistic
    return float(tau), float(rho)


def short(params: Mapping[str, Any]) -> str:
    """A design in a table cell: ``width=16 stage1.block=ghost ... bits=4``."""
    return " ".join(
        f"{key.split('.', 1)[1]}={f'{value:.3g}' if isinstance(value, float) else value}"
        for key, value in params.items()
    )


def render(
    command: str,
    designs: list[dict[str, Any]],
    results: dict[str, list[Score]],
    train_seconds: float,
    noise_samples: int,
) -> str:
    """The report as markdown: figures first, then one row per design."""
    supernet, standalone = results["supernet"], results["standalone"]
    tau, rho = agreement([s.miou for s in supernet], [s.miou for s in standalone])
    tau_clean, rho_clean = agreement(
        [s.miou_clean for s in supernet], [s.miou_clean for s in standalone]
    )
    seconds = [s.seconds for s in supernet]
    lines = [
        f"Command: `{command}`",
        f"Machine: {machine()}",
        "",
        f"Kendall tau: {tau:.3f}",
        f"Spearman rho: {rho:.3f}",
        f"Kendall tau (miou_clean): {tau_clean:.3f}",
        f"Spearman rho (miou_clean): {rho_clean:.3f}",
        f"Supernet training: {train_seconds:.0f} s",
        f"Per-design scoring (supernet, {noise_samples} noise samples): median"
        f" {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s; per noise sample"
        f" median {statistics.median(seconds) / noise_samples:.2f} s",
        f"Standalone per design: median {statistics.median(s.seconds for s in standalone):.0f} s",
        "",
        "| design | supernet miou | standalone miou | supernet clean | standalone clean |",
        "|---|---|---|---|---|",
    ]
    for params, a, b in zip(designs, supernet, standalone, strict=True):
        lines.append(
            f"| {short(params)} | {a.miou:.3f} | {b.miou:.3f} | {a.miou_clean:.3f}"
            f" | {b.miou_clean:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("space", type=Path)
    parser.add_argument("--designs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0, help="draws the designs")
    parser.add_argument("--option", nargs="*", default=[], help="key=value, both sides")
    parser.add_argument("--supernet-option", nargs="*", default=[], help="key=value")
    parser.add_argument("--standalone-option", nargs="*", default=[], help="key=value")
    parser.add_argument("--jobs", type=int, default=2, help="standalone trainings at a time")
    parser.add_argument("--cache", type=Path, default=Path("runs/cache"))
    parser.add_argument("--out", type=Path, default=None, help="also write the report here")
    parser.add_argument(
        "--only", choices=("supernet", "standalone"), help="run one side (to fill its cache)"
    )
    args = parser.parse_args(argv)
    base, domains = read_space(args.space)
    base.update(parse_overrides(args.option))
    options = {
        "supernet": {**base, **parse_overrides(args.supernet_option)},
        "standalone": {**base, **parse_overrides(args.standalone_option), "threads": 1},
    }
    designs = latin_hypercube(domains, args.designs, args.seed)
    if args.only != "standalone":
        train_seconds, supernet = score_supernet(options["supernet"], domains, designs, args.cache)
    if args.only != "supernet":
        standalone = score_standalone(options["standalone"], designs, args.cache, args.jobs)
    if args.only is not None:
        return
    command = shlex.join([sys.executable, *sys.argv]).replace(os.getcwd() + "/", "")
    noise_samples = PhotonicSegmentationEvaluator(**options["supernet"]).options.noise_samples
    report = render(
        command,
        designs,
        {"supernet": supernet, "standalone": standalone},
        train_seconds,
        noise_samples,
    )
    publish(report, args.out)


if __name__ == "__main__":
    main()
