"""What every benchmark script does the same way: the machine it ran on, its report, a search
through the real command line.

The scripts run as ``python benchmarks/NAME.py``, so this module is importable beside them.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def machine() -> str:
    """CPU model, logical CPUs, load now, OS, Python and (when loaded) torch; and the date."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if "model name" in line)
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    torch = sys.modules.get("torch")
    libraries = f", torch {torch.__version__}" if torch is not None else ""
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs (load {load:.2f}), {platform.platform()}, "
        f"Python {platform.python_version()}{libraries}; {datetime.date.today().isoformat()}"
    )


def publish(text: str, out: Path | None) -> None:
    """Print the report, and also write it to ``out`` when given."""
    print(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)


def cli_search(space: Path, name: str, runs_dir: Path, *flags: str) -> float:
    """Run ``dse search SPACE --name NAME --runs-dir RUNS_DIR FLAGS`` (Ray, MLflow, ledger: all
    a user runs), or resume it when an earlier run was interrupted; return its wall time."""
    command = [sys.executable, "-m", "dse", "search", "--name", name, "--quiet"]
    command += ["--runs-dir", str(runs_dir)]
    if (runs_dir / "searches" / name / "search.json").exists():
        command += ["--resume"]
    else:
        command += [str(space), *flags]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start
