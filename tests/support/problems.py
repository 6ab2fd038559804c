"""Evaluators used by the engine tests: slow, faulty and crashing variants of a test problem.

They live in the test tree (importable as ``tests.support.problems`` with the repository root on
``PYTHONPATH``), since they exist only to prove that the engine copes.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

from dse.problems import ProxyProblem, PymooProblem


class SlowProblem(PymooProblem):
    """A pymoo problem that takes ``delay_s`` per design (long enough to be killed mid-search)."""

    def __init__(self, problem: str, delay_s: float = 0.05, **options: Any) -> None:
        super().__init__(problem, **options)
        self.delay_s = delay_s

    def evaluate(self, params: dict[str, Any]) -> dict[str, float]:
        time.sleep(self.delay_s)
        return super().evaluate(params)


FAULTS = {
    "raise": "RuntimeError: simulated evaluator bug",
    "nan": "metric 'f2' is nan",
    "missing": "metric 'f2' missing from the evaluator's result",
}
"""How :class:`Faulty` misbehaves, in the order of its bands of ``x0``, and the error it gets."""
FAULT_BAND = 0.15


class Faulty(PymooProblem):
    """Misbehaves on designs with ``x0 < 0.45``, one way per band of 0.15 (see ``FAULTS``):
    raises below 0.15, returns NaN for ``f2`` below 0.3, drops ``f2`` below 0.45."""

    def __init__(self, **options: Any) -> None:
        super().__init__("zdt1", **options)

    def evaluate(self, params: dict[str, Any]) -> dict[str, float]:
        metrics = super().evaluate(params)
        band = int(params["x0"] / FAULT_BAND)
        if band >= len(FAULTS):
            return metrics
        mode = list(FAULTS)[band]
        if mode == "raise":
            raise RuntimeError(f"simulated evaluator bug at x0={params['x0']:.3f}")
        if mode == "nan":
            return {**metrics, "f2": math.nan}
        return {"f1": metrics["f1"]}


class Crashing(PymooProblem):
    """Kills its own worker process on designs with ``x0 < threshold``.

    With ``once`` the crash happens only on a design's first attempt (a marker file per design
    in ``marker_dir`` remembers it), so the retry succeeds; without it every attempt crashes.
    """

    def __init__(self, marker_dir: str, threshold: float = 0.1, once: bool = True, **options: Any):
        super().__init__("zdt1", **options)
        self.marker_dir = Path(marker_dir)
        self.threshold = threshold
        self.once = once

    def evaluate(self, params: dict[str, Any]) -> dict[str, float]:
        if params["x0"] < self.threshold:
            marker = self.marker_dir / f"{params['x0']!r}"
            if not (self.once and marker.exists()):
                marker.touch()
                os._exit(1)
        return super().evaluate(params)


class Hanging(PymooProblem):
    """Hangs (sleeps ``hang_s``) on designs with ``x0 < threshold``: a stuck simulation."""

    def __init__(self, threshold: float = 0.3, hang_s: float = 3600.0, **options: Any) -> None:
        super().__init__("zdt1", **options)
        self.threshold, self.hang_s = threshold, hang_s

    def evaluate(self, params: dict[str, Any]) -> dict[str, float]:
        if params["x0"] < self.threshold:
            time.sleep(self.hang_s)
        return super().evaluate(params)


class BrokenSetup:
    """An evaluator whose per-worker setup fails (a missing data set, say)."""

    def setup(self) -> None:
        raise FileNotFoundError("data set not found at /nonexistent")

    def evaluate(self, params: dict[str, Any]) -> dict[str, float]:
        return {"f1": 0.0}


class NoisyProblem(PymooProblem):
    """A pymoo problem whose objectives carry deterministic pseudo-noise of scale ``noise``:
    a cheap proxy whose full-fidelity version (``noise: 0``) ``dse verify`` can check."""

    def __init__(self, problem: str, noise: float = 0.05, **options: Any) -> None:
        super().__init__(problem, **options)
        self.noise = noise

    def evaluate(self, params: dict[str, Any]) -> dict[str, float]:
        metrics = super().evaluate(params)
        wobble = math.sin(1e4 * params["x0"])
        return {k: v + self.noise * wobble if k.startswith("f") else v for k, v in metrics.items()}


class Recording:
    """An evaluator with every optional step, each call appended to the file ``log``: shows how
    often a command builds it and which steps it runs. ``prepare`` sets ``prepared``."""

    def __init__(self, log: str, prepared: bool = False) -> None:
        self.log = Path(log)
        self._record(f"build prepared={prepared}")

    def _record(self, event: str) -> None:
        with self.log.open("a") as handle:
            handle.write(event + "\n")

    def prepare(self, cache_dir: Path, domains: dict[str, Any]) -> dict[str, Any]:
        self._record("prepare")
        return {"prepared": True}

    def setup(self) -> None:
        self._record("setup")

    def evaluate(self, params: dict[str, Any]) -> dict[str, float]:
        x = float(params["x0"])
        return {"f1": x, "f2": 1.0 - x}

    def export(self, params: dict[str, Any], out_dir: Path) -> None:
        self._record("export")
        (out_dir / "exported.txt").write_text(f"x0 = {params['x0']}\n")


class CachedShift(PymooProblem):
    """A pymoo problem whose ``prepare`` leaves a file in the cache directory and hands its path
    to the workers, as a trained supernet is handed: shows that workers find it."""

    def __init__(self, problem: str, shift_file: str | None = None, **options: Any) -> None:
        super().__init__(problem, **options)
        self.shift_file = shift_file

    def prepare(self, cache_dir: Path, domains: dict[str, Any]) -> dict[str, Any]:
        path = cache_dir / "shift.txt"
        path.write_text("0.5")
        return {"shift_file": str(path)}

    def evaluate(self, params: dict[str, Any]) -> dict[str, float]:
        assert self.shift_file is not None, "prepare did not run"
        shift = float(Path(self.shift_file).read_text())
        metrics = super().evaluate(params)
        return {k: v + shift if k.startswith("f") else v for k, v in metrics.items()}


class CountedProxy(ProxyProblem):
    """A :class:`~dse.problems.ProxyProblem` that appends ``<tag> <params>`` to the file ``log``
    for every evaluation and sleeps ``delay_s``: shows which (design, level) pairs ran, and is
    slow enough to be killed mid-stage."""

    def __init__(self, log: str, tag: str = "", delay_s: float = 0.0, **options: Any) -> None:
        super().__init__(**options)
        self.log, self.tag, self.delay_s = Path(log), tag, delay_s

    def evaluate(self, params: dict[str, Any]) -> dict[str, float]:
        time.sleep(self.delay_s)
        with self.log.open("a") as handle:
            handle.write(f"{self.tag} {json.dumps(params, sort_keys=True)}\n")
        return super().evaluate(params)
