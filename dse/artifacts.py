"""The files a search leaves on its parent run: tables of designs and plots of the front.

``trials.csv`` and ``front.csv`` are plain tables (one row per design); ``pareto.png`` and
``hypervolume.png`` are static matplotlib figures; ``pareto.html`` is an interactive plotly
page (hover a point to see its design) that the MLflow UI shows in its artifact browser. The
plotly library is embedded in the page, so it works without internet access.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path

import numpy as np

from dse.pareto import knee_index, normalize, objective_matrix
from dse.space import SearchSpace, dump_space
from dse.trial import Trial


def trial_rows(
    trials: Sequence[Trial], space: SearchSpace, front: set[int]
) -> list[dict[str, object]]:
    """One flat row per design: identity, params, metrics, outcome."""
    metric_names = sorted({name for t in trials for name in t.metrics})
    rows = []
    for t in sorted(trials, key=lambda t: t.number):
        row: dict[str, object] = {
            "trial": t.number,
            "generation": t.generation,
            "status": t.status,
            "pareto": t.number in front,
        }
        row.update({name: t.params.get(name) for name in space.params})
        row.update({name: t.metrics.get(name) for name in metric_names})
        row.update({"duration_s": round(t.duration_s, 4), "error": t.error or ""})
        rows.append(row)
    return rows


def write_csv(path: Path, rows: Sequence[dict[str, object]]) -> None:
    fields = list(rows[0]) if rows else ["trial"]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def write_search_artifacts(
    directory: Path,
    space: SearchSpace,
    trials: Sequence[Trial],
    front: Sequence[Trial],
    history: Sequence[tuple[int, float, int]],
    bounds: list[tuple[float, float]],
) -> None:
    """Write every artifact of a finished search into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    numbers = {t.number for t in front}
    (directory / "space.yaml").write_text(dump_space(space))
    write_csv(directory / "trials.csv", trial_rows(trials, space, numbers))
    write_csv(directory / "front.csv", trial_rows(front, space, numbers))
    plot_pareto_png(directory / "pareto.png", space, trials, front, bounds)
    plot_hypervolume_png(directory / "hypervolume.png", history)
    plot_pareto_html(directory / "pareto.html", space, trials, front)


def _label(space: SearchSpace, index: int) -> str:
    objective = space.objectives[index]
    arrow = "↑" if objective.maximize else "↓"
    return f"{objective.name} ({objective.direction[:3]} {arrow})"


def plot_pareto_png(
    path: Path,
    space: SearchSpace,
    trials: Sequence[Trial],
    front: Sequence[Trial],
    bounds: list[tuple[float, float]],
) -> None:
    """Each pair of objectives: working designs in grey, the front in colour, the knee starred."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    working = [t for t in trials if t.ok]
    pairs = list(combinations(range(len(space.objectives)), 2)) or [(0, 0)]
    figure, axes = plt.subplots(1, len(pairs), figsize=(5.2 * len(pairs), 4.4), squeeze=False)
    everything = objective_matrix(working, space)
    best = objective_matrix(front, space)
    knee = knee_index(normalize(best, space.objectives, bounds)) if len(front) else None
    for axis, (i, j) in zip(axes[0], pairs, strict=True):
        axis.scatter(everything[:, i], everything[:, j], s=10, c="0.75", label="designs")
        order = np.argsort(best[:, i])
        axis.plot(best[order, i], best[order, j], "o-", c="tab:blue", ms=5, label="Pareto front")
        if knee is not None:
            axis.plot(best[knee, i], best[knee, j], "*", c="tab:red", ms=16, label="knee")
        for index, setter in ((i, axis.set_xlabel), (j, axis.set_ylabel)):
            setter(_label(space, index))
            if space.objectives[index].scale == "log":
                (axis.set_xscale if setter == axis.set_xlabel else axis.set_yscale)("log")
        axis.grid(alpha=0.3)
    axes[0][0].legend(loc="best", fontsize=8)
    figure.suptitle(f"{space.name}: {len(front)} Pareto designs of {len(trials)}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_hypervolume_png(path: Path, history: Sequence[tuple[int, float, int]]) -> None:
    """Hypervolume (fixed bounds and reference point) after each generation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    if history:
        generations, volumes, _ = zip(*history, strict=True)
        axis.plot(generations, volumes, "o-")
    axis.set_xlabel("generation")
    axis.set_ylabel("hypervolume (normalised, ref 1.1)")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _hover(space: SearchSpace, trial: Trial) -> str:
    lines = [f"<b>trial {trial.number}</b> (gen {trial.generation})"]
    lines += [f"{o.name}: {trial.metrics[o.name]:.4g}" for o in space.objectives]
    lines += [f"{name} = {json.dumps(value)}" for name, value in trial.params.items()]
    return "<br>".join(lines)


def plot_pareto_html(
    path: Path, space: SearchSpace, trials: Sequence[Trial], front: Sequence[Trial]
) -> None:
    """Interactive front: 2-D projections of every pair, plus a 3-D view for 3+ objectives."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    on_front = {t.number for t in front}
    groups = [
        (
            "designs",
            [t for t in trials if t.ok and t.number not in on_front],
            "rgba(150,150,150,0.5)",
        ),
        ("Pareto front", list(front), "rgb(31,119,180)"),
    ]
    pairs = list(combinations(range(len(space.objectives)), 2)) or [(0, 0)]
    three_d = len(space.objectives) >= 3
    specs = [[{"type": "scene"}] if three_d else [{"type": "xy"}]]
    specs += [[{"type": "xy"}] for _ in pairs[1 if not three_d else 0 :]]
    titles = (["3-D view"] if three_d else []) + [
        f"{_label(space, j)} vs {_label(space, i)}" for i, j in pairs
    ]
    figure = make_subplots(
        rows=len(specs), cols=1, specs=specs, subplot_titles=titles, vertical_spacing=0.06
    )
    row = 1
    if three_d:
        for name, group, colour in groups:
            values = objective_matrix(group, space)
            figure.add_trace(
                go.Scatter3d(
                    x=values[:, 0],
                    y=values[:, 1],
                    z=values[:, 2],
                    mode="markers",
                    name=name,
                    marker={"size": 4, "color": colour},
                    legendgroup=name,
                    hovertext=[_hover(space, t) for t in group],
                    hoverinfo="text",
                ),
                row=1,
                col=1,
            )
        figure.update_scenes(
            xaxis_title=_label(space, 0), yaxis_title=_label(space, 1), zaxis_title=_label(space, 2)
        )
        row = 2
    for offset, (i, j) in enumerate(pairs):
        for name, group, colour in groups:
            values = objective_matrix(group, space)
            figure.add_trace(
                go.Scatter(
                    x=values[:, i],
                    y=values[:, j],
                    mode="markers",
                    name=name,
                    marker={"size": 7, "color": colour},
                    legendgroup=name,
                    showlegend=not three_d and offset == 0,
                    hovertext=[_hover(space, t) for t in group],
                    hoverinfo="text",
                ),
                row=row + offset,
                col=1,
            )
        figure.update_xaxes(title_text=_label(space, i), row=row + offset, col=1)
        figure.update_yaxes(title_text=_label(space, j), row=row + offset, col=1)
    figure.update_layout(
        height=520 * len(specs), title=f"{space.name}: Pareto front", hovermode="closest"
    )
    figure.write_html(path, include_plotlyjs=True, full_html=True)
