"""The ``canvascraft`` command line: each command calls a service and prints a short summary.

Errors the studio raises on purpose end the command with exit code 1 and one line on stderr.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer

from canvascraft.config import get_settings
from canvascraft.errors import CanvasCraftError, DriftError, NothingImportedError, RecipeError, Skipped

if TYPE_CHECKING:
    from canvascraft.brushes.base import Modality
    from canvascraft.services.tuning import StudyView
    from canvascraft.store.models import Job

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(help="CanvasCraft ML Studio: train your own models on your own art, sound and tables.",
                  no_args_is_help=True, pretty_exceptions_enable=False)  # fmt: skip
datasets_app = typer.Typer(help="Import and list datasets.", no_args_is_help=True)
db_app = typer.Typer(help="The studio database.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")
app.add_typer(db_app, name="db")
recipe_app = typer.Typer(help="Check, list, import and export preprocessing recipes.", no_args_is_help=True)
app.add_typer(recipe_app, name="recipe")
brushes_app = typer.Typer(help="The registered preprocessing brushes.", no_args_is_help=True)
app.add_typer(brushes_app, name="brushes")
trainers_app = typer.Typer(help="The model trainers.", no_args_is_help=True)
app.add_typer(trainers_app, name="trainers")
jobs_app = typer.Typer(help="Background jobs: list, follow, cancel and resume.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
runs_app = typer.Typer(help="Training runs tracked in MLflow.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
studies_app = typer.Typer(
    help="Tuning studies (Optuna): list, show, stop, train the best.", no_args_is_help=True
)
app.add_typer(studies_app, name="studies")

APP_FILE = Path(__file__).resolve().parent.parent / "app.py"


def clean_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the studio's own errors into one clear line and exit code 1 (no traceback)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except NothingImportedError as error:
            _print_skipped(error.skipped)
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from None
        except CanvasCraftError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def _print_skipped(skipped: list[Skipped]) -> None:
    if skipped:
        typer.echo(f"skipped {len(skipped)} file(s):")
        for entry in skipped:
            typer.echo(f"  - {entry.name}: {entry.reason}")


@app.command("sample-data")
@clean_errors
def sample_data(
    out: Annotated[
        Path | None, typer.Option(help="Folder to write into (default: workspace/sample-data).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same bytes.")] = 0,
    do_import: Annotated[
        bool, typer.Option("--import", help="Also import them as sample-images, sample-audio, sample-table.")
    ] = False,
) -> None:
    """Write three small labelled sample datasets (images, audio, a table)."""
    from canvascraft.data.sample import write_sample_data
    from canvascraft.services.workspace import import_samples, prepare

    if do_import:
        if out is not None:
            raise typer.BadParameter(
                "--import writes into the workspace; leave out --out", param_hint="--out"
            )
        prepare(with_samples=False)
        for report in import_samples(seed=seed):
            typer.echo(f"imported {report.dataset} v{report.version}: {report.item_count} items")
        return
    for name, folder in write_sample_data(out or get_settings().sample_dir, seed=seed).items():
        typer.echo(f"{name}: {folder}")


@datasets_app.command("import")
@clean_errors
def datasets_import(
    path: Annotated[
        Path, typer.Argument(help="A folder (labels from sub-folders), a .zip, or one data file.")
    ],
    name: Annotated[str, typer.Option("--name", help="Dataset name; an existing name gets a new version.")],
    label_column: Annotated[str | None, typer.Option(help="Label column of a table dataset.")] = None,
    replace: Annotated[
        bool, typer.Option(help="The new version holds only these files (default: adds to the last version).")
    ] = False,
) -> None:
    """Import files into a new version of a dataset; bad files are skipped and listed."""
    from canvascraft.services.datasets import import_path
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
    report = import_path(path, name, label_column=label_column, replace=replace)
    typer.echo(
        f"imported {report.added} file(s) into {report.dataset} v{report.version} ({report.modality}): "
        f"{report.item_count} items in this version, {report.stored_new} new file(s) stored, "
        f"{report.deduplicated} already stored"
    )
    _print_skipped(report.skipped)


@datasets_app.command("list")
@clean_errors
def datasets_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List datasets with their latest version."""
    from canvascraft.services.datasets import list_datasets
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
    datasets = list_datasets()
    if as_json:
        rows = [
            {"name": d.name, "modality": d.modality, "latest_version": d.latest_version,
             "versions": d.version_count, "items": d.item_count, "labels": d.label_count,
             "created_at": d.created_at.isoformat()}
            for d in datasets
        ]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2))
        return
    if not datasets:
        typer.echo("no datasets yet: run `canvascraft sample-data --import` or `canvascraft datasets import`")
        return
    typer.echo(f"{'name':<24} {'modality':<8} {'version':>7} {'items':>7} {'labels':>6}")
    for d in datasets:
        typer.echo(f"{d.name:<24} {d.modality:<8} {d.latest_version:>7} {d.item_count:>7} {d.label_count:>6}")


@db_app.command("upgrade")
@clean_errors
def db_upgrade() -> None:
    """Apply database migrations (safe to run again)."""
    from canvascraft.store.migrate import upgrade

    get_settings().workspace.mkdir(parents=True, exist_ok=True)
    upgrade()
    typer.echo(f"database is up to date: {get_settings().db_url}")


def _read_recipe_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RecipeError([f"{path}: not a UTF-8 text file; save the recipe as UTF-8 YAML"]) from None
    except OSError as error:
        raise RecipeError([f"cannot read {path}: {error.strerror or error}"]) from None


