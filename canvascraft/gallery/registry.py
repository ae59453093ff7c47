"""Named models in MLflow's model registry: register a run's model, move aliases, list versions, zip one.

Everything goes through the explicit ``tracking_client()`` (the registry lives in the tracking
database), never MLflow's fluent globals. A version's ``source`` is the logged model's own artifact
folder (a ``file://`` location in the workspace), not ``models:/<id>``: MLflow's SQL registry resolves a
``models:/`` source through a default ``MlflowClient()``, which reads the global tracking URI rather than
the workspace's.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import ALREADY_EXISTS, RESOURCE_ALREADY_EXISTS, ErrorCode
from mlflow.tracking import MlflowClient

from canvascraft.errors import ModelError, UnknownModelError
from canvascraft.tracking.runs import tracking_client
from canvascraft.training.objectives import Objective
from canvascraft.training.trainers import objective_of

MODEL_ID_TAG = "canvascraft.model_id"
_VERSION = re.compile(r"^[0-9]{1,9}$")
_ZIP_FOLDER_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Lineage:
    """Where a model version came from: what it was trained on, with what, and in which study."""

    dataset: str | None
    dataset_version: str | None
    recipe: str | None
    recipe_version: str | None
    trainer: str | None
    study: str | None
    job_id: int | None


@dataclass(frozen=True)
class ModelVersionInfo:
    """One registered version, with its run's final validation metrics and lineage."""

    name: str
    version: int
    run_id: str | None
    model_id: str | None
    source: str
    aliases: list[str]
    created: datetime
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    lineage: Lineage | None = None

    @property
    def ref(self) -> str:
        """``NAME/VERSION``, which ``resolve`` and the CLI accept."""
        return f"{self.name}/{self.version}"

    @property
    def objective(self) -> Objective:
        """What the version's trainer reports (its ``metrics`` are that objective's validation figures)."""
        return objective_of(self.lineage.trainer if self.lineage else None)


@dataclass(frozen=True)
class RegisteredModelInfo:
    name: str
    description: str
    versions: int
    aliases: dict[str, int]
    latest: int | None


def _fail(error: MlflowException, what: str) -> ModelError:
    return ModelError(f"{what}: {error.message}")


def _is_missing(error: MlflowException) -> bool:
    return error.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ModelError("a model name cannot be empty; pick a name such as 'shapes'")
    if "@" in name or "/" in name:
        raise ModelError(f"model name {name!r} may not contain '@' or '/' (they separate alias and version)")
    return name


def logged_model_id(client: MlflowClient, run_id: str) -> str:
    """The run's logged model (the one at the highest step, as MLflow's own ``register_model`` picks)."""
    try:
        run = client.get_run(run_id)
    except MlflowException as error:
        raise ModelError(f"run {run_id!r} is not in the workspace; `canvascraft runs list` shows them") from (
            error
        )
    outputs = run.outputs.model_outputs if run.outputs else []
    if not outputs:
        raise ModelError(
            f"run {run_id} has no model (it is still training, or it failed or was cancelled before saving "
            "one); register a finished run"
        )
    return max(outputs, key=lambda output: output.step).model_id


def register(run_id: str, name: str, alias: str | None = None) -> ModelVersionInfo:
    """A new version of model ``name`` (created when missing) from the run's model, optionally aliased."""
    name = _check_name(name)
    client = tracking_client()
    model_id = logged_model_id(client, run_id)
    logged = client.get_logged_model(model_id)
    if str(logged.status) != "READY":
        raise ModelError(f"run {run_id}'s model is {logged.status}, not ready; register a finished run")
    try:
        client.create_registered_model(
            name, description=f"CanvasCraft model (first version from run {run_id})"
        )
    except MlflowException as error:
        if error.error_code not in (ErrorCode.Name(RESOURCE_ALREADY_EXISTS), ErrorCode.Name(ALREADY_EXISTS)):
            raise _fail(error, f"cannot create model {name!r}") from None
    run = client.get_run(run_id)
    # MLflow's SQL registry does not keep ``model_id`` on the version; a tag keeps the link.
    tags = {"canvascraft.job_id": run.data.tags.get("canvascraft.job_id", ""), MODEL_ID_TAG: model_id}
    try:
        version = client.create_model_version(
            name, source=logged.artifact_location, run_id=run_id, model_id=model_id, tags=tags
        )
    except MlflowException as error:
        raise _fail(error, f"cannot register run {run_id} as {name!r}") from None
    if alias:
        set_alias(name, alias, int(version.version))
    return _version_info(client, client.get_model_version(name, version.version))


