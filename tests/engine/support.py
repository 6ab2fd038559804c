"""Evaluators used by the engine tests: slow, faulty and crashing variants of a test problem.

They live in the test tree (importable as ``tests.engine.support`` with the repository root on
``PYTHONPATH``), since they exist only to prove that the engine copes.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

from dse.problems import PymooProblem


class SlowProblem(PymooProblem):
    """A pymoo problem that takes ``delay_s`` per design (long enough to be killed mid-search)."""

    def __init__(self, problem: str, delay_s: float = 0.05, **options: Any) -> None:
        super().__init__(problem, **options)
        self.delay_s = delay_s

    def evaluate(self, params: dict[str, Any]) -> dict[str, float]:
        time.sleep(self.delay_s)
        return super().evaluate(params)


class Faulty(PymooProblem):
    """Misbehaves on designs with ``x0 < threshold``: raises, returns NaN, or drops ``f2``."""

    def __init__(self, mode: str, threshold: float = 0.3, **options: Any) -> None:
        super().__init__("zdt1", **options)
        self.mode = mode
        self.threshold = threshold

    def evaluate(self, params: dict[str, Any]) -> dict[str, float]:
        metrics = super().evaluate(params)
        if params["x0"] >= self.threshold:
            return metrics
        if self.mode == "raise":
            raise RuntimeError(f"simulated evaluator bug at x0={params['x0']:.3f}")
        if self.mode == "nan":
            return {**metrics, "f2": math.nan}
        if self.mode == "missing":
            return {"f1": metrics["f1"]}
        raise ValueError(f"unknown mode {self.mode!r}")


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
