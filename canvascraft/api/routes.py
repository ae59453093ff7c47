"""``/api/v1``: one endpoint per service action, no logic of its own.

Each handler checks the token's scope (``READ``, ``TRAIN``, ``ADMIN``), calls the service the pages
and the CLI call, and returns its plain data as JSON. Long work (training, a study, a drift check)
answers 202 with the id to follow at once. Handlers are plain ``def``: FastAPI runs them in a worker
thread, so a slow service never blocks the server's event loop (and the pages it serves).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from canvascraft.api.access import ADMIN, READ, TRAIN
from canvascraft.errors import RecipeError, UploadTooLarge
from canvascraft.services import alerts as alert_service
from canvascraft.services import datasets as dataset_service
from canvascraft.services import drift as drift_service
from canvascraft.services import gallery as gallery_service
from canvascraft.services import jobs as job_service
from canvascraft.services import recipes as recipe_service
from canvascraft.services import tokens as token_service
from canvascraft.services import tuning as tuning_service
from canvascraft.services.brushes import check_recipe
from canvascraft.services.workspace import upload_limit_mb

router = APIRouter()


def plain(value: Any) -> Any:
    """A service's dataclasses (and anything inside them) as JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return jsonable_encoder(value, custom_encoder={datetime: datetime.isoformat})


class Body(BaseModel):
    """Request bodies refuse fields they do not know, so a typo is a 400, not a silent default."""

    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------------------------------ datasets


@router.get("/datasets", tags=["datasets"], dependencies=[READ])
def list_datasets() -> list[dict[str, Any]]:
    """Every dataset with its latest version and counts."""
    return plain(dataset_service.list_datasets())


@router.get("/datasets/{name}/versions", tags=["datasets"], dependencies=[READ])
def list_versions(name: str) -> list[dict[str, Any]]:
    """A dataset's versions, each with where it came from and how many items it holds."""
    return plain(dataset_service.list_versions(name))


def _read_uploads(files: list[UploadFile]) -> list[tuple[str, bytes]]:
    limit = upload_limit_mb() * 1024 * 1024
    read: list[tuple[str, bytes]] = []
    total = 0
    for upload in files:
        data = upload.file.read(limit - total + 1)
        total += len(data)
        if total > limit:
            raise UploadTooLarge(
                f"the upload is over the studio's limit of {upload_limit_mb()} MB; send fewer files"
            )
        read.append((upload.filename or "upload", data))
    return read


