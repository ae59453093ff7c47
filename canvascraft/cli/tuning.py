"""Tuning studies: start one, list, show, stop, train the best, the dashboard, the search space."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from canvascraft.cli.output import (
    clean_errors,
    open_workspace,
    start_or_follow,
)
from canvascraft.cli.root import app, studies_app

if TYPE_CHECKING:
    from canvascraft.services.tuning import StudyView
    from canvascraft.store.models import Job


@app.command("tune")
@clean_errors
def tune_command(
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset to tune on (its latest version).")],
    recipe: Annotated[str, typer.Option("--recipe", help="Recipe whose brushes may be searched.")],
    trainer: Annotated[str, typer.Option("--trainer", help="Model kind; see `canvascraft trainers list`.")],
    trials: Annotated[int, typer.Option(help="How many trials to run.")] = 6,
    parallel: Annotated[int, typer.Option(help="Trials running at once.")] = 2,
    sampler: Annotated[
        str, typer.Option(help="tpe, random or hyperband (TPE with Hyperband pruning).")
    ] = "tpe",
    metric: Annotated[
        str | None,
        typer.Option(
            help="Validation metric to optimise (default: the trainer's primary one; `canvascraft trainers "
            "list` shows each trainer's metrics and which way they improve)."
        ),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs per trial (default: the trainer's).")] = None,
    max_items: Annotated[
        int | None, typer.Option(help="Tune on a stratified subset of this many items.")
    ] = None,
    search: Annotated[
        list[str] | None,
        typer.Option(
            help="What to search (repeat): NAME, NAME=LOW:HIGH[:log] or NAME=A,B; default: learning rate and "
            "dropout. `canvascraft studies space --recipe R --trainer T` lists the names."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Study name (default: recipe-trainer-N).")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the study here until it ends.")] = False,
) -> None:
    """Start a tuning study: trials are training jobs, the best settings are found by Optuna."""
    from canvascraft.services.tuning import search_candidates, start_study
    from canvascraft.tuning.space import parse_search

    open_workspace()
    space = parse_search(search, search_candidates(recipe, trainer)) if search else None
    study, job_id = start_study(
        dataset, recipe, trainer, space, trials=trials, parallel=parallel, sampler=sampler, metric=metric,
        epochs=epochs, max_items=max_items, name=name,
    )  # fmt: skip
    typer.echo(f"study {study} started (driver job {job_id}); watch it on the Train page or with "
               f"`canvascraft studies show {study}`")  # fmt: skip
    if not wait:
        from canvascraft.services.jobs import tick

        tick()
        return
    _follow_study(study, job_id)


def _follow_study(study: str, job_id: int) -> None:
    from canvascraft.services.jobs import wait_for
    from canvascraft.services.tuning import study_view

    def show(job: Job) -> None:
        counts = (job.progress or {}).get("counts", {})
        typer.echo("trials: " + ", ".join(f"{n} {state.lower()}" for state, n in sorted(counts.items())))

    driver = wait_for(job_id, on_progress=show)
    view = study_view(study)
    summary = view.summary
    if driver.state != "succeeded":
        typer.echo(f"error: study {study} {driver.state}; see `canvascraft jobs logs {job_id}`", err=True)
        raise typer.Exit(1)
    if summary.best_params is None:
        typer.echo(f"study {study} ended without a completed trial")
        return
    typer.echo(f"best trial {summary.best_trial}: {summary.attrs['metric']} {summary.best_value:.4f}")
    for key, value in summary.best_params.items():
        typer.echo(f"  {key} = {value:.6g}" if isinstance(value, float) else f"  {key} = {value}")


def _study_row(view: StudyView) -> dict[str, Any]:
    summary = view.summary
    base = summary.attrs.get("base_spec", {})
    return {
        "name": summary.name, "state": view.state, "driver_job": summary.attrs.get("driver_job"),
        "dataset": base.get("dataset"), "recipe": base.get("recipe"), "trainer": base.get("trainer"),
        "sampler": summary.attrs.get("sampler"), "metric": summary.attrs.get("metric"),
        "direction": summary.direction, "planned": summary.planned, "counts": summary.counts,
        "best_value": summary.best_value, "best_params": summary.best_params,
        "mlflow_run_id": summary.attrs.get("mlflow_run_id"),
    }  # fmt: skip


@studies_app.command("list")
@clean_errors
def studies_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List tuning studies, newest first, with their best value so far."""
    from canvascraft.services.tuning import list_studies

    open_workspace()
    rows = [_study_row(v) for v in list_studies()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        typer.echo("no studies yet: start one with `canvascraft tune`")
        return
    typer.echo(f"{'name':<36} {'state':<10} {'trials':>9} {'best':>8}  sampler")
    for row in rows:
        done = sum(n for state, n in row["counts"].items() if state in ("COMPLETE", "PRUNED", "FAIL"))  # type: ignore[union-attr]
        best = "" if row["best_value"] is None else f"{row['best_value']:.4f}"
        trials = f"{done}/{row['planned']}"
        typer.echo(f"{row['name']:<36} {row['state']:<10} {trials:>9} {best:>8}  {row['sampler']}")


@studies_app.command("show")
@clean_errors
def studies_show(
    name: Annotated[str, typer.Argument(help="Study name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One study's trials: state, value, parameters and job."""
    from dataclasses import asdict

    from canvascraft.services.tuning import study_view

    open_workspace()
    view = study_view(name)
    if as_json:
        typer.echo(
            json.dumps(
                {**_study_row(view), "trials": [asdict(t) for t in view.trials]}, indent=2, default=str
            )
        )
        return
    row = _study_row(view)
    typer.echo(f"study {name}: {row['state']}, {row['sampler']}, {row['metric']} ({row['direction']})")
    for trial in view.trials:
        value = "" if trial.value is None else f"{trial.value:.4f}"
        params = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items()
        )
        typer.echo(f"  trial {trial.number:>3} {trial.state:<9} {value:>8}  job {trial.job_id}  {params}")


@studies_app.command("stop")
@clean_errors
def studies_stop(name: Annotated[str, typer.Argument(help="Study name.")]) -> None:
    """Stop a study: trials in flight are cancelled and recorded as failed."""
    from canvascraft.services.tuning import stop_study

    open_workspace()
    stop_study(name)
    typer.echo(f"study {name}: stop requested")


@studies_app.command("best")
@clean_errors
def studies_best(
    name: Annotated[str, typer.Argument(help="Study name.")],
    epochs: Annotated[
        int | None, typer.Option(help="Epochs of the training run (default: the study's).")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the job here until it ends.")] = False,
) -> None:
    """Train a model with the best trial's settings (a normal training job)."""
    from canvascraft.services.tuning import train_best

    open_workspace()
    job_id = train_best(name, epochs)
    typer.echo(f"job {job_id} queued (the best settings of study {name})")
    start_or_follow(job_id, wait)


@studies_app.command("dashboard")
@clean_errors
def studies_dashboard(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8080,
    host: Annotated[
        str, typer.Option(help="Interface to bind: loopback only (it has no login).")
    ] = "127.0.0.1",
) -> None:
    """Open the studies in optuna-dashboard (the same storage, live); Ctrl+C stops it."""
    from canvascraft.tuning.dashboard import serve_dashboard

    raise typer.Exit(serve_dashboard(host, port))


@studies_app.command("space")
@clean_errors
def studies_space(
    recipe: Annotated[str, typer.Option("--recipe", help="Recipe whose brush parameters may be searched.")],
    trainer: Annotated[str, typer.Option("--trainer", help="Trainer whose hyperparameters may be searched.")],
) -> None:
    """What a study could search, with the default ranges (* = searched by default)."""
    from canvascraft.services.tuning import search_candidates

    for param in search_candidates(recipe, trainer):
        where = (
            ",".join(str(c) for c in param.choices or ())
            if param.kind == "choice"
            else f"{param.low:g}:{param.high:g}{':log' if param.log else ''}"
        )
        typer.echo(f"{'*' if param.enabled else ' '} {param.name:<44} {param.kind:<6} {where}")