def set_alias(name: str, alias: str, version: int | str) -> None:
    """Point ``alias`` at ``version`` (an alias names one version; setting it again moves it)."""
    client = tracking_client()
    alias = alias.strip()
    _known_version(client, name, str(version))
    try:
        client.set_registered_model_alias(name, alias, str(version))
    except MlflowException as error:
        raise _fail(error, f"cannot set alias {alias!r} on {name}/{version}") from None


def remove_alias(name: str, alias: str) -> None:
    """Drop ``alias`` from model ``name``; the version it pointed at stays."""
    client = tracking_client()
    aliases = _model(client, name).aliases
    if alias not in aliases:
        raise ModelError(f"model {name!r} has no alias {alias!r}; it has {_listed(aliases)}")
    client.delete_registered_model_alias(name, alias)


def list_models() -> list[RegisteredModelInfo]:
    """Every registered model, by name, with how many versions it has and where its aliases point."""
    client = tracking_client()
    found: list[RegisteredModelInfo] = []
    for model in _all(client.search_registered_models, order_by=["name ASC"]):
        numbers = [
            int(v.version) for v in _all(client.search_model_versions, f"name = '{_quote(model.name)}'")
        ]
        found.append(
            RegisteredModelInfo(
                name=model.name,
                description=model.description or "",
                versions=len(numbers),
                aliases={alias: int(v) for alias, v in sorted(model.aliases.items())},
                latest=max(numbers) if numbers else None,
            )
        )
    return found


def model_versions(name: str) -> list[ModelVersionInfo]:
    """The versions of ``name``, newest first, each with its metrics and lineage."""
    client = tracking_client()
    model = _model(client, name)
    by_version: dict[str, list[str]] = {}
    for alias, version in model.aliases.items():
        by_version.setdefault(str(version), []).append(alias)
    versions = _all(client.search_model_versions, f"name = '{_quote(name)}'")
    infos = [_version_info(client, v, sorted(by_version.get(str(v.version), []))) for v in versions]
    return sorted(infos, key=lambda info: info.version, reverse=True)


def resolve(ref: str) -> ModelVersionInfo:
    """The version ``ref`` names: ``NAME@ALIAS`` or ``NAME/VERSION`` (``models:/`` in front is allowed)."""
    name, alias, version = parse_ref(ref)
    client = tracking_client()
    model = _model(client, name)
    if alias is not None:
        if alias not in model.aliases:
            raise UnknownModelError(f"model {name!r} has no alias {alias!r}; it has {_listed(model.aliases)}")
        found = client.get_model_version_by_alias(name, alias)
    else:
        found = _known_version(client, name, str(version))
    return _version_info(client, found)


def parse_ref(ref: str) -> tuple[str, str | None, int | None]:
    """``(name, alias, version)`` of a reference; exactly one of alias and version is set."""
    text = ref.strip().removeprefix("models:/")
    if "@" in text:
        name, _, alias = text.rpartition("@")
        if name and alias and "/" not in name:
            return name, alias, None
    elif "/" in text:
        name, _, number = text.rpartition("/")
        if name and _VERSION.match(number) and "/" not in name:
            return name, None, int(number)
    raise ModelError(
        f"{ref!r} is not a model reference; write NAME@ALIAS (shapes@champion) or NAME/VERSION (shapes/3)"
    )


def local_folder(source: str) -> Path | None:
    """The folder of a ``file://`` source (or a plain path), None for remote stores."""
    parsed = urlparse(source)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path))
    return None


def model_folder(info: ModelVersionInfo, into: Path | None = None) -> Path:
    """A local folder holding the version's MLflow model (read in place when the store is local)."""
    return source_folder(info.source, info.ref, into)


def source_folder(source: str, what: str, into: Path | None = None) -> Path:
    """A local folder holding the artifacts at ``source`` (``what`` names them in errors): read in place
    when the store is local, else downloaded into ``into`` or a fresh temporary folder."""
    folder = local_folder(source)
    if folder is not None and folder.is_dir():
        return folder
    from mlflow.artifacts import download_artifacts

    target = into or Path(tempfile.mkdtemp(prefix="canvascraft-model-"))
    uri = tracking_client().tracking_uri
    try:
        return Path(download_artifacts(artifact_uri=source, dst_path=str(target), tracking_uri=uri))
    except MlflowException as error:
        raise _fail(error, f"the files of {what} are not reachable at {source}") from None


