"""Try a model: one file, a stored sample item, CSV rows or a whole folder, through the run's own recipe.

A ``Predictor`` holds what validation used: the run's recipe (``recipe.yaml``, built for the ``eval``
stage, so augmenting brushes are left out), the fitted table-brush state (``table_state.json``) and the
class names. A file is read by the run's modality (``read_file``: checked as an import checks it,
decoded as ``ItemDataset`` decodes stored items); images and audio then go through ``as_tensor`` as
training does, table rows through the restored pipeline, read back in the run's ``feature_names``
order. Same item, same input tensor, same prediction.

The model comes from a registered version (the logged ``pt2`` program, loaded by ``load_program``,
which refuses a folder that could run code) or from a job's checkpoint (the trainer's model rebuilt from
the job's settings, safetensors weights loaded into it: no pickle either). A ``pt2`` program takes any
batch size, but every other axis is fixed to what it was exported with: for audio the spectrogram is
zero-padded or cropped on the time axis to the exported frame count (the zero padding is what training's
``pad_frames`` adds); an image of another size after the recipe is refused, with the fix (a ``resize``
brush). A checkpoint's model pools globally and reads any size, so it is only fitted the same way when
its run also logged a model, keeping both predictors in step.

Names of uploads are display text only: nothing here builds a path from them.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from mlflow.exceptions import MlflowException

from canvascraft.errors import (
    CanvasCraftError,
    CorruptItemError,
    ModelError,
    RecipeError,
    UnreadableFileError,
)
from canvascraft.gallery.loading import load_program, signature_shapes, unreadable
from canvascraft.gallery.registry import ModelVersionInfo, model_folder, resolve
from canvascraft.modalities import Modality, get_modality
from canvascraft.recipe.compose import Pipeline, compose, item_seed
from canvascraft.recipe.io import from_yaml
from canvascraft.recipe.spec import Recipe
from canvascraft.tracking.runs import tracking_client

TOP_K = 3
RECIPE_ARTIFACT = "recipe.yaml"
TABLE_ARTIFACT = "table_state.json"
PREDICTIONS_ARTIFACT = "validation/predictions.json"


@dataclass(frozen=True)
class Prediction:
    """The ``top`` classes with their probabilities (highest first), and every class's probability."""

    top: list[tuple[str, float]]
    probabilities: dict[str, float]

    @property
    def label(self) -> str:
        return self.top[0][0]

    @property
    def probability(self) -> float:
        return self.top[0][1]


@dataclass(frozen=True)
class RunContext:
    """What a run saved for reuse: its recipe, classes, fitted table state and lineage params."""

    run_id: str
    modality: str
    recipe: Recipe
    classes: list[str]
    params: dict[str, str]
    table_state: list[dict[str, Any]] | None = None
    feature_names: list[str] | None = None


def _artifact_text(run_id: str, path: str) -> str | None:
    """A text artifact of a run: read in place from a local store, else downloaded; None if absent."""
    from canvascraft.gallery.registry import local_folder

    client = tracking_client()
    root = local_folder(client.get_run(run_id).info.artifact_uri or "")
    if root is not None and root.is_dir():
        local_path = root / path
        return local_path.read_text(encoding="utf-8") if local_path.is_file() else None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = client.download_artifacts(run_id, path, tmp)
        except (MlflowException, OSError):  # not logged (an older or unfinished run)
            return None
        return Path(local).read_text(encoding="utf-8")


