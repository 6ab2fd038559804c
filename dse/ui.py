"""A search as the MLflow UI opens it: the experiment's tags and the address of its runs page.

MLflow 3.17's UI picks between its GenAI pages (traces, sessions) and its machine-learning pages
(runs, models) by a *workflow type* the browser keeps (GenAI until told otherwise), and its
experiment page follows that choice whatever the experiment's ``mlflow.experimentKind`` tag
says. So a search's experiment carries the tag (``custom_model_development``: model training,
what MLflow's own clients and earlier UIs read) and every address dse prints says
``workflowType=machine_learning``.

The runs page opens on a *saved view* (the format of the UI's "share view"): an experiment tag
``mlflow.sharedViewState.<key>`` holding a name, times and the view's state as JSON, named in the
address as ``viewStateShareKey``. The search's view lists its designs (the ``trial-*`` child runs:
without their parent in the list the UI shows them flat, not folded under it), the Pareto designs
first (tag ``dse.pareto`` descending), with the objectives, the constraint metrics and the
search's tags as columns.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from dse.mlflow_client import client_for, find_parent_run
from dse.space import SearchSpace
from dse.store import stored_space

EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
VIEW_KEY = "dse-pareto"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"
MACHINE_LEARNING = {"workflowType": "machine_learning"}


def _column(kind: str, name: str) -> str:
    """A runs-table column as the UI names it (``metrics.`miou```)."""
    return f"{kind}.`{name}`"


def experiment_tags(space: SearchSpace) -> dict[str, str]:
    """The tags a search's experiment is created with: its kind and its runs-page view."""
    tags = ["dse.pareto", "dse.generation", "dse.status"]
    tags += ["dse.fidelity"] if space.fidelities else []
    state = {
        "searchFilter": "attributes.run_name LIKE 'trial-%'",
        "orderByKey": _column("tags", "dse.pareto"),
        "orderByAsc": False,
        "selectedColumns": [
            *(_column("metrics", name) for name in space.required_metrics()),
            *(_column("tags", tag) for tag in tags),
        ],
    }
    now = int(time.time() * 1000)
    view = {"name": "Pareto front", "createdAt": now, "updatedAt": now, "state": json.dumps(state)}
    return {**EXPERIMENT_KIND, VIEW_TAG: json.dumps(view)}


def home_page(base_url: str) -> str:
    """The UI's home, on its machine-learning pages."""
    return f"{base_url}/#/?{urlencode(MACHINE_LEARNING)}"


def search_page(tracking_uri: str, name: str, base_url: str) -> str:
    """The address of the search ``name``'s runs page in the UI at ``base_url``. A search
    tracked before its experiment carried the view gets it now."""
    client = client_for(tracking_uri, create=False)
    parent = find_parent_run(client, name)
    experiment_id = parent.info.experiment_id
    if VIEW_TAG not in client.get_experiment(experiment_id).tags:
        for key, value in experiment_tags(stored_space(client, name, parent)).items():
            client.set_experiment_tag(experiment_id, key, value)
    query = urlencode({"viewStateShareKey": VIEW_KEY, **MACHINE_LEARNING})
    return f"{base_url}/#/experiments/{experiment_id}/runs?{query}"
