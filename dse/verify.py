"""``dse verify``: re-evaluate a search's final front at full fidelity and compare.

A search usually scores designs with a cheap proxy (a weight-sharing supernet, few noise samples);
its front is only as trustworthy as that proxy. Verification re-runs the front's designs with the
evaluator option overrides of the space's ``verify.options`` (over the options of the highest
fidelity level in a multi-fidelity search; for the photonic evaluator: standalone training with
noise-aware fine-tuning and fresh noise seeds), on Ray as a search does, and logs the verified front
beside the proxy front in MLflow: a ``verify`` run nested under the search, one child per design,
the rank agreement (Kendall tau) per objective, both fronts' hypervolumes under the search's fixed
bounds, and a plot of both.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dse.agreement import kendall_tau
from dse.backends import make_runner
from dse.evaluator import prepare_options
from dse.mlflow_bulk import FinishedRun
from dse.mlflow_client import client_for, log_batch
from dse.pareto import hypervolume, normalize, objective_matrix, pareto_front
from dse.runner import Job
from dse.store import StoredSearch
from dse.tracking_writer import RunWriter, finished_run
from dse.trial import Trial, finished_trial


@dataclass(frozen=True)
class Verification:
    """Proxy and verified results of the same designs."""

    proxy: list[Trial]
    verified: list[Trial]
    summary: dict[str, float]


def spread_along_front(
    front: Sequence[Trial], stored: StoredSearch, top: int | None
) -> list[Trial]:
    """``top`` designs spread evenly along the front (sorted by the first objective)."""
    ordered = sorted(front, key=lambda t: stored.space.objective_values(t.metrics)[0])
    if top is None or top >= len(ordered):
        return ordered
    picks = np.unique(np.linspace(0, len(ordered) - 1, top).round().astype(int))
    return [ordered[i] for i in picks]


def verify_search(
    stored: StoredSearch,
    *,
    top: int | None,
    workers: int,
    cache_dir: Path,
    ray_address: str | None = None,
) -> Verification:
    """Re-evaluate the front with the space's verification overrides and log the comparison."""
    space = stored.space
    chosen = spread_along_front(pareto_front(stored.trials, space), stored, top)
    options = space.verify_options()
    prepared = prepare_options(space.evaluator.target, options, cache_dir, space.domains())
    runner = make_runner(space.evaluator.target, workers=workers, ray_address=ray_address)
    runner.start({None: prepared})
    try:
        outcomes = {o.number: o for o in runner.run(Job(t.number, t.params) for t in chosen)}
    finally:
        runner.shutdown()
    verified = [finished_trial(outcomes[t.number], t.generation, t.params, space) for t in chosen]
    summary = _summary(stored, chosen, verified)
    _log(stored, chosen, verified, summary, options)
    return Verification(chosen, verified, summary)


def _summary(stored: StoredSearch, proxy: list[Trial], verified: list[Trial]) -> dict[str, float]:
    space = stored.space
    pairs = [(p, v) for p, v in zip(proxy, verified, strict=True) if v.ok]
    summary: dict[str, float] = {"verified_designs": float(len(pairs))}
    for objective in space.objectives:
        name = objective.name
        summary[f"kendall_tau_{name}"] = kendall_tau(
            [p.metrics[name] for p, _ in pairs], [v.metrics[name] for _, v in pairs]
        )
    bounds = _bounds(stored)
    if bounds is not None:
        for label, trials in (("proxy", proxy), ("verified", [v for _, v in pairs])):
            front = pareto_front(trials, space)
            values = normalize(objective_matrix(front, space), space.objectives, bounds)
            summary[f"{label}_hypervolume"] = hypervolume(values)
    return summary


def _bounds(stored: StoredSearch) -> list[tuple[float, float]] | None:
    recorded = stored.tags.get("dse.bounds")
    return [(float(a), float(b)) for a, b in json.loads(recorded)] if recorded else None


def _log(
    stored: StoredSearch,
    proxy: list[Trial],
    verified: list[Trial],
    summary: dict[str, float],
    options: dict[str, Any],
) -> None:
    """A ``verify`` run under the search's parent, a child per design, a table and a plot."""
    client = client_for(stored.tracking_uri)
    run = client.create_run(
        stored.experiment_id,
        run_name="verify",
        tags={"mlflow.parentRunId": stored.parent_run_id, "dse.role": "verify"},
    )
    run_id = run.info.run_id
    log_batch(
        client,
        run_id,
        params={"options": json.dumps(options, sort_keys=True)[:6000]},
        metrics={k: v for k, v in summary.items() if math.isfinite(v)},
    )
    children = [_verified_run(trial, run_id) for trial in verified]
    RunWriter(stored.tracking_uri, stored.experiment_id, run_id, {}).write(children)
    with tempfile.TemporaryDirectory(prefix="dse-verify-") as directory:
        _write_artifacts(Path(directory), stored, proxy, verified)
        client.log_artifacts(run_id, directory)
    client.set_terminated(run_id, "FINISHED")


def _verified_run(trial: Trial, verify_run_id: str) -> FinishedRun:
    """A verified design's child run, under the verify run."""
    tags = {
        "mlflow.parentRunId": verify_run_id,
        "dse.trial": str(trial.number),
        "dse.verified": "true",
        "dse.status": trial.status,
    }
    return finished_run(trial, f"verify-{trial.number:05d}", tags)


def _write_artifacts(
    directory: Path, stored: StoredSearch, proxy: list[Trial], verified: list[Trial]
) -> None:
    import csv

    space = stored.space
    names = space.objective_names
    with (directory / "verified_front.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["trial", *(f"proxy_{n}" for n in names), *(f"verified_{n}" for n in names)]
        )
        for p, v in zip(proxy, verified, strict=True):
            writer.writerow(
                [p.number, *(p.metrics.get(n) for n in names), *(v.metrics.get(n) for n in names)]
            )
    plot_verification(directory / "verify.png", stored, proxy, verified)


def plot_verification(
    path: Path, stored: StoredSearch, proxy: list[Trial], verified: list[Trial]
) -> None:
    """Each pair of objectives: proxy points, verified points, an arrow from one to the other."""
    from itertools import combinations

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    space = stored.space
    pairs = list(combinations(range(len(space.objectives)), 2)) or [(0, 0)]
    figure, axes = plt.subplots(1, len(pairs), figsize=(5.2 * len(pairs), 4.4), squeeze=False)
    ok = [(p, v) for p, v in zip(proxy, verified, strict=True) if v.ok]
    before = objective_matrix([p for p, _ in ok], space)
    after = objective_matrix([v for _, v in ok], space)
    for axis, (i, j) in zip(axes[0], pairs, strict=True):
        axis.scatter(before[:, i], before[:, j], c="tab:blue", label="proxy (search)")
        axis.scatter(after[:, i], after[:, j], c="tab:orange", label="verified")
        for a, b in zip(before, after, strict=True):
            axis.annotate(
                "",
                xy=(b[i], b[j]),
                xytext=(a[i], a[j]),
                arrowprops={"arrowstyle": "->", "color": "0.6"},
            )
        axis.set_xlabel(space.objectives[i].name)
        axis.set_ylabel(space.objectives[j].name)
        for index, setter in ((i, axis.set_xscale), (j, axis.set_yscale)):
            if space.objectives[index].scale == "log":
                setter("log")
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    figure.suptitle(f"{stored.name}: proxy front vs verified")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