def run_context(run_id: str) -> RunContext:
    """Read the recipe, classes and table state a run logged (``jobs/train.py`` writes them)."""
    client = tracking_client()
    run = client.get_run(run_id)
    params = dict(run.data.params)
    recipe_text = _artifact_text(run_id, RECIPE_ARTIFACT)
    if recipe_text is None:
        raise ModelError(f"run {run_id} has no {RECIPE_ARTIFACT}; it stopped before training began")
    recipe = from_yaml(recipe_text)
    table_text = _artifact_text(run_id, TABLE_ARTIFACT)
    table = json.loads(table_text) if table_text else None
    # The class list in ``params`` is comma-joined (ambiguous if a label has a comma); prefer JSON lists.
    classes: list[str] | None = table["classes"] if table else None
    if classes is None:
        report = _artifact_text(run_id, PREDICTIONS_ARTIFACT)
        classes = json.loads(report)["classes"] if report else params.get("classes", "").split(",")
    modality = run.data.tags.get("canvascraft.modality") or recipe.modality
    return RunContext(
        run_id=run_id,
        modality=modality,
        recipe=recipe,
        classes=[str(c) for c in classes],
        params=params,
        table_state=table["state"] if table else None,
        feature_names=table["feature_names"] if table else None,
    )


class Predictor:
    """A model with the recipe, table state and classes of its run; predicts files, items and rows."""

    def __init__(
        self,
        model: torch.nn.Module,
        context: RunContext,
        *,
        input_shape: tuple[int, ...] | None,
        source: str,
    ) -> None:
        self.model = model
        self.context = context
        #: One item's shape the model was exported with (no batch axis); None reads any size.
        self.input_shape = input_shape
        #: What was loaded, for display: ``shapes/2`` or ``job 7 (best checkpoint)``.
        self.source = source
        self.pipeline: Pipeline = compose(context.recipe, "eval")
        self._body: torch.nn.Module | bool | None = None  # the embedding model, cut on first use
        if context.table_state is not None:
            self.pipeline.load_state(context.table_state)

    @property
    def classes(self) -> list[str]:
        return self.context.classes

    @property
    def modality(self) -> str:
        return self.context.modality

    @property
    def _modality(self) -> Modality:
        """The object that reads, fits and describes this model's kind of data."""
        return get_modality(self.context.modality)

    # Loading.

    @classmethod
    def from_ref(cls, ref: str) -> Predictor:
        """A registered version: ``NAME@ALIAS`` or ``NAME/VERSION``."""
        return cls.from_version(resolve(ref))

    @classmethod
    def from_version(cls, info: ModelVersionInfo) -> Predictor:
        from mlflow.models import Model

        if not info.run_id:
            raise ModelError(f"{info.ref} has no training run, so its recipe is unknown")
        folder = model_folder(info)
        model = load_program(folder, info)
        context = run_context(info.run_id)
        input_shape, output_shape = signature_shapes(Model.load(str(folder)))
        if output_shape and output_shape[-1] not in (None, len(context.classes)):
            why = f"its program scores {output_shape[-1]} classes where its run has {len(context.classes)}"
            raise unreadable(info.ref, why)
        return cls(model, context, input_shape=input_shape, source=info.ref)

    @classmethod
    def from_checkpoint(cls, job_id: int, which: str = "best") -> Predictor:
        """A training job's ``best`` or ``last`` checkpoint, in the model its trainer builds.

        The trainer is rebuilt from the job's own spec (typed values, not MLflow's string params); the
        input shape is the logged model's when the run has one, else read from the first weight (the
        input channels of a convolution, the input features of a linear layer: all a trainer needs).
        """
        from canvascraft.jobs.checkpoints import CHECKPOINT_NAMES, checkpoint_folder
        from canvascraft.store.models import Job
        from canvascraft.store.session import open_session
        from canvascraft.training import get_trainer, load_checkpoint
        from canvascraft.training.loop import read_tensors

        if which not in CHECKPOINT_NAMES:
            raise ModelError(f"checkpoint must be one of {', '.join(CHECKPOINT_NAMES)}, got {which!r}")
        with open_session() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise ModelError(f"there is no job {job_id}; `canvascraft jobs list` shows them")
            spec, run_id = dict(job.spec), job.mlflow_run_id
            chain = job
            while run_id is None and chain.resume_from is not None:
                chain = session.get(Job, chain.resume_from)
                run_id = chain.mlflow_run_id if chain is not None else None
        path = checkpoint_folder(job_id) / f"{which}.safetensors"
        if run_id is None or not path.exists():
            raise ModelError(f"job {job_id} has no {which} checkpoint yet; it saves one after each epoch")
        context = run_context(run_id)
        trainer = get_trainer(spec["trainer"])(**spec.get("hyper", {}))
        shape = _logged_shape(run_id)
        label = f"job {job_id}'s {which} checkpoint"
        build_shape = shape or _shape_from_weights(read_tensors(path, label), get_modality(context.modality))
        model = trainer.build_model(build_shape, len(context.classes))
        load_checkpoint(model, path, label)
        model.eval()
        return cls(model, context, input_shape=shape, source=f"job {job_id} ({which} checkpoint)")

    # Preparing inputs.

    def prepare_file(self, data: bytes, filename: str) -> torch.Tensor:
        """The batch the model reads for one file: ``(1, …)`` for an image or clip, ``(rows, features)``
        for a table."""
        if not data:
            raise self._unreadable(filename, "the file is empty (0 bytes)")
        if self._modality.rows:
            return self.prepare_rows(read_rows(data, filename, self))
        return self._prepare_item(data, filename)[None]

    def _prepare_item(self, data: bytes, filename: str) -> torch.Tensor:
        from canvascraft.training.data import as_tensor

        try:
            sample = self._modality.read_file(data, filename)
            out = as_tensor(self.pipeline.apply(sample, item_seed(self.context.recipe.seed, 0)))
        except CorruptItemError as error:
            raise self._unreadable(filename, str(error)) from None
        except RecipeError as error:
            raise self._unreadable(filename, f"the recipe could not prepare it: {error}") from None
        return self._fit_shape(out, filename)

    def _fit_shape(self, x: torch.Tensor, filename: str) -> torch.Tensor:
        """The exported shape, as the modality fits it (audio pads or crops time); else refused."""
        if self.input_shape is None or tuple(x.shape) == self.input_shape:
            return x
        want = self.input_shape
        fitted = self._modality.fit_input(x, want)
        if fitted is not None:
            return fitted
        hint = self._modality.shape_hint
        raise self._unreadable(
            filename, f"after the recipe it is shaped {tuple(x.shape)}, the model reads {want}{hint}"
        )

    def prepare_rows(self, frame: pd.DataFrame) -> torch.Tensor:
        """Table rows through the fitted recipe, as ``(rows, features)`` in the run's feature order."""
        names = self.context.feature_names or []
        needed = self.input_columns()
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise UnreadableFileError(
                f"the rows lack the column(s) {', '.join(missing)}; the model was trained on "
                f"{', '.join(needed)} (the label column may be left out)"
            )
        if frame.empty:
            raise UnreadableFileError("the table has no rows; give at least one row to predict")
        try:
            out = self.pipeline.apply(frame.reset_index(drop=True), self.context.recipe.seed)
        except RecipeError as error:
            raise UnreadableFileError(f"the recipe could not prepare these rows: {error}") from None
        absent = [n for n in names if n not in out.columns]
        if absent:
            raise UnreadableFileError(
                f"after the recipe the rows lack {', '.join(absent)}; check the columns"
            )
        try:
            values = out[names].to_numpy(dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise UnreadableFileError(f"some columns do not hold numbers after the recipe: {error}") from None
        if np.isnan(values).any():
            rows = sorted({int(r) + 1 for r in np.argwhere(np.isnan(values))[:, 0]})[:10]
            raise UnreadableFileError(
                f"row(s) {', '.join(map(str, rows))} still have empty cells after the recipe; fill them in"
            )
        return torch.from_numpy(values)

    def input_columns(self) -> list[str]:
        """The table columns the model was trained on, without the label (from the dataset version)."""
        if not self._modality.rows:
            return []
        try:
            view = self._version_view()
        except CanvasCraftError:
            return []
        label = view.version.label_column
        columns = view.items[0].columns if view.items else None
        return [str(c["name"]) for c in columns or [] if c["name"] != label]

    def _version_view(self) -> Any:
        from canvascraft.data.reads import open_version

        params = self.context.params
        if "dataset" not in params:
            raise ModelError(f"run {self.context.run_id} does not record its dataset")
        version = params.get("dataset_version")
        return open_version(params["dataset"], int(version) if version and version.isdigit() else None)

    # Predicting.

    @torch.no_grad()
    def probabilities(self, batch: torch.Tensor) -> np.ndarray:
        """Softmax of the model's output, ``(N, classes)`` float32."""
        logits = self.model(batch.float())
        return torch.softmax(logits.float(), dim=1).numpy().astype(np.float32)

    @torch.no_grad()
    def embeddings(self, batch: torch.Tensor) -> np.ndarray | None:
        """The model's penultimate-layer output ``(N, D)``, the same embedding validation logs; None when
        the model has no linear head to cut off."""
        if self._body is None:
            from canvascraft.training.evaluate import penultimate

            try:
                self._body = penultimate(self.model)
            except TypeError:
                self._body = False
        if self._body is False:
            return None
        return self._body(batch.float()).float().numpy().astype(np.float32)

    def prediction(self, row: np.ndarray, k: int = TOP_K) -> Prediction:
        """A row of probabilities (in class order) as a ``Prediction``."""
        order = np.argsort(-row, kind="stable")[:k]
        return Prediction(
            top=[(self.classes[i], float(row[i])) for i in order],
            probabilities={c: float(p) for c, p in zip(self.classes, row, strict=True)},
        )

    def predict_file(self, data: bytes, filename: str, k: int = TOP_K) -> Prediction:
        """One image or clip (or a one-row table); ``filename`` is shown in messages only."""
        batch = self.prepare_file(data, filename)
        if len(batch) != 1:
            raise self._unreadable(filename, f"it holds {len(batch)} rows; predict tables with predict_rows")
        return self.prediction(self.probabilities(batch)[0], k)

    def predict_item(self, sha256: str, k: int = TOP_K) -> Prediction:
        """A stored item (a sample from the dataset), by its content hash."""
        from canvascraft.data.reads import item_bytes

        if self._modality.rows:
            raise ModelError(f"{self.modality} samples are rows: use sample_rows() and predict_rows()")
        try:
            data = item_bytes(sha256)
        except (FileNotFoundError, ValueError, CanvasCraftError):
            raise ModelError(f"no stored item has the hash {sha256[:12]}…") from None
        return self.predict_file(data, sha256[:12], k)

    def sample_rows(self, indices: Sequence[int]) -> pd.DataFrame:
        """Rows of the run's table, by the labelled-row index validation uses (``predictions.json``)."""
        from canvascraft.training.data import table_frame

        params = self.context.params
        max_items = params.get("max_items")
        label, frame = table_frame(
            self._version_view(),
            params["dataset"],
            int(max_items) if max_items and max_items.isdigit() else None,
            int(params.get("split_seed", 0)),
        )
        frame = frame[frame[label].notna()].reset_index(drop=True)
        return frame.iloc[list(indices)].reset_index(drop=True)

    def predict_rows(self, frame: pd.DataFrame, k: int = TOP_K) -> pd.DataFrame:
        """The rows with ``predicted``, ``probability`` and one ``p(<class>)`` column per class."""
        probabilities = self.probabilities(self.prepare_rows(frame))
        out = frame.reset_index(drop=True).copy()
        top = probabilities.argmax(axis=1)
        out["predicted"] = [self.classes[i] for i in top]
        out["probability"] = probabilities[np.arange(len(top)), top]
        for i, name in enumerate(self.classes):
            out[f"p({name})"] = probabilities[:, i]
        return out

    def predict_many(self, files: Iterable[tuple[str, bytes]]) -> pd.DataFrame:
        """One row per file (per table row for tables): ``file``, ``predicted``, ``probability``,
        ``error`` (why a file could not be read; the others are empty then)."""
        rows: list[dict[str, Any]] = []
        for name, data in files:
            try:
                if self._modality.rows:
                    table = self.predict_rows(read_rows(data, name, self))
                    rows += [
                        {"file": f"{name} row {i + 1}", "predicted": p, "probability": float(q), "error": ""}
                        for i, (p, q) in enumerate(zip(table["predicted"], table["probability"], strict=True))
                    ]
                    continue
                result = self.predict_file(data, name)
                rows.append({"file": name, "predicted": result.label, "probability": result.probability,
                             "error": ""})  # fmt: skip
            except CanvasCraftError as error:
                rows.append({"file": name, "predicted": "", "probability": float("nan"), "error": str(error)})
        return pd.DataFrame(rows, columns=["file", "predicted", "probability", "error"])

    def predict_folder(self, paths: Iterable[Path]) -> pd.DataFrame:
        """``predict_many`` over files on disk (a folder's files, sorted); links and folders are left out."""
        files = []
        for path in sorted(Path(p) for p in paths):
            if path.is_symlink() or not path.is_file():
                continue
            files.append((path.name, path.read_bytes()))
        return self.predict_many(files)

    def _unreadable(self, filename: str, reason: str) -> UnreadableFileError:
        return UnreadableFileError(
            f"cannot read {filename!r}: {reason}. This model reads {self._modality.reads}"
        )


def read_rows(data: bytes, filename: str, predictor: Predictor) -> pd.DataFrame:
    """An uploaded CSV or Parquet file for a table model, as a frame, checked as an import checks it."""
    modality = get_modality(predictor.modality)
    try:
        return modality.read_file(data, filename)
    except CorruptItemError as error:
        what = modality.reads
        raise UnreadableFileError(f"cannot read {filename!r}: {error}. This model reads {what}") from None
    except (ValueError, OSError) as error:
        raise UnreadableFileError(f"cannot read {filename!r}: {error}") from None


def folder_files(folder: Path) -> list[Path]:
    """The plain files directly in ``folder`` (not links, not sub-folders), sorted by name."""
    if not folder.is_dir():
        raise UnreadableFileError(f"{folder} is not a folder")
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink())


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula (``=HYPERLINK(…)``, ``@SUM(…)``)."""


def predictions_csv(frame: pd.DataFrame) -> bytes:
    """A predictions table as UTF-8 CSV, for download. Text cells (file names, labels, a table's own
    values) that a spreadsheet would run as a formula get a leading ``'``, so they open as text."""
    buffer = io.StringIO()
    frame.map(_as_text_cell).to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def _as_text_cell(value: Any) -> Any:
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _logged_shape(run_id: str) -> tuple[int, ...] | None:
    """The input shape of the model a run logged, or None when it logged none (yet)."""
    from mlflow.models import Model

    from canvascraft.gallery.registry import local_folder, logged_model_id

    client = tracking_client()
    try:
        model_id = logged_model_id(client, run_id)
    except ModelError:
        return None
    folder = local_folder(client.get_logged_model(model_id).artifact_location)
    if folder is None or not (folder / "MLmodel").exists():
        return None
    return signature_shapes(Model.load(str(folder)))[0]


def _shape_from_weights(state: dict[str, torch.Tensor], modality: Modality) -> tuple[int, ...]:
    """An input shape a trainer accepts, from the first weight: dim 1 is the input channels (or features)."""
    first = next((t for t in state.values() if t.ndim >= 2), None)
    if first is None:
        raise ModelError("the checkpoint holds no layer weights; it is not a CanvasCraft model")
    return modality.probe_shape(int(first.shape[1]))
