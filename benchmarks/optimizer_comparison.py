"""Hypervolume against evaluations for several optimizers and seeds, through the real CLI.

For every optimizer and seed, runs ``dse search SPACE --optimizer O --seed S`` (Ray, MLflow,
ledger: everything a user runs) into one shared runs directory, so that evaluator caches (a
supernet) are built once and reused. Then, from each search's ledger, computes the hypervolume
of the non-dominated feasible designs among the first k evaluations, for every k, with the
space's fixed objective bounds and the reference point 1.1 (the same for every method and seed),
counting failed and infeasible evaluations against the budget. Prints a markdown table (median
and interquartile range at budget checkpoints) and the hypervolume of the front of all searches'
designs together (the best known: a real space has no true front to compare with), and writes a
plot of the median curves with their interquartile bands.

``--option key=value`` (values read as YAML) overrides the space's evaluator options: the
searches then run on a copy of the space written into the runs directory, so that a costly
space can be compared at a cheaper scoring fidelity (say fewer validation frames) without a
second space file to keep in step with the first.

Usage:
  .venv/bin/python benchmarks/optimizer_comparison.py SPACE --budget 200 --seeds 0 1 2 3 4 \\
      [--optimizers nsga2 pymoo-nsga2 tpe random] [--workers 2] [--runs-dir runs-bench] \\
      [--option num_val=16 ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import yaml
from benchmark_support import cli_search, machine

from dse.design import parse_overrides
from dse.ledger import Ledger
from dse.pareto import hypervolume, normalize, objective_matrix, pareto_front
from dse.space import SearchSpace, load_space
from dse.trial import Trial


def run_search(
    space: Path, name: str, optimizer: str, seed: int, args: argparse.Namespace
) -> float:
    """One search through the CLI; returns its wall time (skipped when already finished)."""
    if len(Ledger(args.runs_dir / "searches" / name).read_trials()) >= args.budget:
        return float("nan")
    flags = ["--optimizer", optimizer, "--seed", str(seed), "--budget", str(args.budget)]
    flags += ["--workers", str(args.workers)]
    if args.population:
        flags += ["--population", str(args.population)]
    return cli_search(space, name, args.runs_dir, *flags)


def front_hypervolume(trials: list[Trial], space: SearchSpace) -> float:
    """Hypervolume of the front of ``trials`` within the space's fixed bounds."""
    if any(o.bounds is None for o in space.objectives):
        raise SystemExit("the benchmark needs fixed bounds on every objective of the space")
    bounds = [o.bounds for o in space.objectives if o.bounds is not None]
    front = pareto_front(trials, space)
    return hypervolume(normalize(objective_matrix(front, space), space.objectives, bounds))


def hypervolume_curve(trials: list[Trial], space: SearchSpace) -> np.ndarray:
    """Hypervolume of the first k trials' front, for k = 1 .. len(trials) (in evaluation order)."""
    return np.array([front_hypervolume(trials[:k], space) for k in range(1, len(trials) + 1)])


def read_trials(runs_dir: Path, name: str) -> list[Trial]:
    """The search's trials in evaluation order (its ledger holds them in order of finishing)."""
    return sorted(Ledger(runs_dir / "searches" / name).read_trials(), key=lambda t: t.number)


def summarise(curves: dict[str, np.ndarray], checkpoints: list[int]) -> list[str]:
    header = "| optimizer | " + " | ".join(f"HV @ {k}" for k in checkpoints) + " |"
    lines = [header, "|---|" + "---|" * len(checkpoints)]
    for optimizer, runs in curves.items():
        cells = []
        for k in checkpoints:
            q1, median, q3 = np.percentile(runs[:, k - 1], [25, 50, 75])
            cells.append(f"{median:.4f} [{q1:.4f}, {q3:.4f}]")
        lines.append(f"| {optimizer} | " + " | ".join(cells) + " |")
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
    axis.set_xlabel("evaluations")
    axis.set_ylabel("hypervolume (fixed bounds, ref 1.1)")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


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
    args = parser.parse_args()
    args.space = with_options(args.space, parse_overrides(args.option), args.runs_dir)
    space = load_space(args.space)
    print(f"machine: {machine()}")
    print(f"command: {' '.join(['python', *sys.argv])}")
    # Seed-major order: an interrupted comparison leaves every optimizer with as many seeds.
    runs: dict[str, list[np.ndarray]] = {optimizer: [] for optimizer in args.optimizers}
    everything: list[Trial] = []
    for seed in args.seeds:
        for optimizer in args.optimizers:
            name = f"{space.name}-{optimizer}-s{seed}"
            wall = run_search(args.space, name, optimizer, seed, args)
            trials = read_trials(args.runs_dir, name)[: args.budget]
            runs[optimizer].append(hypervolume_curve(trials, space))
            everything += trials
            print(f"{name}: {wall:.0f} s, final HV {runs[optimizer][-1][-1]:.4f}", flush=True)
    curves = {optimizer: np.array(per_seed) for optimizer, per_seed in runs.items()}
    # No true front on a real space: the best known is the front of every search's designs.
    best = front_hypervolume(everything, space)
    print(f"front of all {len(everything)} designs: HV {best:.4f}")
    checkpoints = sorted({max(1, args.budget // 4), args.budget // 2, args.budget})
    print("\n".join(summarise(curves, checkpoints)))
    args.figure.parent.mkdir(parents=True, exist_ok=True)
    plot(curves, best, args.figure, f"{space.name}: median and IQR over {len(args.seeds)} seeds")
    print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
