"""MLflow tracking of searches: what the search loop talks to.

Layout (docs/architecture.md, "MLflow layout"): one experiment per search name; a parent run with
the search settings as params, ``hypervolume`` and ``front_size`` as per-generation metric
steps and the front artifacts at the end; one child run per evaluated design, with its params,
metrics and the tags ``dse.trial``, ``dse.generation``, ``dse.status`` and ``dse.pareto`` (in a
search of more than ``CHILD_RUNS`` designs, for a sample and the front: see
:func:`child_run_stride`).

A search's start is recoverable: the experiment is tagged with the start token that the
search's ``search.json`` recorded first (:mod:`dse.ledger`), so a search killed before MLflow
held its parent run takes its experiment over when it starts again, while a name another search
holds stays refused.

The tracker writes the parent run itself and hands child runs, metrics and tags to the writer
process (:mod:`dse.tracking_writer`), in the order designs finish. The ledger stays the source
of truth: a design is logged only after it is in the ledger, and a resume logs whatever the
ledger has that MLflow lacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dse.errors import SearchError
from dse.mlflow_client import (
    PARENT_ROLE,
    client_for,
    iter_child_runs,
    local_artifact_root,
    log_batch,
)
from dse.tracking_writer import (
    LogMetrics,
    LogTrials,
    MarkPareto,
    SetTags,
    Start,
    TrackingProcess,
    wait_for_writer,
)
from dse.trial import Trial

START_TAG = "dse.start"  # the experiment's tag naming the start that created it
CHILD_RUNS = 1000  # child runs a search writes besides its front's
TRIALS_ARTIFACT = "trials.jsonl"  # a sampled search's every design, written at its end


def child_run_stride(budget: int) -> int:
    """Every how many designs one gets a child run: all of them up to ``CHILD_RUNS`` designs;
    beyond, an even sample of about ``CHILD_RUNS`` plus the final front. A child run costs the
    store milliseconds and the UI lists every run, so 20 000 of them made MLflow, not the
    search, what a hardware-only search waited for; the designs are all in the ledger and, at
    the end, in the parent run's ``trials.jsonl``, which ``dse front`` and ``dse export`` read."""
    return max(1, -(-budget // CHILD_RUNS))


def front_sample(front: Sequence[Trial]) -> list[Trial]:
    """The front's designs that get child runs: all of them, or ``CHILD_RUNS`` evenly spread
    over a larger front (a problem whose every design is non-dominated has one)."""
    if len(front) <= CHILD_RUNS:
        return list(front)
    return [front[i * len(front) // CHILD_RUNS] for i in range(CHILD_RUNS)]


@dataclass(frozen=True)
class Held:
    """What a tracking store already holds of a search being resumed."""

    trials: dict[int, str]  # trial number -> child run id
    generations: set[int]


class Tracker:
    """Writes one search to MLflow: parent run here, child runs through the writer process."""

    def __init__(self, tracking_uri: str, name: str, lock_path: Path) -> None:
        self.tracking_uri = tracking_uri
        self.name = name
        self.lock_path = lock_path
        # Connecting takes seconds (mlflow's imports, the store's schema check): it runs in the
        # background while the caller starts Ray; ``client`` waits for it.
        pool = ThreadPoolExecutor(1, thread_name_prefix="mlflow-connect")
        self._client: Future[Any] = pool.submit(client_for, tracking_uri)
        pool.shutdown(wait=False)
        self.experiment_id = ""
        self.parent_run_id = ""
        self._writer: TrackingProcess | None = None

    @property
    def client(self) -> Any:
        """The ``MlflowClient`` (raises what connecting raised, e.g. a bad tracking URI)."""
        return self._client.result()

    def _own_experiment(self, token: str) -> Any | None:
        """The search's experiment when an interrupted start of this same search (``token``)
        created it, None when the name is free; raise when another search holds the name."""
        experiment = self.client.get_experiment_by_name(self.name)
        if experiment is None or experiment.tags.get(START_TAG) == token:
            return experiment
        deleted = experiment.lifecycle_stage == "deleted"
        state = " (deleted; restore or purge it)" if deleted else ""
        raise SearchError(
            f"search {self.name!r} already exists in {self.tracking_uri}{state}; "
            "continue it with --resume or choose another --name"
        )

    def check_name_free(self, token: str) -> None:
        """Raise unless the name is free in the store or taken by this search's own start."""
        self._own_experiment(token)

    def start(
        self,
        params: Mapping[str, Any],
        tags: Mapping[str, str],
        experiment_tags: Mapping[str, str],
        token: str,
    ) -> tuple[str, str]:
        """Create the experiment (tagged with the start ``token``) and the parent run; return
        their ids. An experiment that an interrupted start with the same token created is taken
        over, with a new parent run: the interrupted one may lack params, and has no designs."""
        from mlflow.exceptions import MlflowException

        experiment = self._own_experiment(token)
        if experiment is None:
            root = local_artifact_root(self.tracking_uri)
            location = (root / self.name).resolve().as_uri() if root else None
            try:
                self.experiment_id = self.client.create_experiment(
                    self.name,
                    artifact_location=location,
                    tags={**experiment_tags, START_TAG: token},
                )
            except MlflowException as error:
                if error.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
                raise SearchError(  # another search took the name a moment ago
                    f"search {self.name!r} was just started elsewhere in {self.tracking_uri}; "
                    "choose another --name"
                ) from None
        else:
            self.experiment_id = experiment.experiment_id
            for run in self.client.search_runs(
                [self.experiment_id], filter_string=f"tags.`dse.role` = '{PARENT_ROLE}'"
            ):
                self.client.delete_run(run.info.run_id)
        run = self.client.create_run(
            self.experiment_id,
            run_name=self.name,
            tags={"dse.role": PARENT_ROLE, "dse.search": self.name, **tags},
        )
        self.parent_run_id = run.info.run_id
        log_batch(self.client, self.parent_run_id, params=params)
        self._writer = TrackingProcess(
            Start(self.lock_path, self.tracking_uri, self.experiment_id, self.parent_run_id, {})
        )
        return self.experiment_id, self.parent_run_id

    def reopen(self, experiment_id: str, parent_run_id: str) -> Held:
        """Continue a search's parent run; return what MLflow already holds of it."""
        from mlflow.exceptions import MlflowException

        wait_for_writer(self.lock_path)
        self.experiment_id, self.parent_run_id = experiment_id, parent_run_id
        try:
            self.client.update_run(parent_run_id, status="RUNNING")
        except MlflowException as error:
            where = f"{parent_run_id} in {self.tracking_uri}"
            raise SearchError(f"cannot reopen run {where}: {error}") from None
        run_ids = {
            int(run.data.tags["dse.trial"]): run.info.run_id
            for run in iter_child_runs(self.client, experiment_id, parent_run_id)
            if "dse.trial" in run.data.tags
        }
        steps = {m.step for m in self.client.get_metric_history(parent_run_id, "hypervolume")}
        self._writer = TrackingProcess(
            Start(self.lock_path, self.tracking_uri, experiment_id, parent_run_id, run_ids)
        )
        return Held(trials=run_ids, generations=steps)

    @property
    def writer(self) -> TrackingProcess:
        if self._writer is None:
            raise RuntimeError("start() or reopen() the tracker first")
        return self._writer

    def log_artifact_text(self, text: str, filename: str) -> None:
        """Log a small text artifact on the parent run right away."""
        self.client.log_text(self.parent_run_id, text, filename)

    def log_trial(self, trial: Trial) -> None:
        """Queue a child run for a finished design."""
        self.writer.send(LogTrials((trial,)))

    def log_generation(self, generation: int, metrics: Mapping[str, float]) -> None:
        self.writer.send(LogMetrics(generation, dict(metrics)))

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self.writer.send(SetTags(dict(tags)))

    def finish(self, front: Sequence[int], artifacts: Path) -> None:
        """Tag the final front, log the artifacts and close the parent run."""
        self.writer.send(MarkPareto(tuple(front)))
        self.writer.flush()
        self.client.log_artifacts(self.parent_run_id, str(artifacts))
        self.client.set_terminated(self.parent_run_id, "FINISHED")

    def abort(self, status: str = "KILLED") -> None:
        """Write what is queued and mark the parent run as stopped (resumable)."""
        try:
            if self._writer is not None:
                self._writer.flush()
        finally:
            self.client.set_terminated(self.parent_run_id, status)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.stop()
            self._writer = None
