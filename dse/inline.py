"""Evaluation in the search's own process, design after design: ``--workers 0``.

No Ray: no cluster to start (seconds), no actor to set up, no round trip per design, so a cheap
evaluator (a test problem, a hardware-only search) runs at the speed of its own code. The price is
isolation: an evaluator that crashes the process (a segfault, an out-of-memory kill) ends the
search (``dse search --resume`` goes on from the ledger, which holds every finished design), and
the per-design timeout is a SIGALRM in the main thread, which a hang inside C code may not heed.
Use Ray workers (``--workers 1`` or more) for evaluators that can crash or hang.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import FrameType
from typing import Any

from dse.errors import EvaluatorError, SearchError
from dse.runner import EvaluatorWorker, Job, Level, Outcome


class _TimedOut(BaseException):
    """Raised into a design that outlives the timeout (BaseException: the evaluator's own
    ``except Exception`` must not swallow it)."""


class InlineRunner:
    """The evaluators of every level, built in this process and run one design at a time."""

    def __init__(self, target: str, *, timeout_s: float | None = None) -> None:
        if timeout_s is not None and not timeout_s > 0:
            raise SearchError(f"--timeout must be a positive number of seconds, got {timeout_s}")
        if timeout_s is not None and threading.current_thread() is not threading.main_thread():
            raise SearchError("--timeout with --workers 0 needs the main thread (SIGALRM)")
        self.target = target
        self.timeout_s = timeout_s
        self._worker: EvaluatorWorker | None = None

    def connect(self) -> None:
        """Nothing to connect to."""

    def start(self, options: Mapping[Level, Mapping[str, Any]]) -> None:
        worker = EvaluatorWorker(self.target, options, os.cpu_count() or 1)
        problem = worker.ready()
        if problem is not None:
            raise EvaluatorError(problem)
        self._worker = worker

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        if self._worker is None:
            raise SearchError("InlineRunner.run before start")
        for job in jobs:
            start = time.perf_counter()
            try:
                with _deadline(self.timeout_s):
                    outcome = self._worker.evaluate_one(job)
            except _TimedOut:
                outcome = Outcome(job.number, {}, f"timed out after {self.timeout_s:g} s")
            yield Outcome(outcome.number, outcome.metrics, outcome.error, outcome.traceback,
                          time.perf_counter() - start)  # fmt: skip

    def shutdown(self) -> None:
        self._worker = None


@contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Raise :class:`_TimedOut` in the block once ``seconds`` have passed (None: never)."""
    if seconds is None:
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise _TimedOut

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
