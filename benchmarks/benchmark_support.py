"""What every benchmark script does the same way: the machine it ran on, its report, a search
through the real command line.

The scripts run as ``python benchmarks/NAME.py``, so this module is importable beside them.
"""

from __future__ import annotations

import datetime
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluators.supernet.domains import Domain, parse_domains


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


def code_commit() -> str:
    """The short hash of the checkout's HEAD ("unknown" outside git): stated beside results."""
    repo = Path(__file__).resolve().parents[1]
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True)
    return result.stdout.decode().strip() or "unknown"


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


def stratum(domain: Domain, fraction: float) -> Any:
    """The value at ``fraction`` (0..1) of a domain: a grid or choice index, or a point of a
    float range (log-scaled where the domain is)."""
    if domain.type != "float":
        values = domain.values()
        return values[min(int(fraction * len(values)), len(values) - 1)]
    assert domain.low is not None and domain.high is not None
    if domain.log:
        return domain.low * (domain.high / domain.low) ** fraction
    value = domain.low + fraction * (domain.high - domain.low)
    if domain.step:
        value = domain.low + round((value - domain.low) / domain.step) * domain.step
    return value


def latin_hypercube(domains: Mapping[str, Any], count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` designs spread over a space's ``params`` domains: each range is cut into as many
    strata as designs and every stratum is used once, the strata paired at random (``seed``)."""
    rng = random.Random(seed)
    columns = {}
    for key, domain in parse_domains(domains).items():
        strata = list(range(count))
        rng.shuffle(strata)
        columns[key] = [stratum(domain, (s + rng.random()) / count) for s in strata]
    return [{key: column[i] for key, column in columns.items()} for i in range(count)]
