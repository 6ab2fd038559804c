"""Hypervolume against evaluations for several optimizers and seeds, through the real CLI.

For every optimizer and seed, runs ``dse search SPACE --optimizer O --seed S`` (Ray, MLflow,
ledger: everything a user runs) into one shared runs directory, so that evaluator caches (a
supernet) are built once and reused. Then, from each search's ledger, computes the hypervolume
of the non-dominated feasible designs among the first k designs asked for (with the results of
their promoted levels, in a multi-fidelity space), for every k, with the
space's fixed objective bounds and the reference point 1.1 (the same for every method and seed),
counting failed and infeasible evaluations against the budget. Prints a markdown table (median
and interquartile range at budget checkpoints) and the hypervolume of the front of all searches'
designs together (the best known: a real space has no true front to compare with), and writes a
plot of the median curves with their interquartile bands.

``--option key=value`` (values read as YAML) overrides the space's evaluator options: the
searches then run on a copy of the space written into the runs directory, so that a costly
space can be compared at a cheaper scoring fidelity (say fewer validation frames) without a
second space file to keep in step with the first.

``--table`` keeps every finished search's curve and front in a JSON file (commit it): a search
already there is not run again, so a comparison of hours resumes in a later session even when the
runs directory is gone, and the best known front is rebuilt from the fronts it holds;
``--fingerprint 'cache/supernets/*.pt'`` records the hashes of the evaluator's trained state in
every row and refuses to add a row scored with other files (a supernet retrained elsewhere).

Usage:
  .venv/bin/python benchmarks/optimizer_comparison.py SPACE --budget 200 --seeds 0 1 2 3 4 \\
      [--optimizers nsga2 pymoo-nsga2 tpe random] [--workers 2] [--runs-dir runs-bench] \\
      [--option num_val=16 ...] [--table benchmarks/reference/camvid_optimizers.json] \\
      [--fingerprint 'cache/supernets/*.pt'] [--no-run]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from benchmark_support import cli_search, code_commit, machine

from dse.design import parse_overrides
from dse.ledger import Ledger
from dse.pareto import hypervolume, normalize, objective_matrix, pareto_front
from dse.space import SearchSpace, load_space
from dse.trial import Trial


def run_search(
    space: Path, name: str, optimizer: str, seed: int, args: argparse.Namespace
) -> float | None:
    """One search through the CLI; returns its wall time (None when it had already finished)."""
    if designs_asked(read_trials(args.runs_dir, name)) >= args.budget:
        return None
    flags = ["--optimizer", optimizer, "--seed", str(seed), "--budget", str(args.budget)]
    flags += ["--workers", str(args.workers)]
    if args.population:
        flags += ["--population", str(args.population)]
    return cli_search(space, name, args.runs_dir, *flags)


def front_points(trials: list[Trial], space: SearchSpace) -> np.ndarray:
    """The front of ``trials`` normalised within the space's fixed bounds (minimisation)."""
    if any(o.bounds is None for o in space.objectives):
        raise SystemExit("the benchmark needs fixed bounds on every objective of the space")
    bounds = [o.bounds for o in space.objectives if o.bounds is not None]
    front = pareto_front(trials, space)
    return normalize(objective_matrix(front, space), space.objectives, bounds)


def front_hypervolume(trials: list[Trial], space: SearchSpace) -> float:
    """Hypervolume of the front of ``trials`` within the space's fixed bounds."""
    return hypervolume(front_points(trials, space))


def designs_asked(trials: list[Trial]) -> int:
    """Designs a search has asked for: its trial numbers (a promoted design adds entries)."""
    return max((t.number for t in trials), default=-1) + 1


def hypervolume_curve(trials: list[Trial], space: SearchSpace) -> np.ndarray:
    """Hypervolume of the front of the first k designs, for k = 1 .. the designs in ``trials``.

    A design is a trial number: in a multi-fidelity search the results of its promoted levels
    come with it (the front counts only the top level's), so k counts designs asked for, not
    ledger entries (with half of each generation promoted, 200 entries are ~133 designs)."""
    return np.array(
        [
            front_hypervolume([t for t in trials if t.number < k], space)
            for k in range(1, designs_asked(trials) + 1)
        ]
    )