def zip_folder_name(name: str) -> str:
    """A model name as the top folder of a zip: letters, digits, ``.``, ``_`` and ``-`` only."""
    return _ZIP_FOLDER_CHARS.sub("-", name).strip("-.") or "model"


def download_zip(name: str, version: int | str, extra_files: Mapping[str, str] | None = None) -> bytes:
    """The version's MLflow model folder as a zip; every member sits under one folder ``<name>-v<version>``,
    ``extra_files`` (text by plain file name: the model card) beside the model's own.

    Names come from the store's own listing, relative to the folder, and links are left out, so
    nothing in the archive can point outside it when unpacked.
    """
    info = resolve(f"{name}/{version}")
    top = f"{zip_folder_name(info.name)}-v{info.version}"
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        folder = model_folder(info, Path(tmp))
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for root, dirs, files in os.walk(folder, followlinks=False):
                dirs.sort()
                for file in sorted(files):
                    path = Path(root) / file
                    if path.is_symlink() or not path.is_file():
                        continue
                    relative = path.relative_to(folder).as_posix()
                    archive.write(path, f"{top}/{relative}")
            for extra, text in (extra_files or {}).items():
                archive.writestr(f"{top}/{Path(extra).name}", text.encode("utf-8"))
    return buffer.getvalue()


def _version_info(
    client: MlflowClient, version: ModelVersion, aliases: list[str] | None = None
) -> ModelVersionInfo:
    metrics: dict[str, float] = {}
    lineage = None
    if version.run_id:
        try:
            run = client.get_run(version.run_id)
        except MlflowException:
            run = None
        if run is not None:
            keys = objective_of(run.data.params.get("trainer")).metric_keys("val")
            metrics = {k: float(run.data.metrics[k]) for k in keys if k in run.data.metrics}
            params, tags = run.data.params, run.data.tags
            job = tags.get("canvascraft.job_id")
            lineage = Lineage(
                dataset=params.get("dataset"),
                dataset_version=params.get("dataset_version"),
                recipe=params.get("recipe"),
                recipe_version=params.get("recipe_version"),
                trainer=params.get("trainer"),
                study=tags.get("canvascraft.study"),
                job_id=int(job) if job and job.isdigit() else None,
            )
    return ModelVersionInfo(
        name=version.name,
        version=int(version.version),
        run_id=version.run_id,
        model_id=version.model_id or (version.tags or {}).get(MODEL_ID_TAG),
        source=version.source or "",
        aliases=sorted(aliases if aliases is not None else (version.aliases or [])),
        created=datetime.fromtimestamp((version.creation_timestamp or 0) / 1000, tz=UTC),
        status=str(version.status),
        metrics=metrics,
        lineage=lineage,
    )


def _model(client: MlflowClient, name: str) -> Any:
    try:
        return client.get_registered_model(name)
    except MlflowException as error:
        if _is_missing(error):
            known = [m.name for m in _all(client.search_registered_models)]
            hint = (
                f"known models: {', '.join(known)}"
                if known
                else "register one with `canvascraft models register`"
            )
            raise UnknownModelError(f"no model is called {name!r}; {hint}") from None
        raise _fail(error, f"cannot read model {name!r}") from None


def _known_version(client: MlflowClient, name: str, version: str) -> ModelVersion:
    _model(client, name)
    try:
        return client.get_model_version(name, version)
    except MlflowException as error:
        if _is_missing(error):
            raise UnknownModelError(
                f"model {name!r} has no version {version}; `canvascraft models list` shows them"
            ) from None
        raise _fail(error, f"cannot read {name}/{version}") from None


def _all(search: Any, filter_string: str | None = None, **kwargs: Any) -> list[Any]:
    """Every page of an MLflow search."""
    found: list[Any] = []
    token = None
    while True:
        page = search(filter_string, page_token=token, **kwargs)
        found.extend(page)
        token = page.token
        if not token:
            return found


def _quote(name: str) -> str:
    return name.replace("'", "\\'")


def _listed(aliases: dict[str, Any]) -> str:
    return ", ".join(sorted(aliases)) if aliases else "no aliases yet"