def _report_recipe_errors(path: Path, error: RecipeError) -> NoReturn:
    """Every problem on its own line, prefixed with the file (editors and grep read this form)."""
    for problem in error.errors:
        typer.echo(f"{path}: {problem}", err=True)
    count = len(error.errors)
    typer.echo(f"error: {path} is not a valid recipe ({count} problem{'s' if count != 1 else ''})", err=True)
    raise typer.Exit(1)


@recipe_app.command("validate")
@clean_errors
def recipe_validate(file: Annotated[Path, typer.Argument(help="A recipe YAML file.")]) -> None:
    """Check a recipe file against the brushes; lists every problem with its place."""
    from canvascraft.recipe.io import from_yaml

    text = _read_recipe_file(file)
    try:
        recipe = from_yaml(text)
    except RecipeError as error:
        _report_recipe_errors(file, error)
    count = len(recipe.brushes)
    typer.echo(f"ok: {recipe.name} ({recipe.modality}, {count} brush{'es' if count != 1 else ''})")


@recipe_app.command("list")
@clean_errors
def recipe_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List recipes with their latest version."""
    from canvascraft.services.recipes import list_recipes
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
    recipes = list_recipes()
    if as_json:
        rows = [
            {"name": r.name, "modality": r.modality, "latest_version": r.version, "versions": r.version_count,
             "brushes": r.brush_count, "description": r.description, "created_at": r.created_at.isoformat()}
            for r in recipes
        ]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2))
        return
    if not recipes:
        typer.echo("no recipes yet: run `canvascraft recipe import FILE`")
        return
    typer.echo(f"{'name':<24} {'modality':<8} {'version':>7} {'versions':>8} {'brushes':>7}")
    for r in recipes:
        typer.echo(f"{r.name:<24} {r.modality:<8} {r.version:>7} {r.version_count:>8} {r.brush_count:>7}")


@recipe_app.command("import")
@clean_errors
def recipe_import(file: Annotated[Path, typer.Argument(help="A recipe YAML file.")]) -> None:
    """Save a recipe file; a changed recipe becomes a new version, an unchanged one is left as it is."""
    from canvascraft.services.recipes import import_recipe_text
    from canvascraft.services.workspace import prepare

    text = _read_recipe_file(file)
    prepare(with_samples=False)
    try:
        summary = import_recipe_text(text)
    except RecipeError as error:
        _report_recipe_errors(file, error)
    if summary.new_version:
        typer.echo(f"imported {summary.name} v{summary.version} ({summary.modality})")
    else:
        typer.echo(f"{summary.name} v{summary.version} is unchanged: the file matches the latest version")


@recipe_app.command("export")
@clean_errors
def recipe_export(
    name: Annotated[str, typer.Argument(help="Recipe name.")],
    version: Annotated[int | None, typer.Option(help="Version to export (default: the latest).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of printing.")] = None,
) -> None:
    """Print a recipe as YAML (or write it to a file), ready to share, edit and import again."""
    from canvascraft.services.recipes import export_recipe
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
    text = export_recipe(name, version)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise RecipeError([f"cannot write {out}: {error.strerror or error}"]) from None
    typer.echo(f"wrote {out}")


@recipe_app.command("preview")
@clean_errors
def recipe_preview(
    file: Annotated[Path, typer.Argument(help="A recipe YAML file.")],
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset whose items to preview on.")],
    out: Annotated[Path, typer.Option("--out", help="PNG file to write the before/after grid to.")],
    items: Annotated[int, typer.Option(min=1, max=32, help="How many items (rows).")] = 4,
    variants: Annotated[int, typer.Option(min=1, max=16, help="Augmented variants per item.")] = 4,
    seed: Annotated[int | None, typer.Option(help="Seed for the variants (default: the recipe's).")] = None,
) -> None:
    """Write a before/after grid: originals first, then variants (images, spectrograms or histograms)."""
    from canvascraft.recipe.io import from_yaml
    from canvascraft.services.brushes import preview_grid_png
    from canvascraft.services.workspace import prepare

    text = _read_recipe_file(file)
    try:
        recipe = from_yaml(text)
    except RecipeError as error:
        _report_recipe_errors(file, error)
    prepare(with_samples=False)
    png = preview_grid_png(recipe, dataset, count=items, n_variants=variants, seed=seed)
    try:
        out.write_bytes(png)
    except OSError as error:
        raise RecipeError([f"cannot write {out}: {error.strerror or error}"]) from None
    typer.echo(f"wrote {out} ({recipe.name} on {dataset})")


@recipe_app.command("schema")
@clean_errors
def recipe_schema(
    modality: Annotated[
        str | None, typer.Option(help="Only brushes of this modality (image, audio, table).")
    ] = None,
) -> None:
    """Print the recipe JSON Schema (every registered brush with its parameters and bounds)."""
    from canvascraft.recipe.schema import recipe_json_schema

    typer.echo(json.dumps(recipe_json_schema(_modality(modality)), indent=2))


@brushes_app.command("list")
@clean_errors
def brushes_list(
    modality: Annotated[
        str | None, typer.Option(help="Only brushes of this modality (image, audio, table).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON with every parameter.")] = False,
) -> None:
    """List the registered brushes with their parameters."""
    from canvascraft.brushes.registry import all_brushes
    from canvascraft.recipe.schema import param_schema

    brushes = sorted(all_brushes(_modality(modality)), key=lambda b: (b.modality, b.name))
    if as_json:
        rows = [
            {"name": b.name, "modality": b.modality, "summary": b.summary, "augments": b.augments,
             "params": {p.name: {"kind": p.kind, **param_schema(p)} for p in b.params}}
            for b in brushes
        ]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2))
        return
    for b in brushes:
        when = "training only" if b.augments else "always"
        typer.echo(f"{b.name:<22} {b.modality:<6} {when:<13} {b.summary}")
        for p in b.params:
            typer.echo(f"    {p.name:<18} {p.kind:<11} default {p.default!r}: {p.help}")


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
             "hyperparameters": {p.name: {"kind": p.kind, **param_schema(p)} for p in t.hyperparams}}
            for t in trainers
        ]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2))
        return
    for t in trainers:
        typer.echo(f"{t.name:<12} {t.modality:<6} {t.summary}")
        for p in t.hyperparams:
            typer.echo(f"    {p.name:<14} {p.kind:<6} default {p.default!r}: {p.help}")


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
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
    job_id = launch_training(
        dataset, recipe, trainer, epochs=epochs, max_items=max_items, pinned=pin or None, device=device
    )
    typer.echo(f"job {job_id} queued")
    _start_or_follow(job_id, wait)


def _start_or_follow(job_id: int, wait: bool) -> None:
    """Start the job now (it outlives this command), or follow it to its end with ``--wait``."""
    from canvascraft.services.jobs import tick, wait_for
    from canvascraft.training.progress import TrainingProgress

    if not wait:
        tick()
        typer.echo(f"follow it with `canvascraft jobs logs {job_id} --follow`")
        return
    shown = 0

    def show(job: Job) -> None:
        nonlocal shown
        progress = TrainingProgress.from_dict(job.progress)
        for row in progress.history[shown:] if progress else []:
            typer.echo(f"epoch {row['epoch']}/{progress.epochs}: val_accuracy {row['val_accuracy']:.4f} "
                       f"val_loss {row['val_loss']:.4f}")  # fmt: skip
        shown = len(progress.history) if progress else shown

    job = wait_for(job_id, on_progress=show)
    if job.state != "succeeded":
        typer.echo(job.error_tail or "", err=True)
        typer.echo(f"error: job {job_id} {job.state}; see `canvascraft jobs logs {job_id}`", err=True)
        raise typer.Exit(1)
    final = TrainingProgress.from_dict(job.progress)
    if final is None or not final.history:
        typer.echo(f"job {job_id} succeeded")
        return
    best = min(final.history, key=lambda row: row["val_loss"])
    typer.echo(f"job {job_id} succeeded: MLflow run {job.mlflow_run_id}, best epoch {best['epoch']}, "
               f"val_accuracy {best['val_accuracy']:.4f}, val_loss {best['val_loss']:.4f}")  # fmt: skip


def _job_row(job: Job) -> dict[str, object]:
    return {
        "id": job.id, "kind": job.kind, "state": job.state, "exit_code": job.exit_code, "signal": job.signal,
        "mlflow_run_id": job.mlflow_run_id, "resume_from": job.resume_from, "progress": job.progress,
        "created_at": job.created_at.isoformat() if job.created_at else None,
    }  # fmt: skip


@jobs_app.command("list")
@clean_errors
def jobs_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List jobs, newest first (the pool is ticked first, so finished jobs show as finished)."""
    from canvascraft.services.jobs import pool as job_pool
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
    pool = job_pool()
    pool.tick()
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
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
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
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
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
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
    new_id = resume_job(job_id)
    typer.echo(f"job {new_id} queued (resumes job {job_id})")
    _start_or_follow(new_id, wait)


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
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
    hyper = {"learning_rate": learning_rate} if learning_rate is not None else None
    new_id = fork_job(job_id, checkpoint=checkpoint, recipe=recipe, epochs=epochs, hyper=hyper)
    typer.echo(f"job {new_id} queued (starts from job {job_id}'s {checkpoint} checkpoint)")
    _start_or_follow(new_id, wait)


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
    metric: Annotated[str, typer.Option(help="val_accuracy, val_f1 (maximised) or val_loss (minimised).")] = (
        "val_accuracy"
    ),
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
    from canvascraft.services.workspace import prepare
    from canvascraft.tuning.space import parse_search

    prepare(with_samples=False)
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
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
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
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
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
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
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
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
    job_id = train_best(name, epochs)
    typer.echo(f"job {job_id} queued (the best settings of study {name})")
    _start_or_follow(job_id, wait)


