"""Multi-fidelity search against one-level searches on the cheap or the dear level, at one cost.

The problem (``search_spaces/examples/zdt1_multifidelity.yaml``, ``dse.problems:ProxyProblem``)
has a known front: ZDT1 is the truth (the expensive level, cost ``--truth-cost`` per design), and
a biased, noisy proxy of it is the cheap level (cost 1). For every seed three searches run
through the real CLI (Ray, MLflow, ledger), each at the total cost ``--cost``:

- ``multi``: the space as written (every design on the proxy, the promoted fraction on the
  truth; the front from true scores only), as many designs as the cost allows;
- ``proxy``: one level, the proxy's options, ``--cost`` designs;
- ``truth``: one level, the truth, ``--cost / --truth-cost`` designs.

Each search's final front, the designs the user would be shown, is then scored with the truth
and its true hypervolume (bounds [0, 1], reference 1.1) compared. The cost actually spent is
counted from each ledger (a reused result of an identical design costs nothing). Prints the
table (median and interquartile range over seeds) and the per-seed differences.

Usage:
  .venv/bin/python benchmarks/multifidelity.py [--cost 700] [--seeds 0 1 2 3 4] \\
      [--population 20] [--workers 2] [--runs-dir runs-bench/multifidelity]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from benchmark_support import cli_search, machine

from dse.ledger import Ledger
from dse.pareto import hypervolume, normalize, objective_matrix, pareto_front
from dse.problems import ProxyProblem
from dse.results import Results
from dse.space import SearchSpace, parse_space
from dse.trial import Trial

SPACE = Path(__file__).resolve().parents[1] / "search_spaces/examples/zdt1_multifidelity.yaml"
METHODS = ("multi", "proxy", "truth")


def method_space(method: str, document: dict[str, Any]) -> dict[str, Any]:
    """The space a method searches: the multi-fidelity one, or one of its levels alone."""
    if method == "multi":
        return document
    proxy, truth = document["fidelities"]
    level = proxy if method == "proxy" else truth
    single = {k: v for k, v in document.items() if k != "fidelities"}
    options = {**document["evaluator"]["options"], **level["options"]}
    return {**single, "evaluator": {**document["evaluator"], "options": options}}


def budget(method: str, space: SearchSpace, cost: float, truth_cost: float, population: int) -> int:
    """Designs a method can afford for ``cost`` (a promoted design pays both levels)."""
    if method == "proxy":
        return int(cost)
    if method == "truth":
        return int(cost // truth_cost)
    promoted = space.fidelities[1].size(population, population) / population
    return int(cost // (1 + truth_cost * promoted))


def rates(method: str, space: SearchSpace, truth_cost: float) -> dict[str | None, float]:
    """Cost of one evaluated result at each level of a method's search."""
    if method == "multi":
        cheap, dear = space.levels
        return {cheap: 1.0, dear: truth_cost}
    return {None: 1.0 if method == "proxy" else truth_cost}


def spent(results: Results, rate: dict[str | None, float]) -> float:
    """Evaluation cost of a search's results; a reused one (an identical design's) is free."""
    return sum(
        rate[trial.fidelity]
        for number in results.designs()
        for trial in results.of(number)
        if trial.reused is None
    )


def true_hypervolume(front: list[Trial], space: SearchSpace, truth: ProxyProblem) -> float:
    """The hypervolume of ``front``'s designs scored with the truth, in [0, 1]^2 bounds."""
    true = [
        Trial(t.number, t.generation, t.params, "complete", truth.evaluate(t.params)) for t in front
    ]
    bounds = [(0.0, 1.0)] * len(space.objectives)
    return hypervolume(normalize(objective_matrix(true, space), space.objectives, bounds))


def run(
    method: str, seed: int, args: argparse.Namespace, document: dict[str, Any]
) -> dict[str, float]:
    space = parse_space(method_space(method, document))
    path = args.runs_dir / f"{method}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(method_space(method, document), sort_keys=False))
    designs = budget(method, space, args.cost, args.truth_cost, args.population)
    name = f"{method}-s{seed}"
    flags = ["--budget", str(designs), "--population", str(args.population), "--seed", str(seed)]
    wall = cli_search(path, name, args.runs_dir, *flags, "--workers", str(args.workers))
    results = Results(space.levels, Ledger(args.runs_dir / "searches" / name).read_trials())
    front = pareto_front(list(results.designs().values()), space)
    truth = ProxyProblem(**document["evaluator"]["options"])
    return {
        "designs": float(designs),
        "cost": spent(results, rates(method, space, args.truth_cost)),
        "true_hv": true_hypervolume(front, space, truth),
        "wall_s": wall,
    }


def quartiles(values: list[float]) -> str:
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return f"{median:.4f} [{q1:.4f}, {q3:.4f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cost", type=float, default=700.0)
    parser.add_argument("--truth-cost", type=float, default=10.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--population", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs-dir", type=Path, default=Path("runs-bench/multifidelity"))
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    args = parser.parse_args()
    document = yaml.safe_load(SPACE.read_text())
    print(f"machine: {machine()}")
    print(f"command: {' '.join(['python', *sys.argv])}")
    rows: dict[str, list[dict[str, float]]] = {method: [] for method in args.methods}
    for seed in args.seeds:  # seed-major: an interrupted run leaves every method as many seeds
        for method in args.methods:
            row = run(method, seed, args, document)
            rows[method].append(row)
            print(f"{method} seed {seed}: {row}", flush=True)
    print("\n| method | designs | cost spent | true HV of the final front |")
    print("|---|---|---|---|")
    for method, runs in rows.items():
        designs = int(runs[0]["designs"])
        cost = quartiles([r["cost"] for r in runs]).split(" ")[0]
        print(f"| {method} | {designs} | {cost} | {quartiles([r['true_hv'] for r in runs])} |")
    for other in [m for m in ("proxy", "truth") if m in rows and "multi" in rows]:
        pairs = zip(rows["multi"], rows[other], strict=True)
        gains = [multi["true_hv"] - single["true_hv"] for multi, single in pairs]
        wins = sum(g > 0 for g in gains)
        print(f"multi - {other}: median {np.median(gains):+.4f}, min {min(gains):+.4f}, "
              f"multi better in {wins} of {len(gains)} seeds")  # fmt: skip


if __name__ == "__main__":
    main()
