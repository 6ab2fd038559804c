"""A hardware-only search end to end: tens of thousands of accelerator designs for one network.

Runs the real command line (``python -m dse search``: Ray, the ledger, MLflow on SQLite, the
artifacts) on ``search_spaces/examples/hardware_only.yaml`` (the quickstart network at its
defaults, six hardware knobs, ``hardware_only: true``) and reports the wall time of the whole
command, the designs evaluated and reused (identical designs are not evaluated again), and the
designs per second while evaluating (from the ledger's finish times).

Usage: ``.venv/bin/python benchmarks/hardware_search.py [--budget 20000] [--population 200]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from benchmark_support import cli_search, machine

SPACE = Path(__file__).resolve().parents[1] / "search_spaces" / "examples" / "hardware_only.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=20000)
    parser.add_argument("--population", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    with tempfile.TemporaryDirectory(prefix="dse-hardware-") as directory:
        runs = Path(directory) / "runs"
        flags = ["--budget", str(args.budget), "--population", str(args.population)]
        wall = cli_search(SPACE, "hardware", runs, *flags, "--workers", str(args.workers))
        ledger = runs / "searches" / "hardware" / "ledger.jsonl"
        rows = [json.loads(line) for line in ledger.read_text().splitlines()]
    finished = sorted(row["finished_at"] for row in rows)
    reused = sum(row.get("reused") is not None for row in rows)
    steady = (len(rows) - 1) / (finished[-1] - finished[0])
    print(
        f"{len(rows)} designs ({len(rows) - reused} evaluated, {reused} reused) in {wall:.1f} s "
        f"end to end: {len(rows) / wall:.0f} designs/s; {steady:.0f} designs/s while evaluating"
    )


if __name__ == "__main__":
    main()
