"""Reading finished (or running) searches back from a tracking store.

``dse front`` and ``dse export`` read MLflow, not the local ledger, so they work for anyone who
can reach the store (an ``mlflow server`` shared by a team included). The space a search ran
with is its parent run's ``space.yaml`` artifact; the designs are its child runs, or, for a search
that logged child runs for a sample of its designs, its parent run's ``trials.jsonl``.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dse.errors import StoreError
from dse.mlflow_client import client_for, find_parent_run, iter_child_runs, latest_search_name
from dse.space import SearchSpace, parse_space
from dse.tracking import TRIALS_ARTIFACT
from dse.trial import Trial


@dataclass(frozen=True)
class StoredSearch:
    """A search as the tracking store holds it."""

    name: str
    space: SearchSpace
    trials: list[Trial]
    parent_run_id: str
    experiment_id: str
    tracking_uri: str
    tags: dict[str, str]
    run_ids: dict[int, str]
    verified: dict[int, Trial] = field(default_factory=dict)
    """``dse verify``'s result of each trial whose latest verification completed, by trial
    number: exports of these use its options, ``--pick`` their scores."""

    def trial(self, number: int) -> Trial:
        for trial in self.trials:
            if trial.number == number:
                return trial
        raise StoreError(f"search {self.name!r} has no trial {number}")


def _trial_from_run(run: Any, space: SearchSpace) -> Trial:
    tags = run.data.tags
    params = {name: value for name, value in run.data.params.items() if name in space.params}
    return Trial(
        number=int(tags["dse.trial"]),
        generation=int(tags.get("dse.generation", 0)),
        params=space.parse_params(params) if len(params) == len(space.params) else params,
        status="complete" if tags.get("dse.status") == "complete" else "failed",
        metrics=dict(run.data.metrics),
        error=tags.get("dse.error"),
        duration_s=max(0.0, ((run.info.end_time or 0) - (run.info.start_time or 0)) / 1000),
        finished_at=(run.info.end_time or 0) / 1000,
        fidelity=tags.get("dse.fidelity"),
        reused=int(tags["dse.reused_from"]) if "dse.reused_from" in tags else None,
    )


def stored_space(client: Any, name: str, parent: Any) -> SearchSpace:
    """The space the search ``name`` ran with: its parent run's ``space.yaml``."""
    with tempfile.TemporaryDirectory() as directory:
        try:
            path = client.download_artifacts(parent.info.run_id, "space.yaml", directory)
        except Exception as error:
            raise StoreError(f"search {name!r} has no space.yaml artifact: {error}") from None
        return parse_space(yaml.safe_load(Path(path).read_text()), f"{name}:space.yaml")


def stored_trials(client: Any, parent: Any) -> list[Trial] | None:
    """Every design of a search that logged child runs for a sample only (``dse.tracking``):
    its parent run's ``trials.jsonl``, written when the search finished; None before."""
    with tempfile.TemporaryDirectory() as directory:
        try:
            path = client.download_artifacts(parent.info.run_id, TRIALS_ARTIFACT, directory)
        except Exception:  # a running search has none yet
            return None
        lines = Path(path).read_text().splitlines()
    return [Trial.from_json(json.loads(line)) for line in lines]


def load_search(tracking_uri: str, name: str | None = None) -> StoredSearch:
    """The search ``name`` (default: the most recent one) with its space and designs."""
    client = client_for(tracking_uri, create=False)
    name = name or latest_search_name(client)
    parent = find_parent_run(client, name)
    space = stored_space(client, name, parent)
    children = list(iter_child_runs(client, parent.info.experiment_id, parent.info.run_id))
    runs = [run for run in children if "dse.trial" in run.data.tags]
    trials = sorted((_trial_from_run(run, space) for run in runs), key=lambda t: t.number)
    if int(parent.data.params.get("child_run_stride", 1)) > 1:  # a sample: all are in a file
        trials = stored_trials(client, parent) or trials
    return StoredSearch(
        name=name,
        space=space,
        trials=trials,
        parent_run_id=parent.info.run_id,
        experiment_id=parent.info.experiment_id,
        tracking_uri=tracking_uri,
        tags=dict(parent.data.tags),
        run_ids={int(run.data.tags["dse.trial"]): run.info.run_id for run in runs},
        verified=verified_trials(client, parent.info.experiment_id, children, space),
    )


def verified_trials(
    client: Any, experiment_id: str, children: list[Any], space: SearchSpace
) -> dict[int, Trial]:
    """What the search's ``verify`` runs (children of its parent) measured, for the designs whose
    latest verification completed (one that failed the last time it was verified is left out)."""
    verifies = [run for run in children if run.data.tags.get("dse.role") == "verify"]
    verified: dict[int, Trial] = {}
    for verify in sorted(verifies, key=lambda run: run.info.start_time or 0):
        for run in iter_child_runs(client, experiment_id, verify.info.run_id):
            if "dse.trial" not in run.data.tags:
                continue
            trial = _trial_from_run(run, space)
            if trial.ok:
                verified[trial.number] = trial
            else:
                verified.pop(trial.number, None)
    return verified
