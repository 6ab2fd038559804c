"""The ``dse`` command line: search, front, evaluate, export, ui.

Heavy libraries (Ray, MLflow, Optuna, torch) are imported inside the commands, so ``dse --help``
answers at once. User errors print one line (``error: ...``) and exit with status 2.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from dse.errors import DseError, Interrupted

app = typer.Typer(
    help="Design-space exploration: multi-objective search over networks and photonic hardware.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

RunsDir = Annotated[
    Path,
    typer.Option(
        "--runs-dir",
        envvar="DSE_RUNS_DIR",
        help="Local store: MLflow SQLite database and artifacts, search ledgers, caches.",
    ),
]
TrackingUri = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else sqlite under --runs-dir).",
    ),
]
Options = Annotated[
    list[str] | None,
    typer.Option("--option", "-o", help="Override an evaluator option: key=value (repeatable)."),
]
AllowTargets = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-target",
        help="Allow an evaluator target outside dse and evaluators (module:attribute or "
        "module:*; repeatable; also DSE_ALLOWED_TARGETS): only for files you trust.",
    ),
]


def _allow(targets: list[str] | None) -> None:
    from dse.evaluator import allow_targets

    allow_targets(targets or [])


def _tracking_uri(uri: str | None, runs_dir: Path) -> str:
    from dse.mlflow_client import default_tracking_uri

    return uri or default_tracking_uri(runs_dir)


@app.command()
def search(
    space: Annotated[
        Path | None, typer.Argument(help="Search-space YAML (optional with --resume).")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Search name (MLflow experiment); default: the space's.")
    ] = None,
    budget: Annotated[int | None, typer.Option(help="Designs to evaluate in total.")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Parallel evaluators (Ray actors); 0: in this process, without Ray (cheap"
            " evaluators; no crash isolation); default: CPU count."
        ),
    ] = None,
    optimizer: Annotated[
        str | None,
        typer.Option(
            help="tpe, nsga2, nsga3, gp, pymoo-nsga2 or random;"
            " default: tpe up to 1000 designs, nsga2 above."
        ),
    ] = None,
    population: Annotated[
        int | None,
        typer.Option(help="Designs per generation; default: budget/10 within [8, 50]."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the optimizer (default 0).")] = None,
    timeout: Annotated[
        float | None,
        typer.Option(help="Seconds one design may take; then it fails and its worker restarts."),
    ] = None,
    allow_target: AllowTargets = None,
    tracking_uri: TrackingUri = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="Join an existing Ray cluster (HOST:6379; default $RAY_ADDRESS; see the README's "
            "Security)."
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue an interrupted search of this --name.")
    ] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    verbose: Annotated[bool, typer.Option(help="Show Ray and worker logs.")] = False,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Run a multi-objective search and track it in MLflow."""
    from dse.search import SearchRequest, run_search
    from dse.space import load_space

    _allow(allow_target)
    if name is None:
        if space is None:
            raise DseError("give a SPACE file, or --name with --resume")
        name = load_space(space).name
    request = SearchRequest(
        name=name,
        space_path=space,
        budget=budget,
        population=population,
        optimizer=optimizer,
        seed=seed,
        workers=workers,
        timeout_s=timeout,
        tracking_uri=tracking_uri,
        ray_address=ray_address,
        runs_dir=runs_dir,
        resume=resume,
        progress=not quiet,
        verbose=verbose,
    )
    try:
        result = run_search(request)
    except KeyboardInterrupt:
        raise Interrupted(
            f"search {name!r} interrupted; continue it with `dse search --name {name} --resume`"
        ) from None
    from dse.report import print_front

    failed = sum(not t.ok for t in result.trials)
    typer.echo(
        f"search {name!r}: {len(result.trials)} designs ({failed} failed), "
        f"{len(result.front)} on the front, hypervolume {result.hypervolume:.4f}"
    )
    print_front(result.space, result.front, limit=15)
    typer.echo(f"tracking: {result.settings.tracking_uri} (browse with `dse ui --name {name}`)")