@studies_app.command("dashboard")
@clean_errors
def studies_dashboard(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8080,
    host: Annotated[
        str, typer.Option(help="Interface to bind; 0.0.0.0 opens it, and its delete buttons, to the LAN.")
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


@runs_app.command("list")
@clean_errors
def runs_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Only runs on this dataset.")] = None,
    sort: Annotated[
        str | None, typer.Option("--sort", help="Order by this metric's final value, best first (val_loss).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many runs at most.")] = 100,
) -> None:
    """List training runs with their final metrics, newest first or by a metric."""
    from canvascraft.gallery.runs import RunFilter, lower_is_better, search_runs

    descending = not (sort and lower_is_better(sort))
    page = search_runs(RunFilter(dataset=dataset), sort_metric=sort, descending=descending, page_size=limit)
    runs = [
        {
            "run_id": c.run_id, "name": c.name, "status": c.status, "job_id": c.job_id and str(c.job_id),
            "dataset": c.dataset, "recipe": c.recipe, "recipe_version": c.recipe_version,
            "trainer": c.trainer, "metrics": c.metrics,
        }
        for c in page.cards
    ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(runs, indent=2))
        return
    if not runs:
        typer.echo("no runs match" if dataset else "no runs yet: start one with `canvascraft train`")
        return
    shown_metric = sort or "val_accuracy"
    heading = shown_metric if len(shown_metric) <= 12 else shown_metric[:11] + "…"
    typer.echo(f"{'run id':<32} {'status':<9} {'dataset':<16} {'recipe':<16} {'trainer':<10} {heading:>12}")
    for r in runs:
        value = r["metrics"].get(shown_metric)
        shown = "" if value is None else f"{value:.4f}"
        typer.echo(f"{r['run_id']:<32} {r['status']:<9} {r['dataset'] or '':<16} {r['recipe'] or '':<16} "
                   f"{r['trainer'] or '':<10} {shown:>12}")  # fmt: skip


@runs_app.command("compare")
@clean_errors
def runs_compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids (see `canvascraft runs list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare runs: final and best metrics, the parameters that differ, and the recipe changes."""
    from dataclasses import asdict

    from canvascraft.gallery.compare import compare_runs
    from canvascraft.gallery.runs import best_of

    comparison = compare_runs(run_ids)
    metrics = {
        key: {
            run_id: {"final": history[-1][1], "best": (best := best_of(key, history)) and best.value,
                     "best_epoch": best and best.step, "epochs": len(history)}
            for run_id, history in per_run.items() if history
        }
        for key, per_run in comparison.curves.items()
    }  # fmt: skip
    if as_json:
        payload = {
            "runs": [{"run_id": c.run_id, "name": c.name, "status": c.status, "dataset": c.dataset,
                      "recipe": c.recipe, "trainer": c.trainer} for c in comparison.runs],
            "metrics": metrics,
            "params": [asdict(row) for row in comparison.params],
            "recipe_diff": [asdict(change) for change in comparison.recipe_diff],
        }  # fmt: skip
        typer.echo(json.dumps(payload, indent=2, default=str))
        return
    names = {c.run_id: c.name for c in comparison.runs}
    for card in comparison.runs:
        typer.echo(f"{card.run_id}  {card.name}  ({card.status})")
    typer.echo("\nmetrics (final / best @ epoch):")
    for key, per_run in metrics.items():
        cells = ", ".join(f"{names[r]} {m['final']:.4f} / {m['best']:.4f} @ {m['best_epoch']}"
                          for r, m in per_run.items() if m["best"] is not None)  # fmt: skip
        typer.echo(f"  {key}: {cells}")
    differing = comparison.differing_params
    typer.echo(f"\nparameters that differ ({len(differing)} of {len(comparison.params)}):")
    for row in differing:
        typer.echo(f"  {row.key}: " + ", ".join(f"{names[r]}={v}" for r, v in row.values.items()))
    typer.echo(f"\nrecipe changes ({len(comparison.recipe_diff)}):")
    for change in comparison.recipe_diff:
        typer.echo(f"  {change.describe(names)}")


@app.command("mlflow-ui")
@clean_errors
def mlflow_ui(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 5000,
    host: Annotated[str, typer.Option(help="Interface to bind: loopback only.")] = "127.0.0.1",
) -> None:
    """Open the training runs in MLflow's own UI, read-only (same database and artifacts); Ctrl+C stops it."""
    from canvascraft.tracking.runs import ensure_experiment
    from canvascraft.tracking.ui import run_ui, ui_url
    from canvascraft.tracking.ui_server import check_host

    check_host(host)
    typer.echo(f"MLflow UI for {get_settings().workspace}: {ui_url(host, port)}  (Ctrl+C stops it)")
    ensure_experiment()  # creates the store on a fresh workspace, so the UI opens on the studio's runs
    raise typer.Exit(run_ui(host, port))


def _modality(value: str | None) -> Modality | None:
    from canvascraft.recipe.spec import MODALITIES

    if value is not None and value not in MODALITIES:
        raise RecipeError([f"--modality must be one of {', '.join(MODALITIES)}, got {value!r}"])
    return value  # type: ignore[return-value]


link_app = typer.Typer(
    help="Print share links to gallery views (ids only, never paths).", no_args_is_help=True
)
app.add_typer(link_app, name="link")


def _print_link(state: Any) -> None:
    from canvascraft.share.links import link

    typer.echo(link(get_settings().studio_url, state))


@link_app.command("run")
@clean_errors
def link_run(run_id: Annotated[str, typer.Argument(help="MLflow run id.")]) -> None:
    """The link of one run's gallery page."""
    from canvascraft.gallery.runs import check_run_id
    from canvascraft.share.links import GalleryState

    _print_link(GalleryState(view="run", run=check_run_id(run_id)))


@link_app.command("compare")
@clean_errors
def link_compare(run_ids: Annotated[list[str], typer.Argument(help="Two or more MLflow run ids.")]) -> None:
    """The link of a comparison of runs."""
    from canvascraft.errors import GalleryError
    from canvascraft.gallery.runs import check_run_id
    from canvascraft.share.links import GalleryState

    if len(run_ids) < 2:
        raise GalleryError("a comparison needs at least two run ids")
    _print_link(GalleryState(view="compare", runs=tuple(check_run_id(r) for r in run_ids)))


@link_app.command("model")
@clean_errors
def link_model(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[str | None, typer.Option(help="A version number or an alias.")] = None,
) -> None:
    """The link of a registered model's page."""
    from canvascraft.errors import GalleryError
    from canvascraft.share.links import parse

    state = parse({"view": "models", "model": name, "version": version or ""})
    if state.problems:
        raise GalleryError("; ".join(state.problems))
    _print_link(state)


@app.command("init")
@clean_errors
def init(
    sample_runs: Annotated[
        bool,
        typer.Option(help="On a workspace without jobs, queue one short training run per sample dataset."),
    ] = True,
) -> None:
    """Prepare the workspace: migrations, the sample data when it holds no dataset yet, sample runs."""
    from canvascraft.services.workspace import prepare, queue_sample_runs

    reports = prepare()
    for report in reports:
        typer.echo(f"imported {report.dataset} v{report.version}: {report.item_count} items")
    if sample_runs and (queued := queue_sample_runs()):
        typer.echo(
            f"queued sample training jobs {', '.join(map(str, queued))}: the studio runs them one by one"
        )
    typer.echo(f"workspace ready: {get_settings().workspace}")


@app.command("studio")
@clean_errors
def studio(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    headless: Annotated[bool, typer.Option(help="Do not open a browser.")] = True,
) -> None:
    """Start the studio (Streamlit) at http://localhost:PORT."""
    from canvascraft.services.workspace import prepare

    prepare()
    settings = get_settings()
    command = [
        sys.executable, "-m", "components.launcher", "run", str(APP_FILE),
        f"--server.port={port}", f"--server.headless={str(headless).lower()}",
        f"--server.maxUploadSize={settings.max_upload_mb}",
    ]  # fmt: skip
    env = {**os.environ, "CANVASCRAFT_WORKSPACE": str(settings.workspace)}
    raise typer.Exit(subprocess.call(command, cwd=APP_FILE.parent, env=env))


# --- Models: the registry, predictions and serving (canvascraft.gallery) ------------------------------

models_app = typer.Typer(
    help="Registered models: register runs, list versions, move aliases.", no_args_is_help=True
)
app.add_typer(models_app, name="models")


@models_app.command("register")
@clean_errors
def models_register(
    run_id: Annotated[str, typer.Argument(help="The training run whose model to register.")],
    name: Annotated[str, typer.Option("--name", help="Registered model name.")],
    alias: Annotated[str | None, typer.Option("--alias", help="Point this alias at the new version.")] = None,
) -> None:
    """Register a run's model as a new version of a named model."""
    from canvascraft.gallery.registry import register

    info = register(run_id, name, alias)
    shown = f" ({', '.join('@' + a for a in info.aliases)})" if info.aliases else ""
    typer.echo(f"registered {info.ref}{shown} from run {run_id}")


@models_app.command("list")
@clean_errors
def models_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List registered models with their version count and aliases."""
    from dataclasses import asdict

    from canvascraft.gallery.registry import list_models

    models = list_models()
    if as_json:
        typer.echo(json.dumps([asdict(m) for m in models], indent=2))
        return
    if not models:
        typer.echo("no registered models yet: `canvascraft models register RUN_ID --name NAME`")
        return
    typer.echo(f"{'name':<24} {'versions':>8} {'latest':>6}  aliases")
    for m in models:
        aliases = ", ".join(f"{a}→{v}" for a, v in m.aliases.items())
        typer.echo(f"{m.name:<24} {m.versions:>8} {m.latest or '':>6}  {aliases}")


@models_app.command("alias")
@clean_errors
def models_alias(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    alias: Annotated[str, typer.Argument(help="Alias to set or move, e.g. champion.")],
    version: Annotated[int, typer.Argument(help="Version the alias points at.")],
) -> None:
    """Point ALIAS of model NAME at VERSION (moving it if it pointed elsewhere)."""
    from canvascraft.gallery.registry import set_alias

    set_alias(name, alias, version)
    typer.echo(f"{name}@{alias} → version {version}")


@app.command("predict")
@clean_errors
def predict_command(
    model: Annotated[str, typer.Argument(help="MODEL@ALIAS or MODEL/VERSION.")],
    files: Annotated[list[Path], typer.Argument(help="Files (or folders) to predict.")],
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Also write the predictions as CSV.")] = None,
) -> None:
    """Predict files with a registered model, through its run's recipe."""
    from canvascraft.gallery.predict import Predictor, folder_files, predictions_csv
    from canvascraft.services.drift import capture_try

    predictor = Predictor.from_ref(model)
    paths = [p for f in files for p in (folder_files(f) if f.is_dir() else [f])]
    table = predictor.predict_folder(paths)
    capture_try(model, [(path.name, path.read_bytes()) for path in paths if path.is_file()])
    for row in table.itertuples(index=False):
        if row.error:
            typer.echo(f"{row.file}: error: {row.error}")
        else:
            typer.echo(f"{row.file}: {row.predicted} ({row.probability:.3f})")
    if csv_out is not None:
        csv_out.write_bytes(predictions_csv(table))
        typer.echo(f"wrote {len(table)} prediction(s) to {csv_out}")
    if (table["error"] != "").any():
        raise typer.Exit(1)


@app.command("serve")
@clean_errors
def serve(
    model: Annotated[str, typer.Argument(help="MODEL@ALIAS or MODEL/VERSION.")],
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 5001,
    host: Annotated[str, typer.Option(help="Interface to bind; 0.0.0.0 opens it to the LAN.")] = "127.0.0.1",
) -> None:
    """Serve a model as an HTTP scoring endpoint (MLflow's model server; POST /invocations)."""
    from canvascraft.gallery.serve import serve_command, serve_env
    from canvascraft.tracking.ui import ui_url

    command = serve_command(model, host, port)
    typer.echo(f"serving {model} at {ui_url(host, port)}/invocations  (Ctrl+C stops it)")
    raise typer.Exit(subprocess.call(command, env=serve_env()))


# --- Drift: is a model's current data still like its training data? (canvascraft.drift) ----------------

drift_app = typer.Typer(help="Check a model's current data against its training data.", no_args_is_help=True)
app.add_typer(drift_app, name="drift")


def _print_check(detail: Any, link_url: str) -> None:
    from canvascraft.services.drift import check_link

    check = detail.summary
    if check.state != "done":
        typer.echo(f"check {check.id}: {check.verdict} ({check.current})" +
                   (f": {check.error}" if check.error else ""))  # fmt: skip
        return
    verdict = "DRIFT" if check.drifted else "no drift"
    typer.echo(
        f"{verdict}: {check.model_ref} (version {check.model_version}, run {check.run_id}) on "
        f"{check.current}: {check.n_current} current vs {check.n_reference} reference item(s)"
    )

    for point in detail.metrics:
        if point.drifted:
            p_value = f" (p={point.p_value:.2g})" if point.p_value is not None else ""
            value = f"{point.value:.3g}" if point.value is not None else "n/a"
            typer.echo(f"  drifted: {point.feature}: {point.metric} {value}{p_value}")
    for sentence in check.sentences:
        typer.echo(f"  - {sentence}")
    _print_skipped([Skipped(name, reason) for name, reason in detail.skipped])
    typer.echo(f"check {check.id}: {link_url or check_link(check)}")


def _write_report(check_id: int, out: Path) -> None:
    from canvascraft.drift.report import report_html
    from canvascraft.services.drift import check_series, get_check

    detail = get_check(check_id)
    out.write_text(report_html(detail, check_series(detail.summary.model_name)), encoding="utf-8")
    typer.echo(f"report: {out}")


@drift_app.command("check")
@clean_errors
def drift_check(
    model: Annotated[str, typer.Argument(help="MODEL@ALIAS or MODEL/VERSION.")],
    current: Annotated[
        str, typer.Option("--current", help="A folder of files, or a dataset name (latest version).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write the check as one standalone HTML file.")
    ] = None,
) -> None:
    """Compare current data with the model's training data and store the check; exits 0 whether or not
    drift is found."""
    from canvascraft.services.drift import check_once

    detail = check_once(model, current)
    if as_json:
        typer.echo(_check_json(detail))
    else:
        _print_check(detail, "")
    if report is not None:
        _write_report(detail.summary.id, report)


def _check_json(detail: Any) -> str:
    from dataclasses import asdict

    from canvascraft.drift.checks import jsonable

    check = detail.summary
    payload = {
        **asdict(check),
        "verdict": check.verdict,
        "metrics": [asdict(point) for point in detail.metrics],
        "skipped": [{"name": name, "reason": reason} for name, reason in detail.skipped],
        "farthest": [{"name": item.name, "score": item.score} for item in detail.farthest],
    }
    return json.dumps(jsonable(payload), indent=2, ensure_ascii=False, default=str)


def _thresholds(values: list[str] | None) -> dict[str, float] | None:
    if not values:
        return None
    out: dict[str, float] = {}
    for value in values:
        name, _, number = value.partition("=")
        try:
            out[name.strip()] = float(number)
        except ValueError:
            raise DriftError(f"--threshold {value!r} is not NAME=NUMBER, e.g. psi=0.3") from None
    return out


@drift_app.command("schedule")
@clean_errors
def drift_schedule(
    model: Annotated[str, typer.Argument(help="MODEL@ALIAS (or MODEL/VERSION) to watch.")],
    every: Annotated[str | None, typer.Option("--every", help="Interval: 90s, 15min, 1h, 1d.")] = None,
    cron: Annotated[str | None, typer.Option("--cron", help='Crontab line, e.g. "0 * * * *".')] = None,
    source: Annotated[
        str,
        typer.Option("--source", help="folder (the watched folder), sent (files sent to Try) or dataset."),
    ] = "folder",
    dataset: Annotated[str, typer.Option("--dataset", help="The dataset, with --source dataset.")] = "",
    threshold: Annotated[
        list[str] | None, typer.Option("--threshold", help="A metric's limit for this model: psi=0.3.")
    ] = None,
) -> None:
    """Watch a model: check it on a schedule (or only by hand, with neither --every nor --cron).
    Running it again changes the schedule; the studio runs the checks."""
    from canvascraft.gallery.registry import parse_ref
    from canvascraft.services.drift import get_monitor, save_monitor

    name, alias, version = parse_ref(model)
    limits = _thresholds(threshold)
    if limits is None:
        try:
            limits = get_monitor(name).custom_thresholds
        except DriftError:
            limits = None
    monitor = save_monitor(
        name, alias=alias or str(version), source_kind=source, source=dataset, every=every, cron=cron,
        thresholds=limits,
    )  # fmt: skip
    typer.echo(f"watching {monitor.ref}: {monitor.schedule_label}, on {monitor.source_label}")
    if monitor.source_kind == "folder":
        typer.echo(f"drop new files into {monitor.folder}")
    if monitor.next_run is not None:
        typer.echo(f"next check: {monitor.next_run:%Y-%m-%d %H:%M:%S} UTC")


@drift_app.command("list")
@clean_errors
def drift_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Watched models with their schedule, next check and latest verdict."""
    from canvascraft.services.drift import list_checks, list_monitors

    rows = []
    for monitor in list_monitors():
        latest = next(iter(list_checks(monitor.model_name, limit=1)), None)
        when = f"{latest.created_at:%Y-%m-%d %H:%M}" if latest else ""
        rows.append({
            "model": monitor.ref,
            "schedule": monitor.schedule_label,
            "next_check": monitor.next_run.isoformat() if monitor.next_run else None,
            "data": monitor.source_label,
            "latest": f"{latest.verdict} (check {latest.id}, {when})" if latest else "",
        })  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no model is watched; start with `canvascraft drift schedule MODEL@ALIAS --every 1h`")
        return
    for row in rows:
        typer.echo(f"{row['model']}: {row['schedule']}; next {row['next_check'] or '-'}; {row['data']}; "
                   f"latest: {row['latest'] or 'none yet'}")  # fmt: skip


@drift_app.command("pause")
@clean_errors
def drift_pause(model: Annotated[str, typer.Argument(help="The watched model's name.")]) -> None:
    """Pause a model's schedule (its settings and checks stay)."""
    from canvascraft.services.drift import set_paused

    typer.echo(f"{model}: {set_paused(model, True).schedule_label}")


@drift_app.command("resume")
@clean_errors
def drift_resume(model: Annotated[str, typer.Argument(help="The watched model's name.")]) -> None:
    """Resume a paused schedule."""
    from canvascraft.services.drift import set_paused

    typer.echo(f"{model}: {set_paused(model, False).schedule_label}")


@drift_app.command("unwatch")
@clean_errors
def drift_unwatch(model: Annotated[str, typer.Argument(help="The watched model's name.")]) -> None:
    """Stop watching a model: its schedule is removed, its past checks stay."""
    from canvascraft.services.drift import remove_monitor

    remove_monitor(model)
    typer.echo(f"{model} is no longer watched")


@drift_app.command("run")
@clean_errors
def drift_run(
    model: Annotated[str, typer.Argument(help="The watched model's name.")],
    report: Annotated[Path | None, typer.Option("--report", help="Also write the HTML report.")] = None,
) -> None:
    """Check a watched model now, on its own data source (the watched folder's new files, ...)."""
    from canvascraft.services.drift import run_check_now

    detail = run_check_now(model)
    if detail.summary.state == "failed":
        raise DriftError(detail.summary.error or "the check failed")
    _print_check(detail, "")
    if report is not None and detail.summary.state == "done":
        _write_report(detail.summary.id, report)


@drift_app.command("report")
@clean_errors
def drift_report(
    check_id: Annotated[int, typer.Argument(help="A check id (`canvascraft drift list` shows the latest).")],
    out: Annotated[Path, typer.Argument(help="The HTML file to write.")],
) -> None:
    """Write a stored check as one standalone HTML file (opens offline)."""
    _write_report(check_id, out)


# --- Alerts: who hears about drift and training, and the alert log (canvascraft.events) -----------------

alerts_app = typer.Typer(help="Alerts: settings per model, the alert log, deliveries.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


def _print_alert_settings(view: Any) -> None:
    typer.echo(f"alert settings for {view.model_name or 'studio'}" + ("" if view.saved else " (defaults)"))
    webhook = view.webhook_url or "(none)"
    typer.echo(
        f"  webhook:      {webhook}" + (" (Slack format)" if view.webhook_url and view.slack_format else "")
    )
    typer.echo(f"  email:        {', '.join(view.emails) or '(none)'}")
    typer.echo(f"  events:       {', '.join(view.events) or '(none)'}")
    retrain = "on, asks before switching" if view.ask_first else "on, switches when better"
    typer.echo(f"  auto-retrain: {retrain if view.auto_retrain else 'off'}")
    typer.echo(f"  cool-down:    {view.cooldown_s} s")


@alerts_app.command("list")
@clean_errors
def alerts_list(
    model: Annotated[
        str | None, typer.Option("--model", help="Only this model's alerts ('studio': none).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The alert log, newest first, with each delivery's state."""
    from canvascraft.services.alerts import list_alerts
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
    alerts = list_alerts(model, limit)
    if as_json:
        typer.echo(json.dumps([alert.to_dict() for alert in alerts], indent=2))
        return
    if not alerts:
        typer.echo("no alerts yet")
        return
    for alert in alerts:
        seen = " (acknowledged)" if alert.acknowledged else ""
        typer.echo(
            f"#{alert.id} {alert.created_at:%Y-%m-%d %H:%M:%S} [{alert.model_label}] {alert.title}{seen}"
        )
        for delivery in alert.deliveries:
            typer.echo(f"    {delivery.channel} {delivery.target}: {delivery.describe()}")


@alerts_app.command("settings")
@clean_errors
def alerts_settings(
    model: Annotated[str, typer.Argument(help="The registered model ('studio': runs with no model).")],
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="http(s) URL to POST alerts to; '' removes it.")
    ] = None,
    slack: Annotated[bool | None, typer.Option("--slack/--no-slack", help="Post Slack's format.")] = None,
    email: Annotated[list[str] | None, typer.Option("--email", help="A recipient; repeat for more.")] = None,
    no_email: Annotated[bool, typer.Option("--no-email", help="Remove every email recipient.")] = False,
    events: Annotated[
        str | None, typer.Option("--events", help="Comma-separated, e.g. drift_detected,training_failed.")
    ] = None,
    auto_retrain: Annotated[
        bool | None, typer.Option("--auto-retrain/--no-auto-retrain", help="Retrain the model on drift.")
    ] = None,
    ask_first: Annotated[
        bool | None, typer.Option("--ask-first/--no-ask-first", help="Approve before the alias moves.")
    ] = None,
    cooldown: Annotated[
        str | None, typer.Option("--cooldown", help="Least time between retrains: 90s, 15m, 1h, 1d.")
    ] = None,
) -> None:
    """Show a model's alert settings or change them (options not given keep their value)."""
    from canvascraft.services.alerts import get_alert_settings, parse_duration, save_alert_settings
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
    key = "" if model == "studio" else model
    current = get_alert_settings(key)
    given = (webhook, slack, email, events, auto_retrain, ask_first, cooldown)
    if all(value is None for value in given) and not no_email:
        _print_alert_settings(current)
        return
    saved = save_alert_settings(
        key,
        webhook_url=current.webhook_url if webhook is None else webhook,
        slack_format=current.slack_format if slack is None else slack,
        emails=() if no_email else (current.emails if email is None else email),
        events=current.events if events is None else events.split(","),
        auto_retrain=current.auto_retrain if auto_retrain is None else auto_retrain,
        ask_first=current.ask_first if ask_first is None else ask_first,
        cooldown_s=current.cooldown_s if cooldown is None else parse_duration(cooldown),
    )
    typer.echo("saved")
    _print_alert_settings(saved)


@alerts_app.command("ack")
@clean_errors
def alerts_ack(
    alert_id: Annotated[int, typer.Argument(help="The alert's id (alerts list shows it).")],
) -> None:
    """Acknowledge an alert: it is marked as seen (its deliveries go on)."""
    from canvascraft.services.alerts import acknowledge
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
    alert = acknowledge(alert_id)
    typer.echo(f"acknowledged alert #{alert.id}: {alert.title}")


@alerts_app.command("deliver")
@clean_errors
def alerts_deliver() -> None:
    """Send every alert delivery whose next try has come, now (the studio does this every few seconds)."""
    from canvascraft.services.alerts import deliver_due, list_alerts
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
    delivered = deliver_due()
    waiting = sum(
        1 for a in list_alerts(limit=1000) for d in a.deliveries if d.state in ("pending", "retrying")
    )
    typer.echo(f"delivered {delivered}; {waiting} still waiting for a retry")


RETRAIN_ACTIONS = ("list", "approve", "reject")


@app.command("retrain")
@clean_errors
def retrain_command(
    target: Annotated[
        str,
        typer.Argument(help="MODEL@ALIAS to retrain, or one of: list, approve, reject.", show_default=False),
    ],
    value: Annotated[
        str | None, typer.Argument(help="The retrain id (approve, reject) or a model name (list).")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Train here, then print the comparison and what was decided.")
    ] = False,
    reason: Annotated[str, typer.Option(help="Why, kept with the retrain.")] = "requested by hand",
) -> None:
    """Retrain a model on its dataset's latest version, as auto-retrain does after drift.

    `canvascraft retrain shapes@champion` trains with the recipe, trainer and settings of the version the
    alias points at, registers the result as a new version and compares both on the same validation
    items: the alias moves only when the new version is more accurate, or, when the model's alerts are
    set to ask first, the retrain waits for `canvascraft retrain approve ID` or `reject ID` (or the Drift
    page). `canvascraft retrain list [MODEL]` lists retrains with their state."""
    from canvascraft.services import retrain as retrains
    from canvascraft.services.workspace import prepare

    prepare(with_samples=False)
    if target in RETRAIN_ACTIONS:
        if target == "list":
            for view in retrains.list_retrains(value):
                typer.echo(
                    f"#{view.id} {view.ref} v{view.base_version} → {_retrain_candidate(view)}: {view.words}"
                )
            return
        if value is None or not value.isdigit():
            raise retrains.RetrainError(f"give the retrain's id: canvascraft retrain {target} ID")
        decided = retrains.approve(int(value)) if target == "approve" else retrains.reject(int(value))
        typer.echo(f"retrain #{decided.id} of {decided.ref}: {decided.words}")
        return
    if value is not None:
        raise retrains.RetrainError(f"unexpected {value!r}; write canvascraft retrain MODEL@ALIAS [--wait]")
    retrain_id = retrains.request_retrain(target, reason, trigger="manual")
    assert retrain_id is not None  # only a drift-triggered request is skipped
    view = retrains.get_retrain(retrain_id)
    typer.echo(f"retrain #{view.id} of {view.ref} (version {view.base_version}): training job {view.job_id}")
    if not wait:
        typer.echo(
            f"follow it with `canvascraft jobs logs {view.job_id}`; "
            "`canvascraft retrain list` shows the result"
        )
        return
    view = retrains.wait_for_retrain(retrain_id)
    if view.base_metric is not None and view.candidate_metric is not None:
        typer.echo(
            f"{view.metric} on the same {view.n_items} validation items: version {view.base_version} "
            f"{view.base_metric:.3f}, version {view.candidate_version} {view.candidate_metric:.3f}"
        )
    typer.echo(f"retrain #{view.id}: {view.words}")
    if view.pending:
        typer.echo(
            f"approve with `canvascraft retrain approve {view.id}` or reject with `... reject {view.id}`"
        )
    if view.state == retrains.FAILED:
        raise typer.Exit(1)


def _retrain_candidate(view: Any) -> str:
    return f"v{view.candidate_version}" if view.candidate_version is not None else "(no candidate yet)"


if __name__ == "__main__":
    app()