@router.post("/datasets/{name}/versions", tags=["datasets"], status_code=201, dependencies=[TRAIN])
def import_upload(
    name: str,
    files: Annotated[list[UploadFile], File(description="Files, zips or a CSV/Parquet table.")],
    label: Annotated[str | None, Form(description="The label of loose files (zips bring folders).")] = None,
    label_column: Annotated[str | None, Form(description="A table's label column.")] = None,
    replace: Annotated[bool, Form(description="The new version holds only these files.")] = False,
    licence: Annotated[str | None, Form()] = None,
    source: Annotated[str | None, Form()] = None,
    consent: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    """Import uploaded files as a new version of ``name`` (created when missing), as the Data page does."""
    report = dataset_service.import_uploads(
        _read_uploads(files), name, label=label, label_column=label_column, replace=replace,
        licence=licence, source=source, consent=consent,
    )  # fmt: skip
    return plain(report)


# ------------------------------------------------------------------------------------------- recipes


@router.get("/recipes", tags=["recipes"], dependencies=[READ])
def list_recipes() -> list[dict[str, Any]]:
    return plain(recipe_service.list_recipes())


@router.get("/recipes/{name}", tags=["recipes"], dependencies=[READ])
def get_recipe(name: str, version: int | None = None) -> dict[str, Any]:
    """A saved recipe (its latest version unless ``version`` is given), as it was saved."""
    return recipe_service.load_recipe(name, version).model_dump(mode="json")


@router.post("/recipes/validate", tags=["recipes"], dependencies=[READ])
def validate_recipe(recipe: dict[str, Any]) -> dict[str, Any]:
    """Check a recipe without saving it: 200 with the checked recipe, or 400 naming every problem."""
    checked, problems = check_recipe(recipe)
    if checked is None:
        raise RecipeError(problems)
    return {"valid": True, "recipe": checked.model_dump(mode="json")}


# ---------------------------------------------------------------------------------------------- jobs


class TrainingLaunch(Body):
    kind: Literal["train"] = "train"
    dataset: str
    recipe: str
    trainer: str
    epochs: int | None = Field(default=None, ge=1)
    hyper: dict[str, Any] | None = None
    val_fraction: float = 0.2
    seed: int = 0
    max_items: int | None = Field(default=None, ge=1)
    device: str = "auto"
    recipe_version: int | None = None
    register_as: str | None = None


class StudyLaunch(Body):
    kind: Literal["study"]
    dataset: str
    recipe: str
    trainer: str
    trials: int = 6
    parallel: int = 2
    sampler: str = "tpe"
    metric: str | None = None
    epochs: int | None = Field(default=None, ge=1)
    hyper: dict[str, Any] | None = None
    max_items: int | None = Field(default=None, ge=1)
    name: str | None = None
    seed: int = 0


def _launch_kind(value: Any) -> str:
    kind = value.get("kind", "train") if isinstance(value, dict) else getattr(value, "kind", "train")
    return kind if kind in ("train", "study") else "train"


Launch = Annotated[
    Annotated[TrainingLaunch, Tag("train")] | Annotated[StudyLaunch, Tag("study")],
    Discriminator(_launch_kind),
]
"""A training run unless ``kind`` is ``study`` (an unknown kind fails as a training body would)."""


def job_view(job: Any, *, log_tail: int | None = None) -> dict[str, Any]:
    """A job row as the API shows it: what it runs, its state, progress and, once ended, why."""
    spec = job.spec or {}
    progress = job.progress or None
    view: dict[str, Any] = {
        "id": job.id,
        "kind": job.kind,
        "group": job_service.job_group(job),
        "state": job.state,
        "dataset": spec.get("dataset"),
        "recipe": spec.get("recipe"),
        "trainer": spec.get("trainer"),
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "mlflow_run_id": job.mlflow_run_id,
        "resume_from": job.resume_from,
        "ending": job_service.explain_ending(job),
        "progress": None,
    }
    if progress and job.kind == "train":
        shown = job_service.TrainingProgress.from_dict(progress)
        if shown is not None:
            view["progress"] = {
                "phase": shown.phase, "epoch": shown.epoch, "epochs": shown.epochs, "step": shown.step,
                "steps": shown.steps, "elapsed_s": shown.elapsed_s, "device": shown.device,
                "history": shown.history, "stop_reason": shown.stop_reason,
            }  # fmt: skip
    elif progress:
        view["progress"] = progress
    return plain(view)


@router.get("/jobs", tags=["jobs"], dependencies=[READ])
def list_jobs(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """Jobs of every kind, newest first."""
    return [job_view(job) for job in job_service.list_jobs(limit=limit)]


@router.post("/jobs", tags=["jobs"], status_code=202, dependencies=[TRAIN])
def launch(launch: Launch) -> dict[str, Any]:
    """Queue a training run (``kind: train``, the default) or a tuning study (``kind: study``); answers
    at once with the job id to follow at ``/api/v1/jobs/{id}``."""
    if isinstance(launch, StudyLaunch):
        study, job_id = tuning_service.start_study(
            launch.dataset, launch.recipe, launch.trainer, trials=launch.trials, parallel=launch.parallel,
            sampler=launch.sampler, metric=launch.metric, epochs=launch.epochs, hyper=launch.hyper,
            max_items=launch.max_items, name=launch.name, seed=launch.seed,
        )  # fmt: skip
        return {"job_id": job_id, "study": study, "follow": f"/api/v1/jobs/{job_id}"}
    job_id = job_service.launch_training(
        launch.dataset, launch.recipe, launch.trainer, epochs=launch.epochs, hyper=launch.hyper,
        val_fraction=launch.val_fraction, seed=launch.seed, max_items=launch.max_items,
        device=launch.device, recipe_version=launch.recipe_version, register_as=launch.register_as,
    )  # fmt: skip
    return {"job_id": job_id, "follow": f"/api/v1/jobs/{job_id}"}


@router.get("/jobs/{job_id}", tags=["jobs"], dependencies=[READ])
def get_job(job_id: int) -> dict[str, Any]:
    """A job with its progress (epochs done, each epoch's figures) and, once ended, why it ended."""
    return job_view(job_service.get_job(job_id))


@router.get("/jobs/{job_id}/logs", tags=["jobs"], dependencies=[READ])
def job_logs(job_id: int, tail: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
    """The job's output so far ('' before it starts); ``tail`` keeps the last lines."""
    return {"job_id": job_id, "log": job_service.job_log(job_id, tail)}


@router.post("/jobs/{job_id}/cancel", tags=["jobs"], status_code=202, dependencies=[TRAIN])
def cancel_job(job_id: int) -> dict[str, Any]:
    """Cancel a queued job at once, or ask a running one to stop."""
    job_service.cancel_job(job_id)
    return job_view(job_service.get_job(job_id))


@router.post("/jobs/{job_id}/resume", tags=["jobs"], status_code=202, dependencies=[TRAIN])
def resume_job(job_id: int) -> dict[str, Any]:
    """Queue a new job that continues an ended one from its last checkpoint; 409 while it still runs."""
    new_id = job_service.resume_job(job_id)
    return {"job_id": new_id, "resumes": job_id, "follow": f"/api/v1/jobs/{new_id}"}


# ---------------------------------------------------------------------------------------------- runs


def _card(card: Any) -> dict[str, Any]:
    shown = plain(card)
    shown.pop("thumbnail", None)  # a path on the studio's disk, not for clients
    return shown


@router.get("/runs", tags=["runs"], dependencies=[READ])
def list_runs(
    dataset: str | None = None,
    sort: Annotated[str | None, Query(description="Order by this metric's final value, best first.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Training runs with their final metrics, newest first or by ``sort``."""
    descending = not (sort and gallery_service.lower_is_better(sort))
    page = gallery_service.search_runs(
        gallery_service.RunFilter(dataset=dataset), sort_metric=sort, descending=descending, page_size=limit
    )
    return [_card(card) for card in page.cards]


@router.get("/runs/compare", tags=["runs"], dependencies=[READ])
def compare_runs(ids: Annotated[list[str], Query(description="Two or more run ids.")]) -> dict[str, Any]:
    """Compare runs: their cards, metric histories, parameters and recipe changes."""
    comparison = gallery_service.compare_runs(ids)
    return {
        "runs": [_card(card) for card in comparison.runs],
        "curves": plain(comparison.curves),
        "params": plain(comparison.params),
        "recipe_diff": plain(comparison.recipe_diff),
    }


@router.get("/runs/{run_id}", tags=["runs"], dependencies=[READ])
def get_run(run_id: str) -> dict[str, Any]:
    """A run: its card, parameters, tags, metric histories and per-class validation figures."""
    detail = gallery_service.run_detail(run_id)
    return {
        "card": _card(detail.card),
        "params": detail.params,
        "tags": detail.tags,
        "metric_history": plain(detail.metric_history),
        "classes": detail.classes,
        "per_class": plain(detail.per_class),
        "confusion": plain(detail.confusion),
        "model_uris": detail.model_uris,
    }


# -------------------------------------------------------------------------------------------- models


class Registration(Body):
    run_id: str
    name: str
    alias: str | None = None


class AliasMove(Body):
    version: int = Field(ge=1)


@router.get("/models", tags=["models"], dependencies=[READ])
def list_models() -> list[dict[str, Any]]:
    """Registered models with their version count and where their aliases point."""
    return plain(gallery_service.list_models())


@router.get("/models/{name}/versions", tags=["models"], dependencies=[READ])
def model_versions(name: str) -> list[dict[str, Any]]:
    return plain(gallery_service.model_versions(name))


@router.post("/models", tags=["models"], status_code=201, dependencies=[ADMIN])
def register(registration: Registration) -> dict[str, Any]:
    """Register a run's model as a new version of ``name``, optionally pointing ``alias`` at it."""
    info = gallery_service.register(registration.run_id, registration.name, registration.alias)
    warnings = gallery_service.training_data_warnings(registration.run_id)
    return {**plain(info), "warnings": warnings}


@router.put("/models/{name}/aliases/{alias}", tags=["models"], dependencies=[ADMIN])
def set_alias(name: str, alias: str, move: AliasMove) -> dict[str, Any]:
    """Point ``alias`` of ``name`` at a version (moving it if it pointed elsewhere)."""
    gallery_service.set_alias(name, alias, move.version)
    return {"model": name, "alias": alias, "version": move.version}


# ------------------------------------------------------------------------------------------- predict


class TableRows(Body):
    rows: list[dict[str, Any]] = Field(description="Column → value, one mapping per row.")


@router.post("/predict/{ref}", tags=["predict"], dependencies=[TRAIN])
def predict_files(
    ref: str, files: Annotated[list[UploadFile], File(description="Files (a table model: CSV/Parquet).")]
) -> dict[str, Any]:
    """Predict files with ``NAME@ALIAS`` or ``NAME/VERSION``; a file that cannot be read gets its reason
    in ``error``, the others are still predicted."""
    return {"model": ref, "predictions": gallery_service.predict_files(ref, _read_uploads(files))}


@router.post("/predict/{ref}/rows", tags=["predict"], dependencies=[TRAIN])
def predict_rows(ref: str, table: TableRows) -> dict[str, Any]:
    """Predict table rows with a table model: each row back with ``predicted``, ``probability`` and
    one ``p(<class>)`` per class."""
    return {"model": ref, "predictions": gallery_service.predict_table_rows(ref, table.rows)}


# --------------------------------------------------------------------------------------------- drift


@router.get("/drift/monitors", tags=["drift"], dependencies=[READ])
def list_monitors() -> list[dict[str, Any]]:
    """Watched models with their schedule, data and limits."""
    return plain(drift_service.list_monitors())


@router.get("/drift/checks", tags=["drift"], dependencies=[READ])
def list_checks(
    model: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """Drift checks, newest first, of one model or all."""
    return plain(drift_service.list_checks(model, limit))


@router.get("/drift/checks/{check_id}", tags=["drift"], dependencies=[READ])
def get_check(check_id: int) -> dict[str, Any]:
    """One check's summary: when, which version against which data, and the verdict."""
    return plain(drift_service.get_check(check_id, finished_only=False).summary)


@router.post("/drift/monitors/{model}/checks", tags=["drift"], status_code=202, dependencies=[TRAIN])
def run_check_now(model: str) -> dict[str, Any]:
    """Queue a check of a watched model now (Run now); follow it at ``/api/v1/drift/checks/{id}``."""
    check_id = drift_service.request_check(model, trigger="api")
    return {"check_id": check_id, "follow": f"/api/v1/drift/checks/{check_id}"}


# -------------------------------------------------------------------------------------------- alerts


class AlertSettingsBody(Body):
    webhook_url: str | None = None
    slack_format: bool = False
    emails: list[str] = Field(default_factory=list)
    events: list[str] | None = None
    auto_retrain: bool = False
    ask_first: bool = True
    cooldown_s: float = Field(default=3600, ge=0)


@router.get("/alerts", tags=["alerts"], dependencies=[READ])
def list_alerts(
    model: Annotated[str | None, Query(description="Only this model's alerts ('studio': none).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The alert log, newest first, with each delivery's state."""
    return plain([alert.to_dict() for alert in alert_service.list_alerts(model, limit)])


@router.get("/alerts/settings/{model}", tags=["alerts"], dependencies=[READ])
def get_alert_settings(model: str) -> dict[str, Any]:
    return plain(alert_service.get_alert_settings(model).to_dict())


@router.put("/alerts/settings/{model}", tags=["alerts"], dependencies=[ADMIN])
def save_alert_settings(model: str, settings: AlertSettingsBody) -> dict[str, Any]:
    """Replace a model's alert settings (a field not sent is reset to its default)."""
    saved = alert_service.save_alert_settings(model, **settings.model_dump())
    return plain(saved.to_dict())


# -------------------------------------------------------------------------------------------- tokens


class NewTokenBody(Body):
    scope: str = "read"
    expires: str | None = Field(default=None, description="30d, 12h, 90m; none: until revoked.")
    name: str = ""


def _token(info: Any) -> dict[str, Any]:
    return {**plain(info), "state": info.state}


@router.get("/tokens", tags=["tokens"], dependencies=[ADMIN])
def list_tokens() -> list[dict[str, Any]]:
    """Every token's id, name, scope and state (never a secret: only hashes are kept)."""
    return [_token(t) for t in token_service.list_tokens()]


@router.post("/tokens", tags=["tokens"], status_code=201, dependencies=[ADMIN])
def create_token(body: NewTokenBody) -> dict[str, Any]:
    """Make a token; its ``secret`` is in this answer only."""
    made = token_service.create_token(body.scope, body.expires, body.name)
    return {**_token(made.info), "secret": made.secret}


@router.delete("/tokens/{token_id}", tags=["tokens"], dependencies=[ADMIN])
def revoke_token(token_id: int) -> dict[str, Any]:
    """Cut a token off for good."""
    return _token(token_service.revoke_token(token_id))
