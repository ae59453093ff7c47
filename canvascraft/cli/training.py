"""Trainers, launching a training run, and background jobs (list, logs, cancel, resume, fork)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from canvascraft.cli.output import (
    clean_errors,
    open_workspace,
    start_or_follow,
)
from canvascraft.cli.root import app, jobs_app, trainers_app

if TYPE_CHECKING:
    from canvascraft.store.models import Job
    from canvascraft.training.objectives import Objective


@trainers_app.command("list")
@clean_errors
def trainers_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON with every hyperparameter.")] = False,
) -> None:
    """List the trainers (model kinds) with their hyperparameters and defaults."""
    from canvascraft.recipe.schema import param_schema
    from canvascraft.training.trainers import all_trainers

    trainers = sorted(all_trainers(), key=lambda t: t.name)
    if as_json:
        rows = [
            {"name": t.name, "modality": t.modality, "summary": t.summary,
             "hyperparameters": {p.name: {"kind": p.kind, **param_schema(p)} for p in t.hyperparams},
             "objective": {"task": t.objective.task, "primary": t.objective.primary,
                           "monitor": t.objective.monitor,
                           "metrics": {k: t.objective.direction(k) for k in t.objective.metric_keys("val")}}}
            for t in trainers
        ]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2))
        return
    for t in trainers:
        typer.echo(f"{t.name:<12} {t.modality:<6} {t.summary}")
        for p in t.hyperparams:
            typer.echo(f"    {p.name:<14} {p.kind:<6} default {p.default!r}: {p.help}")
        typer.echo(f"    metrics: {_metrics_line(t.objective)}")


def _metrics_line(objective: Objective) -> str:
    """Each validation metric with its direction, which one is primary and which picks the best checkpoint."""
    parts = []
    for key in objective.metric_keys("val"):
        notes = [
            *(["primary"] if key == objective.primary else []),
            "higher is better" if objective.direction(key) == "maximize" else "lower is better",
        ]
        if key == objective.monitor:
            notes[-1] += "; picks the best checkpoint"
        elif key == objective.tie_break:
            notes[-1] += "; settles ties"
        parts.append(f"{key} ({', '.join(notes)})")
    return ", ".join(parts)


@app.command("train")
@clean_errors
def train_command(
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset to train on (its latest version).")],
    recipe: Annotated[str, typer.Option("--recipe", help="Recipe to preprocess with (its latest version).")],
    trainer: Annotated[str, typer.Option("--trainer", help="Model kind; see `canvascraft trainers list`.")],
    epochs: Annotated[int | None, typer.Option(help="Epochs at most (default: the trainer's).")] = None,
    max_items: Annotated[
        int | None, typer.Option(help="Train on a stratified subset of about this many items.")
    ] = None,
    pin: Annotated[
        list[int] | None,
        typer.Option(help="A validation item to watch each epoch (repeat; default: a few per class)."),
    ] = None,
    device: Annotated[str, typer.Option(help="auto (a CUDA GPU when present), cpu or cuda.")] = "auto",
    wait: Annotated[bool, typer.Option("--wait", help="Follow the job here until it ends.")] = False,
) -> None:
    """Start a training job (it runs in the background); prints its id."""
    from canvascraft.services.jobs import launch_training

    open_workspace()
    job_id = launch_training(
        dataset, recipe, trainer, epochs=epochs, max_items=max_items, pinned=pin or None, device=device
    )
    typer.echo(f"job {job_id} queued")
    start_or_follow(job_id, wait)


def _job_row(job: Job) -> dict[str, object]:
    from canvascraft.services.jobs import explain_ending

    return {
        "id": job.id, "kind": job.kind, "state": job.state, "exit_code": job.exit_code, "signal": job.signal,
        "mlflow_run_id": job.mlflow_run_id, "resume_from": job.resume_from, "progress": job.progress,
        "created_at": job.created_at.isoformat() if job.created_at else None, "reason": explain_ending(job),
    }  # fmt: skip


@jobs_app.command("list")
@clean_errors
def jobs_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List jobs, newest first (the pool is ticked first, so finished jobs show as finished); a job
    that did not succeed has its reason on the line below."""
    from canvascraft.errors import StoreError
    from canvascraft.services.jobs import explain_ending
    from canvascraft.services.jobs import pool as job_pool

    open_workspace()
    pool = job_pool()
    try:
        pool.tick()  # claims queued jobs in a write, even when there are none
    except StoreError as error:  # the bookkeeping waits for a later tick; reading the list needs no write
        typer.echo(f"note: job states may lag: {error}", err=True)
    jobs = pool.list_jobs()
    if as_json:
        typer.echo(json.dumps([_job_row(j) for j in jobs], indent=2))
        return
    if not jobs:
        typer.echo("no jobs yet: start one with `canvascraft train`")
        return
    typer.echo(f"{'id':>5} {'kind':<8} {'state':<10} {'exit':>6} {'mlflow run':<32}")
    for j in jobs:
        end = f"sig{j.signal}" if j.signal else ("" if j.exit_code is None else str(j.exit_code))
        typer.echo(f"{j.id:>5} {j.kind:<8} {j.state:<10} {end:>6} {j.mlflow_run_id or '':<32}")
        reason = explain_ending(j)
        if reason:
            typer.echo(f"{'':>6}{reason}")


