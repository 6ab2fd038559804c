"""Engine overhead: designs per second on a zero-cost evaluator, tracking on, 1 and 2 workers,
with one fidelity level or two (every design at the first, the best quarter also at the second).

Runs the real command line (``python -m dse search``: Ray, the ledger, MLflow on SQLite) on
``dse.problems:ZeroCost`` so that everything measured is the engine's own cost. Reports

- end to end: designs / wall time of the whole command (start-up, Ray, tracking drain, plots);
- steady state: designs per second while evaluating (from the ledger's finish times), which is
  what a long search approaches once start-up is amortised.

Usage: .venv/bin/python benchmarks/engine_overhead.py [--budget 2000] [--workers 1 2] \
           [--levels 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from benchmark_support import machine

SPACE = {
    "name": "zero-cost",
    "evaluator": {"target": "dse.problems:ZeroCost"},
    "objectives": [
        {"name": "f1", "direction": "minimize", "bounds": [0, 1]},
        {"name": "f2", "direction": "minimize", "bounds": [0, 1]},
    ],
    "params": {"x0": {"type": "float", "low": 0.0, "high": 1.0}},
}
TWO_LEVELS = [{"name": "cheap", "options": {}}, {"name": "dear", "options": {}, "promote": 0.25}]


def measure(budget: int, workers: int, population: int, levels: int) -> dict[str, float]:
    space = {**SPACE, "fidelities": TWO_LEVELS} if levels == 2 else SPACE
    with tempfile.TemporaryDirectory(prefix="dse-bench-") as directory:
        root = Path(directory)
        (root / "space.yaml").write_text(yaml.safe_dump(space))
        command = [sys.executable, "-m", "dse", "search", "space.yaml", "--name", "bench"]
        command += ["--budget", str(budget), "--workers", str(workers)]
        command += ["--population", str(population), "--quiet"]
        start = time.perf_counter()
        subprocess.run(command, cwd=root, check=True, capture_output=True)
        wall = time.perf_counter() - start
        lines = (root / "runs/searches/bench/ledger.jsonl").read_text().splitlines()
        results = [json.loads(line) for line in lines]
        finished = sorted(r["finished_at"] for r in results)
        first = space.get("fidelities", [{"name": None}])[0]["name"]
        designs = sum(r.get("fidelity") == first for r in results)
    steady = (designs - 1) / (finished[-1] - finished[0])
    return {"wall_s": wall, "end_to_end": budget / wall, "steady": steady}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=2000)
    parser.add_argument("--population", type=int, default=50)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--levels", type=int, nargs="+", choices=[1, 2], default=[1, 2])
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    for levels in args.levels:
        for workers in args.workers:
            result = measure(args.budget, workers, args.population, levels)
            print(
                f"levels {levels}, workers {workers}: {args.budget} designs in "
                f"{result['wall_s']:.1f} s -> "
                f"{result['end_to_end']:.1f} designs/s end to end, "
                f"{result['steady']:.1f} designs/s steady state"
            )


if __name__ == "__main__":
    main()