@app.command()
def front(
    name: Annotated[str | None, typer.Option(help="Search name; default: the latest.")] = None,
    format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    tracking_uri: TrackingUri = None,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Print the Pareto front of a search."""
    from dse.pareto import pareto_front
    from dse.report import FORMATS, print_front
    from dse.store import load_search

    if format not in FORMATS:
        raise DseError(f"--format {format!r}: choose one of {', '.join(FORMATS)}")
    stored = load_search(_tracking_uri(tracking_uri, runs_dir), name)
    print_front(stored.space, pareto_front(stored.trials, stored.space), format=format)


@app.command()
def evaluate(
    design: Annotated[Path, typer.Argument(help="Design file (design.yaml).")],
    json_output: Annotated[bool, typer.Option("--json", help="Print metrics as JSON.")] = False,
    hardware_only: Annotated[
        bool,
        typer.Option(help="Hardware metrics only, no training (sets option hardware_only)."),
    ] = False,
    option: Options = None,
    allow_target: AllowTargets = None,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Evaluate one design in this process and print its metrics."""
    from dse.design import evaluate_design, parse_overrides, read_design

    _allow(allow_target)
    overrides = parse_overrides(option or [])
    if hardware_only:
        overrides["hardware_only"] = True
    metrics = evaluate_design(read_design(design), overrides, runs_dir / "cache")
    if json_output:
        typer.echo(json.dumps(metrics, indent=2))
    else:
        width = max(len(k) for k in metrics) if metrics else 0
        for key, value in metrics.items():
            typer.echo(f"{key:<{width}}  {value:.6g}")


@app.command()
def export(
    name: Annotated[str, typer.Option(help="Search name.")],
    out: Annotated[Path, typer.Option(help="Directory to write the design into.")],
    trial: Annotated[int | None, typer.Option(help="Trial number to export.")] = None,
    pick: Annotated[
        str | None,
        typer.Option(
            help="knee, max-<metric> or min-<metric> of the front (of the verified designs, by"
            " their verified scores, once the search was verified)."
        ),
    ] = None,
    retrain: Annotated[
        bool, typer.Option(help="Retrain the design standalone (sets option retrain).")
    ] = False,
    option: Options = None,
    allow_target: AllowTargets = None,
    tracking_uri: TrackingUri = None,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Write a chosen design into a new or empty directory: design.yaml plus the evaluator's
    own files."""
    from dse.design import export_design, parse_overrides, pick_pool, pick_trial
    from dse.store import load_search
    from dse.version import code_version

    _allow(allow_target)
    if (trial is None) == (pick is None):
        raise DseError("give exactly one of --trial or --pick")
    overrides = parse_overrides(option or [])
    if retrain:
        overrides["retrain"] = True
    stored = load_search(_tracking_uri(tracking_uri, runs_dir), name)
    chosen = pick_trial(stored, trial, pick)
    files = export_design(stored, chosen, out, overrides, runs_dir / "cache", code_version())
    source = "dse verify's options" if chosen.number in stored.verified else "its search options"
    if pick is not None:
        source += f"; picked by the {pick_pool(stored, pick)[1]}"
    typer.echo(f"exported trial {chosen.number} of {name!r} to {out} ({source}):")
    for path in files:
        typer.echo(f"  {path.name}")


@app.command()
def verify(
    name: Annotated[str, typer.Option(help="Search name.")],
    top: Annotated[
        int | None, typer.Option(help="Verify this many designs spread along the front (all).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Parallel evaluators (Ray actors); 0: in this process, without Ray (cheap"
            " evaluators; no crash isolation); default: CPU count."
        ),
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option(help="Join an existing Ray cluster (default $RAY_ADDRESS).")
    ] = None,
    allow_target: AllowTargets = None,
    tracking_uri: TrackingUri = None,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Re-evaluate the front at full fidelity (the space's verify.options) and log both fronts."""
    from dse.store import load_search
    from dse.verify import verify_search

    _allow(allow_target)
    stored = load_search(_tracking_uri(tracking_uri, runs_dir), name)
    result = verify_search(
        stored,
        top=top,
        workers=workers if workers is not None else os.cpu_count() or 1,
        cache_dir=runs_dir / "cache",
        ray_address=ray_address,
    )
    names = stored.space.objective_names
    typer.echo(f"verified {len(result.verified)} front designs of {name!r}:")
    typer.echo("trial  " + "  ".join(f"{n} (proxy -> verified)" for n in names))
    for proxy, checked in zip(result.proxy, result.verified, strict=True):
        cells = [
            f"{proxy.metrics[n]:.4g} -> {checked.metrics.get(n, float('nan')):.4g}" for n in names
        ]
        typer.echo(f"{proxy.number:5d}  " + "  ".join(cells) + ("" if checked.ok else "  FAILED"))
    for key, value in result.summary.items():
        typer.echo(f"{key}: {value:.4g}")


@app.command()
def ui(
    name: Annotated[
        str | None, typer.Option(help="Open on this search's designs, Pareto front first.")
    ] = None,
    port: Annotated[int, typer.Option(help="Port of the MLflow UI.")] = 5000,
    tracking_uri: TrackingUri = None,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Open the MLflow UI on the store, bound to 127.0.0.1 (with --name: print the search's
    runs page; on a tracking server, only print it)."""
    from dse.mlflow_client import require_store
    from dse.ui import home_page, search_page

    uri = _tracking_uri(tracking_uri, runs_dir)
    served = uri.startswith(("http://", "https://"))
    if served and name is None:
        raise DseError(f"{uri} is already a tracking server: open {home_page(uri)} in a browser")
    base = uri.rstrip("/") if served else f"http://127.0.0.1:{port}"
    if name is not None:
        page = search_page(uri, name, base)
    else:
        require_store(uri)  # a store that is not there is an error, not a new empty one
        page = home_page(base)
    if served:
        typer.echo(page)
        return
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--workers", "1"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    typer.echo(f"MLflow UI on {page} (store {uri}); Ctrl-C stops it")
    os.execv(sys.executable, command)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the app, turning user errors into one line and exit status 2."""
    try:
        return app(args=argv, standalone_mode=True)
    except DseError as error:
        typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
        sys.exit(error.exit_code)