@jobs_app.command("logs")
@clean_errors
def jobs_logs(
    job_id: Annotated[int, typer.Argument(help="Job id.")],
    follow: Annotated[bool, typer.Option("--follow", help="Keep printing until the job ends.")] = False,
    tail: Annotated[int | None, typer.Option(help="Only the last N lines.")] = None,
) -> None:
    """Print a job's output."""
    import time

    from canvascraft.jobs import TERMINAL, JobState
    from canvascraft.services.jobs import job_log
    from canvascraft.services.jobs import pool as job_pool

    open_workspace()
    if not follow:
        typer.echo(job_log(job_id, tail), nl=False)
        return
    pool, printed = job_pool(), 0
    while True:
        pool.tick()
        done = JobState(pool.get_job(job_id).state) in TERMINAL
        text = job_log(job_id)
        typer.echo(text[printed:], nl=False)
        printed = len(text)
        if done:
            return
        time.sleep(0.5)


@jobs_app.command("cancel")
@clean_errors
def jobs_cancel(job_id: Annotated[int, typer.Argument(help="Job id.")]) -> None:
    """Cancel a queued job, or stop a running one (SIGTERM, then SIGKILL after the grace period)."""
    from canvascraft.services.jobs import cancel_job

    open_workspace()
    cancel_job(job_id)
    typer.echo(f"job {job_id}: cancel requested")


@jobs_app.command("resume")
@clean_errors
def jobs_resume(
    job_id: Annotated[int, typer.Argument(help="A finished job's id.")],
    wait: Annotated[bool, typer.Option("--wait", help="Follow the new job here until it ends.")] = False,
) -> None:
    """Start a new job that continues a finished one from its last checkpoint."""
    from canvascraft.services.jobs import resume_job

    open_workspace()
    new_id = resume_job(job_id)
    typer.echo(f"job {new_id} queued (resumes job {job_id})")
    start_or_follow(new_id, wait)


@jobs_app.command("fork")
@clean_errors
def jobs_fork(
    job_id: Annotated[int, typer.Argument(help="The training job whose checkpoint to start from.")],
    checkpoint: Annotated[str, typer.Option(help="best or last.")] = "best",
    recipe: Annotated[str | None, typer.Option(help="Another recipe (default: the job's).")] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs of the new run.")] = None,
    learning_rate: Annotated[float | None, typer.Option(help="Another learning rate.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the new job here until it ends.")] = False,
) -> None:
    """Start a new run from a job's checkpoint, with another recipe or settings; it records its origin."""
    from canvascraft.services.jobs import fork_job

    open_workspace()
    hyper = {"learning_rate": learning_rate} if learning_rate is not None else None
    new_id = fork_job(job_id, checkpoint=checkpoint, recipe=recipe, epochs=epochs, hyper=hyper)
    typer.echo(f"job {new_id} queued (starts from job {job_id}'s {checkpoint} checkpoint)")
    start_or_follow(new_id, wait)
