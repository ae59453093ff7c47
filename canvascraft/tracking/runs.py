"""One MLflow run per training job, written through an explicit ``MlflowClient`` and a run id.

Nothing here touches MLflow's fluent globals (active run, active experiment, global tracking URI):
the studio process, the scheduler and several job threads may share one interpreter, and a global
active run would leak between them. The store and artifacts go where the settings say, so a test or
a user's workspace never writes an ``mlruns`` folder into the current directory.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlflow.entities import LoggedModelOutput, Metric, Param, RunStatus
from mlflow.exceptions import MlflowException
from mlflow.models import Model, infer_signature
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME
from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH, MAX_PARAMS_TAGS_PER_BATCH

from canvascraft.config import get_settings

FORMAT_TAG = "canvascraft.format"
"""A logged model's tag saying how its folder is read: ``pt2`` (a classifier's program) or ``flow``."""

if TYPE_CHECKING:  # torch is imported only to log a model, so a study driver starts without it
    import torch

    from canvascraft.training.epochs import EpochResult

DEFAULT_EXPERIMENT = "canvascraft"
TRUNCATED_NOTE = " …[truncated]"
# Kept small and explicit: letting MLflow infer requirements imports the model in a subprocess
# and takes seconds; the studio's own environment is what serves these models anyway.
PIP_REQUIREMENTS = [f"torch=={version('torch').split('+')[0]}"]
PROGRAM_PATH = "data/model.pt2"
"""Where ``mlflow.pytorch.save_model`` writes the ``pt2`` program inside a model folder."""
PROGRAM_DIGEST_TAG = "canvascraft.program_sha256"
"""The logged model's tag holding its program's sha256: the tracking database keeps it apart from the
artifact store, so a program replaced in the store afterwards is told from the one that was logged."""


def file_digest(path: Path) -> str:
    """The sha256 of a file, in hex."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def tracking_client() -> MlflowClient:
    """A client bound to the configured store; the model registry lives in the same database."""
    settings = get_settings()
    uri = settings.tracking_uri
    if uri.startswith("sqlite:///"):
        # SQLite will not create the folder its file lives in.
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def close_run(run_id: str, status: str) -> None:
    """End a run a dead job left ``RUNNING`` as ``status`` (``KILLED``, ``FAILED``); a closed one stays."""
    client = tracking_client()
    if client.get_run(run_id).info.status == "RUNNING":
        client.set_terminated(run_id, status=status)


def ensure_experiment(name: str = DEFAULT_EXPERIMENT) -> str:
    """The experiment's id, creating it with artifacts under ``artifact_root / name`` if missing.

    Safe when two job processes race to create it, and a deleted experiment is restored rather
    than shadowed (MLflow keeps deleted names reserved).
    """
    client = tracking_client()
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        location = get_settings().artifact_root / name
        location.mkdir(parents=True, exist_ok=True)
        try:
            return client.create_experiment(name, artifact_location=location.as_uri())
        except MlflowException as error:
            if error.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
                raise
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    return experiment.experiment_id


def _param_value(value: Any) -> str:
    """MLflow refuses values over its length limit; keep the start and say it was cut."""
    text = str(value)
    if len(text) <= MAX_PARAM_VAL_LENGTH:
        return text
    return text[: MAX_PARAM_VAL_LENGTH - len(TRUNCATED_NOTE)] + TRUNCATED_NOTE


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _now_ms() -> int:
    return int(time.time() * 1000)


