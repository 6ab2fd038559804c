"""The CamVid search as a user runs it, end to end: time, verified fronts, and the export.

Issue 13's acceptance 2-4 in one command, every step through the real command line (Ray, MLflow,
ledger), into a fresh ``--runs-dir`` so that nothing is cached at the start:

1. ``dse search SPACE`` as written (its ``fidelities:`` levels, when it has some) at
   ``--budget`` and the first of ``--seeds``: wall time, supernet training included.
2. For a multi-fidelity space, the same space reduced to its first level (``single``: the cheap
   level's options merged into the evaluator's, ``fidelities:`` removed), same seed and budget;
   its supernet is cached by then, so its wall time is scoring only.
3. ``dse verify --top K`` on both: the verified fronts' hypervolumes and the rank agreement
   (Kendall tau) between search score and verified score, as ``dse verify`` prints them.
   Steps 1-3 again for every further seed (searches ``shipped-seedS``, ``single-seedS``).
4. ``dse export --pick max-miou`` of the search of step 1: once verified, the pick is the
   verified design of the highest verified mIoU, so it carries the weights ``dse verify`` trained
   with the space's verify recipe (read from the cache, its report says so), and its ``model.pt``
   loaded with plain ``torch.jit.load`` and scored in float on every validation frame.

Prints a markdown report. A single-level space runs steps 1, 3 and 4 only. The runs directory
must be new or empty: a search found there would resume, and its wall time would mean nothing.

Usage (from the repository root; hours on 2 cores, the verify recipe trains ~30 epochs a design)::

    .venv/bin/python benchmarks/camvid_search.py [--space search_spaces/camvid.yaml] \\
        [--budget 200] [--seeds 0 1] [--top 8] [--runs-dir runs/camvid-search] [--out report.md]
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
import yaml
from benchmark_support import cli_search, machine, publish

from evaluators.segmentation_options import SegmentationOptions
from evaluators.training import evaluate_miou


def single_level(space: dict[str, Any]) -> dict[str, Any]:
    """The space with only its first fidelity level, merged into the evaluator's options."""
    first = space["fidelities"][0]
    evaluator = {**space["evaluator"]}
    evaluator["options"] = {**evaluator.get("options", {}), **first.get("options", {})}
    reduced = {key: value for key, value in space.items() if key != "fidelities"}
    reduced["evaluator"] = evaluator
    reduced["name"] = f"{space['name']}-{first['name']}-only"
    return reduced


def dse(runs_dir: Path, *args: str) -> str:
    """One ``dse`` command in ``runs_dir``; its standard output."""
    command = [sys.executable, "-m", "dse", *args, "--runs-dir", str(runs_dir)]
    print("$ " + shlex.join(command), file=sys.stderr)
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def verify(runs_dir: Path, name: str, top: int) -> tuple[dict[str, float], float]:
    """``dse verify``'s summary lines (``key: value``) and its wall time."""
    start = time.perf_counter()
    output = dse(runs_dir, "verify", "--name", name, "--top", str(top))
    summary = {}
    for line in output.splitlines():
        key, _, value = line.partition(": ")
        try:
            summary[key] = float(value)
        except ValueError:
            continue
    return summary, time.perf_counter() - start


def search_name(name: str, seed: int, args: argparse.Namespace) -> str:
    """``name`` for the first seed (what the export reads), ``name-seedS`` for the others."""
    return name if seed == args.seeds[0] else f"{name}-seed{seed}"


def export_max_miou(runs_dir: Path, name: str, space: dict[str, Any]) -> tuple[Path, float]:
    """Export the search's max-miou design (among the designs ``dse verify`` checked, by their
    verified mIoU: it exports with verify's recipe and the weights verify trained); its float
    mIoU on every validation frame, from ``model.pt`` loaded with plain ``torch.jit.load``."""
    out = runs_dir / "exports" / f"{name}-max-miou"
    dse(runs_dir, "export", "--name", name, "--pick", "max-miou", "--out", str(out))
    design = yaml.safe_load((out / "design.yaml").read_text())
    if design["provenance"].get("weights") != "verify":
        raise SystemExit(f"{out}: the max-miou design was not verified (search weights)")
    data = SegmentationOptions.create(**design["evaluator"]["options"]).load_data()
    model = torch.jit.load(str(out / "model.pt"))
    miou = evaluate_miou(
        model, data.val_images, data.val_labels, num_classes=data.num_classes, device="auto"
    ).miou
    return out, miou


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", type=Path, default=Path("search_spaces/camvid.yaml"))
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="one pair a seed")
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/camvid-search"))
    parser.add_argument("--out", type=Path, default=None, help="also write the report here")
    args = parser.parse_args()
    if args.runs_dir.exists() and any(args.runs_dir.iterdir()):
        parser.error(f"--runs-dir {args.runs_dir} is not empty: give a new one")
    args.runs_dir.mkdir(parents=True, exist_ok=True)
    space = yaml.safe_load(args.space.read_text())
    lines = [
        f"Command: `{shlex.join([sys.executable, *sys.argv])}`",
        f"Machine: {machine()}",
        "",
    ]
    searches = {"as shipped": (args.space, "shipped")}
    if space.get("fidelities"):
        reduced = args.runs_dir / "single-level.yaml"
        reduced.write_text(yaml.safe_dump(single_level(space), sort_keys=False))
        searches["first level only"] = (reduced, "single")
    rows = [
        "| seed | search | wall time | verified | summary of `dse verify` |",
        "|---|---|---|---|---|",
    ]
    for seed in args.seeds:
        flags = ["--budget", str(args.budget), "--seed", str(seed)]
        for label, (path, name) in searches.items():
            seconds = cli_search(path, search_name(name, seed, args), args.runs_dir, *flags)
            summary, verify_seconds = verify(args.runs_dir, search_name(name, seed, args), args.top)
            cells = ", ".join(f"{key} {value:.4g}" for key, value in summary.items())
            rows.append(
                f"| {seed} | {label} | {seconds:.0f} s | {verify_seconds:.0f} s | {cells} |"
            )
    out, miou = export_max_miou(args.runs_dir, "shipped", space)
    lines += rows
    lines += ["", "Every search after the first found the supernet cached by the first: its wall"
              " time is scoring only. Per-generation rank agreement between the levels: each"
              " shipped search's MLflow run."]  # fmt: skip
    lines += ["", f"Max-miou export of the shipped search of seed {args.seeds[0]} ({out}): float"
              f" mIoU {miou:.4f} on every validation frame, `model.pt` loaded with"
              " `torch.jit.load`."]  # fmt: skip
    publish("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
