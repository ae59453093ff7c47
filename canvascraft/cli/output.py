"""What every command group shares: one ``error:`` line instead of a traceback, the skipped-files
list, the workspace opened once per invocation, and following a training job to its end."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
from sqlalchemy.exc import OperationalError

from canvascraft.config import get_settings
from canvascraft.errors import CanvasCraftError, NothingImportedError, RecipeError, Skipped
from canvascraft.store.session import refused, store_error

if TYPE_CHECKING:
    from canvascraft.brushes.base import Modality
    from canvascraft.store.models import Job

P = ParamSpec("P")
R = TypeVar("R")


def clean_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the studio's own errors into one clear line and exit code 1 (no traceback)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except NothingImportedError as error:
            print_skipped(error.skipped)
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from None
        except CanvasCraftError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from None
        except OperationalError as error:  # a write outside the store's own helpers
            if not refused(error):
                raise
            typer.echo(f"error: {store_error(error)}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def print_skipped(skipped: list[Skipped]) -> None:
    if skipped:
        typer.echo(f"skipped {len(skipped)} file(s):")
        for entry in skipped:
            typer.echo(f"  - {entry.name}: {entry.reason}")


def open_workspace() -> None:
    """Migrate the workspace's databases once per invocation (and per workspace, for tests that run
    many commands in one process); sample data is ``canvascraft init``'s job, not every command's."""
    _open(get_settings().db_url)


@functools.lru_cache(maxsize=8)
def _open(url: str) -> None:
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)


def parse_modality(value: str | None) -> Modality | None:
    from canvascraft.recipe.spec import MODALITIES

    if value is not None and value not in MODALITIES:
        raise RecipeError([f"--modality must be one of {', '.join(MODALITIES)}, got {value!r}"])
    return value  # type: ignore[return-value]


def start_or_follow(job_id: int, wait: bool) -> None:
    """Start the job now (it outlives this command), or follow it to its end with ``--wait``."""
    from canvascraft.services.jobs import TrainingProgress, explain_ending, tick, wait_for
    from canvascraft.training.quality import quality_sentence
    from canvascraft.training.trainers import objective_of

    if not wait:
        tick()
        typer.echo(f"follow it with `canvascraft jobs logs {job_id} --follow`")
        return
    shown = 0

    def figures(job: Job, row: dict[str, Any]) -> str:
        objective = objective_of(job.spec.get("trainer"))
        monitor = objective.monitor_for(job.spec.get("hyper") or {})
        keys = dict.fromkeys((objective.primary, monitor))  # once when they are the same
        shown = ", ".join(f"{key} {row[key]:.4f}" for key in keys)
        measured = quality_sentence(row)
        return f"{shown}, quality: {measured}" if measured else shown

    def show(job: Job) -> None:
        nonlocal shown
        progress = TrainingProgress.from_dict(job.progress)
        for row in progress.history[shown:] if progress else []:
            typer.echo(f"epoch {row['epoch']}/{progress.epochs}: {figures(job, row).replace(', ', ' ')}")
        shown = len(progress.history) if progress else shown

    job = wait_for(job_id, on_progress=show)
    if job.state != "succeeded":
        # The reason in words, not the log's last lines: those end in a traceback when the job raised.
        reason = explain_ending(job)
        typer.echo(f"error: job {job_id} {job.state}: {reason} The log: `canvascraft jobs logs {job_id}`"
                   if reason else f"error: job {job_id} {job.state}; see `canvascraft jobs logs {job_id}`",
                   err=True)  # fmt: skip
        raise typer.Exit(1)
    final = TrainingProgress.from_dict(job.progress)
    if final is None or not final.history:
        typer.echo(f"job {job_id} succeeded")
        return
    objective = objective_of(job.spec.get("trainer"))
    best = objective.best_epoch(final.history, job.spec.get("hyper") or {}) or final.history[-1]
    typer.echo(f"job {job_id} succeeded: MLflow run {job.mlflow_run_id}, best epoch {best['epoch']}, "
               f"{figures(job, best)}")  # fmt: skip