class TrainingRun:
    """One MLflow run for one training job, addressed only by its id."""

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        self._client = client
        self.run_id = run_id

    @classmethod
    def start(
        cls,
        *,
        run_name: str,
        params: Mapping[str, Any],
        tags: Mapping[str, str] | None = None,
        experiment: str = DEFAULT_EXPERIMENT,
        parent_run_id: str | None = None,
    ) -> TrainingRun:
        """Create the run (RUNNING) and log its params in batches, one round trip per 100."""
        client = tracking_client()
        run_tags = {key: str(value) for key, value in (tags or {}).items()}
        run_tags[MLFLOW_RUN_NAME] = run_name
        if parent_run_id:
            run_tags[MLFLOW_PARENT_RUN_ID] = parent_run_id
        run = client.create_run(ensure_experiment(experiment), tags=run_tags, run_name=run_name)
        training_run = cls(client, run.info.run_id)
        training_run._log_params(params)
        return training_run

    @classmethod
    def resume(cls, run_id: str) -> TrainingRun:
        """Reopen an existing run (a resumed job): status back to RUNNING; new epochs append."""
        client = tracking_client()
        client.get_run(run_id)  # fails clearly when the id is unknown
        client.update_run(run_id, status=RunStatus.to_string(RunStatus.RUNNING))
        return cls(client, run_id)

    def _log_params(self, params: Mapping[str, Any]) -> None:
        entries = [Param(str(key), _param_value(value)) for key, value in params.items()]
        for chunk in _chunks(entries, MAX_PARAMS_TAGS_PER_BATCH):
            self._client.log_batch(self.run_id, params=chunk, synchronous=True)

    def log_epoch(self, result: EpochResult) -> None:
        """All of an epoch's metrics in one ``log_batch`` (one call per metric is ~50x slower)."""
        values = {**result.metrics, "epoch_seconds": result.seconds}
        stamp = _now_ms()
        metrics = [Metric(key, float(value), stamp, result.epoch) for key, value in values.items()]
        self._client.log_batch(self.run_id, metrics=metrics, synchronous=True)

    def log_summary(self, metrics: Mapping[str, float], params: Mapping[str, Any]) -> None:
        """Final figures of a parent run (a study's best value and parameters), in one round trip."""
        stamp = _now_ms()
        self._client.log_batch(
            self.run_id,
            metrics=[Metric(key, float(value), stamp, 0) for key, value in metrics.items()],
            params=[Param(str(key), _param_value(value)) for key, value in params.items()],
            synchronous=True,
        )

    def set_tag(self, key: str, value: str) -> None:
        self._client.set_tag(self.run_id, key, value)

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        """A binary artifact (a picture, a NumPy array) at ``artifact_file`` inside the run."""
        folder, _, name = artifact_file.rpartition("/")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            self._client.log_artifact(self.run_id, str(path), folder or None)

    def log_text(self, text: str, artifact_file: str) -> None:
        """A text artifact beside the run (the recipe YAML, a fitted table state as JSON)."""
        self._client.log_text(self.run_id, text, artifact_file)

    def log_model(
        self,
        model: torch.nn.Module,
        input_example: torch.Tensor,
        name: str = "model",
        extra_files: Mapping[str, str] | None = None,
    ) -> str:
        """Log ``model`` as an MLflow 3 logged model in ``pt2`` format; returns ``models:/<id>``.

        ``extra_files`` (name → text) are written into the model's folder beside ``MLmodel``: the
        recipe and fitted table state travel with a downloaded or served model.

        ``pt2`` is a ``torch.export`` graph: loading it runs no pickled code, unlike the pickle
        format. Give an example with a batch of 2 or more, or the batch size is exported as fixed.
        The client's own calls replace ``mlflow.pytorch.log_model``, which reads the global
        tracking URI and active experiment.
        """
        import mlflow.pytorch
        import torch

        was_training = model.training
        model.eval()
        try:
            example = input_example.detach().cpu()
            with torch.no_grad():
                output = model(example)
            signature = infer_signature(example.numpy(), output.detach().cpu().numpy())

            def write(local: Path, model_id: str, artifact_location: str) -> dict[str, str]:
                mlflow_model = Model(
                    artifact_path=artifact_location,
                    run_id=self.run_id,
                    model_id=model_id,
                    model_uuid=model_id,
                )
                mlflow.pytorch.save_model(
                    model,
                    str(local),
                    mlflow_model=mlflow_model,
                    signature=signature,
                    input_example=example.numpy(),
                    pip_requirements=PIP_REQUIREMENTS,
                    serialization_format="pt2",
                )
                for file_name, text in (extra_files or {}).items():
                    (local / file_name).write_text(text)
                return {PROGRAM_DIGEST_TAG: file_digest(local / PROGRAM_PATH)}

            return self.log_folder_model(write, name=name, model_format="pt2")
        finally:
            model.train(was_training)

    def log_folder_model(
        self, write: Callable[[Path, str, str], Mapping[str, str] | None], *, name: str, model_format: str
    ) -> str:
        """Log a folder that ``write(folder, model_id, artifact_location)`` fills as an MLflow logged
        model of this run (tagged ``canvascraft.format``), so it can be registered and aliased like any
        other; the tags ``write`` returns (a digest of what it wrote) are set once the files are stored.
        Returns ``models:/<id>``; a failed ``write`` leaves the logged model FAILED, not half READY."""
        run = self._client.get_run(self.run_id)
        logged = self._client.create_logged_model(
            run.info.experiment_id,
            name=name,
            source_run_id=self.run_id,
            params=dict(run.data.params),
            tags={FORMAT_TAG: model_format},
        )
        try:
            with tempfile.TemporaryDirectory() as tmp:
                local = Path(tmp) / "model"
                tags = write(local, logged.model_id, logged.artifact_location)
                self._client.log_model_artifacts(logged.model_id, str(local))
            if tags:
                self._client.set_logged_model_tags(logged.model_id, dict(tags))
        except BaseException:
            self._client.finalize_logged_model(logged.model_id, "FAILED")
            raise
        self._client.log_outputs(self.run_id, [LoggedModelOutput(logged.model_id, step=0)])
        self._client.finalize_logged_model(logged.model_id, "READY")
        return f"models:/{logged.model_id}"

    def finish(self, status: Literal["FINISHED", "FAILED", "KILLED"] = "FINISHED") -> None:
        """Close the run with its end time; a later ``resume`` may reopen it."""
        self._client.set_terminated(self.run_id, status=status, end_time=_now_ms())
