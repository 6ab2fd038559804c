"""Parallel evaluation on Ray: one actor per worker, each holding a warm evaluator.

Each actor builds the evaluator and runs its ``setup()`` once (loading data and weights), then
evaluates design after design; in a multi-fidelity search it holds one evaluator per level, each
built with that level's options and set up once. Results come back as they finish
(``ray.wait``), not in submission order. An evaluation that raises is a failed design with its
error, and the search goes on; an actor that dies (a segfault, an out-of-memory kill) is
replaced and its design retried once; an evaluation that outlives the per-design timeout is a
failed design too, and its actor (which may never return) is killed and replaced.

A Ray call costs milliseconds of round trip, more than a cheap evaluator's design (a
hardware-only search: a fraction of a millisecond), so once a level's designs are timed, one call
carries as many as make about 50 ms of work; a batch that times out or loses its worker is run
again one design per call, so the design to blame is the one that fails, as it would be alone.

Ray runs on a local cluster by default, or joins an existing one by address. The local cluster
is this machine's alone: its GCS, raylet and workers listen on 127.0.0.1 only (Ray's switch for
single-machine Ray, ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, which makes the node's address the
loopback one), and Ray's token authentication stays as Ray sets it (on for a new local cluster,
unless the user sets ``RAY_AUTH_MODE``). A cluster joined by address is the user's: it listens
where it was started to listen.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
import traceback
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from dse.errors import EvaluatorError, SearchError
from dse.evaluator import ALLOW_ENV, clean_metrics, describe_error, setup_evaluator

MAX_ATTEMPTS = 2  # a design whose worker dies is retried once
TARGET_CALL_S = 0.05  # the work one Ray call carries when designs are cheap
MAX_BATCH = 64
BATCH_TIMEOUT_SHARE = 0.1  # a batch is expected to take at most this share of the timeout
LOOPBACK_ONLY = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}  # read when ray is first imported


Level = str | None  # a fidelity level's name; None in a single-fidelity search


def cluster_address(flag: str | None) -> str | None:
    """The cluster to join: ``--ray-address``, else ``$RAY_ADDRESS`` (Ray's own convention: a
    driver that ``ray job submit`` starts finds its cluster there); None for a local cluster of
    this search, which Ray's ``local`` and a blank value also mean."""
    address = (flag or os.environ.get("RAY_ADDRESS") or "").strip()
    return None if address in ("", "local") else address