def read_trials(runs_dir: Path, name: str, designs: int | None = None) -> list[Trial]:
    """The search's results (every level) of its first ``designs`` designs, in evaluation order
    (its ledger holds them in order of finishing)."""
    trials = Ledger(runs_dir / "searches" / name).read_trials()
    kept = [t for t in trials if designs is None or t.number < designs]
    return sorted(kept, key=lambda t: t.number)


def summarise(curves: dict[str, np.ndarray], checkpoints: list[int]) -> list[str]:
    header = "| optimizer | seeds | " + " | ".join(f"HV @ {k}" for k in checkpoints) + " |"
    lines = [header, "|---|---|" + "---|" * len(checkpoints)]
    for optimizer, runs in curves.items():
        cells = []
        for k in checkpoints:
            q1, median, q3 = np.percentile(runs[:, k - 1], [25, 50, 75])
            cells.append(f"{median:.4f} [{q1:.4f}, {q3:.4f}]")
        lines.append(f"| {optimizer} | {len(runs)} | " + " | ".join(cells) + " |")
    return lines


def plot(curves: dict[str, np.ndarray], best: float, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for optimizer, runs in curves.items():
        x = np.arange(1, runs.shape[1] + 1)
        q1, median, q3 = np.percentile(runs, [25, 50, 75], axis=0)
        (line,) = axis.plot(x, median, label=f"{optimizer} (median)")
        axis.fill_between(x, q1, q3, color=line.get_color(), alpha=0.2)
    axis.axhline(best, color="gray", linestyle="--", label="front of all searches")
    axis.set_xlabel("designs evaluated")
    axis.set_ylabel("hypervolume (fixed bounds, ref 1.1)")
    axis.set_title("\n".join(textwrap.wrap(title, 70)))  # long lists of optimizers
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


@dataclass
class Table:
    """Finished searches by name: hypervolume curve, normalised front, wall time, code commit.

    Commit it: a comparison that takes hours then resumes in a later session, or on another
    machine, from the searches it holds, and the best known front is rebuilt from their fronts.
    ``header`` (space file, budget, evaluator overrides) must match for a row to be reused, and
    the files ``fingerprint`` names (say a trained supernet: its training differs from one CPU to
    another) must hash as they did for every row, or the rows were scored by another evaluator."""

    path: Path | None
    header: dict[str, Any]
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    fingerprint: tuple[Path, str] | None = None  # (directory, glob of the files under it)

    @classmethod
    def open(cls, path: Path | None, header: dict[str, Any]) -> Table:
        if path is None or not path.exists():
            return cls(path, header)
        data = json.loads(path.read_text())
        if data["header"] != header:
            raise SystemExit(
                f"{path}: made for {data['header']}, not {header}; use another --table"
            )
        return cls(path, header, data["rows"])

    def add(
        self, name: str, trials: list[Trial], space: SearchSpace, wall: float | None
    ) -> dict[str, Any]:
        hashes = self.hashes()
        self.check(hashes)
        row = {
            "curve": [round(float(v), 6) for v in hypervolume_curve(trials, space)],
            "front": np.round(front_points(trials, space), 6).tolist(),
            "wall_s": wall,
            "code_commit": code_commit(),
            "date": time.strftime("%Y-%m-%d"),
            "fingerprint": hashes,
        }
        self.rows[name] = row
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            payload = {"header": self.header, "rows": self.rows}
            self.path.write_text(json.dumps(payload, indent=1) + "\n")
        return row

    def hashes(self) -> dict[str, str]:
        """sha256 (16 hex digits) of each fingerprinted file, by its path under the directory."""
        if self.fingerprint is None:
            return {}
        root, pattern = self.fingerprint
        return {str(path.relative_to(root)): sha256(path) for path in sorted(root.glob(pattern))}

    def check(self, hashes: dict[str, str]) -> None:
        """Fail, naming the file and a row, if a fingerprinted file is not what a row had."""
        for name, row in self.rows.items():
            for path, digest in row.get("fingerprint", {}).items():
                if hashes.get(path, digest) != digest:
                    raise SystemExit(
                        f"{self.path}: {path} is not the file {name} was scored with "
                        f"(sha256 {hashes[path]}, was {digest}); use another --table"
                    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def with_options(space: Path, overrides: dict[str, object], runs_dir: Path) -> Path:
    """The space file itself, or a copy in ``runs_dir`` with its evaluator options overridden."""
    if not overrides:
        return space
    data = yaml.safe_load(space.read_text())
    data["evaluator"]["options"] = {**(data["evaluator"].get("options") or {}), **overrides}
    derived = runs_dir / f"{space.stem}.benchmark.yaml"
    runs_dir.mkdir(parents=True, exist_ok=True)
    derived.write_text(yaml.safe_dump(data, sort_keys=False))
    return derived


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("space", type=Path)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--population", type=int, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument(
        "--optimizers", nargs="+", default=["nsga2", "pymoo-nsga2", "tpe", "random"]
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs-dir", type=Path, default=Path("runs-bench"))
    parser.add_argument("--figure", type=Path, default=Path("benchmarks/figures/hypervolume.png"))
    parser.add_argument("--option", nargs="+", default=[], help="evaluator option key=value")
    parser.add_argument("--table", type=Path, default=None, help="JSON of finished searches")
    parser.add_argument(
        "--no-run", action="store_true", help="report the searches of --table only, run none"
    )
    parser.add_argument(
        "--fingerprint", default=None, help="glob under --runs-dir of files every row must share"
    )
    args = parser.parse_args()
    overrides = parse_overrides(args.option)
    header = {"space": args.space.name, "budget": args.budget, "options": overrides}
    args.space = with_options(args.space, overrides, args.runs_dir)
    space = load_space(args.space)
    print(f"machine: {machine()}")
    print(f"command: {' '.join(['python', *sys.argv])}")
    table = Table.open(args.table, header)
    if args.fingerprint:
        table.fingerprint = (args.runs_dir, args.fingerprint)
    # Seed-major order: an interrupted comparison leaves every optimizer with as many seeds.
    runs: dict[str, list[np.ndarray]] = {optimizer: [] for optimizer in args.optimizers}
    fronts: list[np.ndarray] = []
    for seed in args.seeds:
        for optimizer in args.optimizers:
            name = f"{space.name}-{optimizer}-s{seed}"
            row = table.rows.get(name)
            if row is None and args.no_run:
                continue
            if row is None:
                wall = run_search(args.space, name, optimizer, seed, args)
                row = table.add(name, read_trials(args.runs_dir, name, args.budget), space, wall)
            runs[optimizer].append(np.array(row["curve"]))
            fronts.append(np.array(row["front"]).reshape(-1, len(space.objectives)))
            wall_s = "?" if row["wall_s"] is None else f"{row['wall_s']:.0f}"
            print(f"{name}: {wall_s} s, final HV {row['curve'][-1]:.4f}", flush=True)
    curves = {optimizer: np.array(per_seed) for optimizer, per_seed in runs.items() if per_seed}
    # No true front on a real space: the best known is the front of every search's designs.
    best = hypervolume(np.vstack(fronts))
    print(f"front of all {len(fronts)} searches' designs: HV {best:.4f}")
    checkpoints = sorted({max(1, args.budget // 4), args.budget // 2, args.budget})
    print("\n".join(summarise(curves, checkpoints)))
    args.figure.parent.mkdir(parents=True, exist_ok=True)
    seeds = {len(per_seed) for per_seed in curves.values()}
    counts = (
        f"{seeds.pop()} each"
        if len(seeds) == 1
        else ", ".join(f"{optimizer} {len(per_seed)}" for optimizer, per_seed in curves.items())
    )
    plot(curves, best, args.figure, f"{space.name}: median and IQR over seeds ({counts})")
    print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