def without_job_env_vars(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` less the variables the runtime environment of a ``ray job submit`` already sets:
    Ray refuses to start a driver whose ``ray.init`` repeats one of the job's keys, and the job's
    value is what the driver itself sees."""
    job = json.loads(os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR") or "{}")
    taken = (job.get("runtime_env") or {}).get("env_vars") or {}
    return {key: value for key, value in env.items() if key not in taken}


@dataclass(frozen=True)
class Job:
    """A design to evaluate at a fidelity level, identified by its trial number."""

    number: int
    params: dict[str, Any]
    level: Level = None


@dataclass(frozen=True)
class Outcome:
    """What one evaluation gave: metrics, or the error that stopped it."""

    number: int
    metrics: dict[str, float]
    error: str | None = None
    traceback: str | None = None
    duration_s: float = 0.0


class EvaluatorWorker:
    """The body of a Ray actor: warm evaluators (one per level) that turn params into metrics.

    Setup errors are kept and reported by :meth:`ready` instead of raised, so the driver can
    print one clear line rather than Ray's wrapped traceback.
    """

    def __init__(
        self, target: str, options: Mapping[Level, Mapping[str, Any]], threads: int
    ) -> None:
        self._setup_error: str | None = None
        self._evaluators: dict[Level, Any] = {}
        for level, level_options in options.items():
            try:
                self._evaluators[level] = setup_evaluator(target, level_options)
            except EvaluatorError as error:
                self._setup_error = f"fidelity {level}: {error}" if level else str(error)
                break
        _limit_threads(threads)

    def ready(self) -> str | None:
        """None when the evaluator is set up, else why it is not."""
        return self._setup_error

    def evaluate(self, jobs: list[Job]) -> list[Outcome]:
        """Evaluate a batch of designs in order (one Ray call; see ``RayRunner._batch_size``)."""
        return [self.evaluate_one(job) for job in jobs]

    def evaluate_one(self, job: Job) -> Outcome:
        """One design; an exception it raises is its error, not the caller's."""
        start = time.perf_counter()
        try:
            metrics = clean_metrics(self._evaluators[job.level].evaluate(job.params))
        except Exception as error:
            return Outcome(
                job.number,
                {},
                describe_error(error),
                traceback.format_exc(limit=-8),
                time.perf_counter() - start,
            )
        return Outcome(job.number, metrics, duration_s=time.perf_counter() - start)


def _limit_threads(threads: int) -> None:
    """Keep each worker to its share of cores; Ray reuses processes, so set it every time."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


class Runner(Protocol):
    """What the search loop needs of an evaluation backend; the search owns its life cycle.

    ``connect()`` may start infrastructure early (Ray, while MLflow connects); ``start(options)``
    sets the evaluators up with every level's options and raises ``EvaluatorError`` when one
    cannot be; ``run(jobs)`` yields one :class:`Outcome` per job, in any order, as each
    finishes, never raising for a design's own failure; ``shutdown()`` releases everything and
    may be called whether or not ``start`` was.
    """

    def connect(self) -> None: ...

    def start(self, options: Mapping[Level, Mapping[str, Any]]) -> None: ...

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]: ...

    def shutdown(self) -> None: ...


class RayRunner:
    """A pool of evaluator actors on a local or remote Ray cluster: the one at ``ray_address``,
    else at ``$RAY_ADDRESS``, else a new local one."""

    def __init__(
        self,
        target: str,
        *,
        workers: int,
        ray_address: str | None = None,
        verbose: bool = False,
        timeout_s: float | None = None,
    ) -> None:
        if workers < 1:
            raise SearchError(f"--workers must be at least 1, got {workers}")
        if timeout_s is not None and not timeout_s > 0:
            raise SearchError(f"--timeout must be a positive number of seconds, got {timeout_s}")
        self.target = target
        self.workers = workers
        self.ray_address = cluster_address(ray_address)
        self.verbose = verbose
        self.timeout_s = timeout_s
        self.options: dict[Level, dict[str, Any]] = {}
        self._actors: list[Any] = []
        self._remote: Any = None
        self._threads = 1
        self._seconds: dict[Level, float] = {}  # per level, what a design took (last call)

    def connect(self) -> None:
        """Start or join the cluster (seconds for a local one: callers overlap other set-up)."""
        os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
        local = self.ray_address is None
        if local:
            os.environ.update(LOOPBACK_ONLY)
        import ray

        cpus = os.cpu_count() or 1
        self._threads = max(1, cpus // self.workers) if local else 1
        env = {
            # Workers must import the evaluator the way the driver does, and allow it.
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p and os.path.isdir(p)),
            "OMP_NUM_THREADS": str(self._threads),
            "MKL_NUM_THREADS": str(self._threads),
            ALLOW_ENV: os.environ.get(ALLOW_ENV, ""),
        }
        if local:
            os.environ.update(env)  # a local cluster inherits the driver's environment
        if ray.is_initialized():
            return
        ray.init(
            address=self.ray_address,
            num_cpus=max(self.workers, cpus) if local else None,
            include_dashboard=False,
            log_to_driver=self.verbose,
            logging_level=logging.INFO if self.verbose else logging.ERROR,
            # A remote cluster needs the environment shipped (costs a runtime-env set-up).
            runtime_env=None if local else {"env_vars": without_job_env_vars(env)},
        )

    def start(self, options: Mapping[Level, Mapping[str, Any]]) -> None:
        """Set up every worker with the evaluator options of every level (raises if a setup
        fails); a single-fidelity search has the one level ``None``."""
        import ray

        self.connect()
        self.options = {level: dict(level_options) for level, level_options in options.items()}
        self._remote = ray.remote(num_cpus=1, max_restarts=0)(EvaluatorWorker)
        self._actors = [self._new_actor() for _ in range(self.workers)]
        for problem in ray.get([actor.ready.remote() for actor in self._actors]):
            if problem is not None:
                raise EvaluatorError(problem)

    def _new_actor(self) -> Any:
        return self._remote.remote(self.target, self.options, self._threads)

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        """Evaluate ``jobs``, yielding outcomes as they finish."""
        import ray
        from ray.exceptions import RayActorError

        queue: deque[tuple[Job, bool]] = deque((job, False) for job in jobs)  # (job, alone)
        attempts: dict[tuple[int, Level], int] = {}  # calls a design had on its own
        running: dict[Any, tuple[int, list[Job], float]] = {}  # ref -> (actor, jobs, deadline)
        idle = list(range(len(self._actors)))

        def submit(index: int) -> None:
            batch = self._take_batch(queue)
            if len(batch) == 1:
                key = (batch[0].number, batch[0].level)
                attempts[key] = attempts.get(key, 0) + 1
            ref = self._actors[index].evaluate.remote(batch)
            running[ref] = (index, batch, time.monotonic() + (self.timeout_s or math.inf))

        def retry_alone(batch: list[Job]) -> None:
            """A batch that timed out or lost its worker: each design again on its own, so
            the one to blame is found and the others are not charged an attempt."""
            queue.extendleft((job, True) for job in reversed(batch))
            self._seconds.pop(batch[0].level, None)

        while queue or running:
            while queue and idle:
                submit(idle.pop())
            first = min(deadline for _, _, deadline in running.values())
            wait = None if first == math.inf else max(0.0, first - time.monotonic())
            done, _ = ray.wait(list(running), num_returns=1, timeout=wait)
            if not done:  # the oldest call ran out of time: its actor may never answer
                ref = min(running, key=lambda r: running[r][2])
                index, batch, _ = running.pop(ref)
                self._replace(index)
                idle.append(index)
                if len(batch) > 1:
                    retry_alone(batch)
                    continue
                error = f"timed out after {self.timeout_s:g} s"
                yield Outcome(batch[0].number, {}, error, duration_s=self.timeout_s or 0.0)
                continue
            index, batch, _ = running.pop(done[0])
            outcomes: list[Outcome] = []
            try:
                outcomes = ray.get(done[0])
            except RayActorError as error:
                self._replace(index)
                job = batch[0]
                if len(batch) > 1:
                    retry_alone(batch)
                elif attempts[(job.number, job.level)] < MAX_ATTEMPTS:
                    queue.appendleft((job, True))
                else:
                    died = f"worker died twice: {describe_error(error)}"
                    outcomes = [Outcome(job.number, {}, died)]
            else:
                level = batch[0].level
                self._seconds[level] = sum(o.duration_s for o in outcomes) / len(outcomes)
            idle.append(index)
            yield from outcomes

    def _take_batch(self, queue: deque[tuple[Job, bool]]) -> list[Job]:
        """The designs of the next Ray call, from the head of ``queue``: one when the head
        must run alone, else up to :meth:`_batch_size` of the head's level."""
        job, alone = queue.popleft()
        batch = [job]
        if alone:
            return batch
        size = self._batch_size(job.level, len(queue) + 1)
        while len(batch) < size and queue and not queue[0][1] and queue[0][0].level == job.level:
            batch.append(queue.popleft()[0])
        return batch

    def _batch_size(self, level: Level, waiting: int) -> int:
        """How many designs one Ray call carries. A call costs milliseconds of round trip,
        which a cheap evaluator's designs are not worth alone: once a level's designs are
        timed, a call carries about ``TARGET_CALL_S`` of them (well inside the timeout),
        spread over every worker. Unknown or dear designs go one per call, so load balance,
        timeouts and retries stay per design."""
        seconds = self._seconds.get(level)
        if seconds is None:
            return 1
        budget = TARGET_CALL_S
        if self.timeout_s is not None:
            budget = min(budget, self.timeout_s * BATCH_TIMEOUT_SHARE)
        size = int(budget / max(seconds, 1e-6))
        return max(1, min(size, MAX_BATCH, math.ceil(waiting / len(self._actors))))

    def _replace(self, index: int) -> None:
        import ray

        ray.kill(self._actors[index], no_restart=True)
        self._actors[index] = self._new_actor()
        problem = ray.get(self._actors[index].ready.remote())
        if problem is not None:
            raise EvaluatorError(problem)

    def shutdown(self) -> None:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        self._actors = []
