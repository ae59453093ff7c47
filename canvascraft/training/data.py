"""Torch datasets over a dataset version and a recipe: what the training loop iterates.

Items run through the recipe exactly as the preview runs them, under
``item_seed(recipe.seed, manifest index, epoch)``, so an epoch's augmentations are reproducible and
differ from one epoch to the next. Table brushes learn from the training rows only: validation rows
never shape the scaling or the encoding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset, TensorDataset

from canvascraft.brushes.audio import Clip, Features
from canvascraft.data.catalog import VersionView
from canvascraft.data.reads import item_bytes, open_version, table_rows
from canvascraft.errors import DatasetError
from canvascraft.modalities import Reader, all_modalities, get_modality, listed
from canvascraft.recipe.compose import Pipeline, compose, item_seed
from canvascraft.recipe.spec import Recipe, validate_recipe
from canvascraft.training.split import Member as Member
from canvascraft.training.split import SplitData as SplitData
from canvascraft.training.split import stratified_split

Sample = tuple[torch.Tensor, int]


def as_tensor(sample: Any) -> torch.Tensor:
    """A pipeline's output as the float32 tensor a model reads (audio gains a channel axis)."""
    if isinstance(sample, Features):
        return torch.from_numpy(sample.values.copy())[None]
    if isinstance(sample, Clip):
        raise DatasetError("the recipe ends with a waveform: add mel_spectrogram or mfcc to train on audio")
    if isinstance(sample, torch.Tensor):
        if sample.dtype == torch.uint8:
            return sample.float() / 255.0
        return sample.float()
    raise DatasetError(f"the recipe produced {type(sample).__name__}, which no model reads")


def same_size(batch: Sequence[Sample]) -> tuple[torch.Tensor, torch.Tensor]:
    """Collate pictures that must share one size, saying which sizes met instead of torch's "stack
    expects each tensor to be equal size" when a recipe leaves them as they came."""
    shapes = sorted({tuple(x.shape) for x, _ in batch})
    if len(shapes) > 1:
        shown = ", ".join("×".join(map(str, shape)) for shape in shapes[:4]) + (
            " …" if len(shapes) > 4 else ""
        )
        raise DatasetError(
            f"the recipe leaves pictures of {len(shapes)} different sizes ({shown}); "
            "add a resize brush (resize or random_resized_crop) to the recipe so every picture has one size"
        )
    return torch.stack([x for x, _ in batch]), torch.tensor([y for _, y in batch])


def pad_frames(batch: Sequence[Sample]) -> tuple[torch.Tensor, torch.Tensor]:
    """Collate spectrograms of different lengths (trimmed or stretched clips) by zero-padding time."""
    frames = max(x.shape[-1] for x, _ in batch)
    xs = [torch.nn.functional.pad(x, (0, frames - x.shape[-1])) for x, _ in batch]
    return torch.stack(xs), torch.tensor([y for _, y in batch])


class ItemDataset(Dataset[Sample]):
    """Image or audio items of one version: decodes the stored bytes and applies the pipeline."""

    def __init__(
        self,
        view: VersionView,
        indices: Sequence[int],
        pipeline: Pipeline,
        classes: Sequence[str],
        epoch: int = 0,
        *,
        read: Callable[[str], bytes] = item_bytes,
    ) -> None:
        modality = get_modality(view.modality)
        if modality.rows:
            per_file = [m.name for m in all_modalities() if not m.rows]
            raise DatasetError(f"ItemDataset reads {listed(per_file)} versions, not {view.modality}")
        self.modality = modality
        self.view = view
        self.indices = list(indices)
        self.pipeline = pipeline
        self.classes = list(classes)
        self.epoch = epoch
        self.read = read
        self._class_index = {c: i for i, c in enumerate(self.classes)}
        unknown = {view.items[i].label for i in self.indices} - set(self._class_index)
        if unknown:
            raise DatasetError(f"items labelled {sorted(map(str, unknown))} are not among the classes")
        # The modality says how a DataLoader batches its items (audio pads by time; images keep the
        # default collation, the recipe sizes them).
        self.collate_fn = modality.collate_fn()

    def set_epoch(self, epoch: int) -> None:
        """The loop calls this before each epoch so augmentations differ between epochs."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> Sample:
        index = self.indices[position]
        item = self.view.items[index]
        data = self.read(item.sha256)
        sample = self.modality.decode(data, item.format)
        out = self.pipeline.apply(sample, item_seed(self.pipeline.recipe.seed, index, self.epoch))
        return as_tensor(out), self._class_index[str(item.label)]


def table_features(frame: pd.DataFrame, label_column: str) -> tuple[np.ndarray, list[str]]:
    """The transformed rows as a float32 matrix; non-numeric or missing values are recipe mistakes."""
    features = frame.drop(columns=[label_column])
    text = [str(c) for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if text:
        raise DatasetError(
            f"columns {', '.join(text)} are not numbers after the recipe: add one_hot_encode to the recipe"
        )
    values = features.to_numpy(dtype=np.float32)
    if np.isnan(values).any():
        raise DatasetError("some cells are still empty after the recipe: add impute_missing to the recipe")
    return values, [str(c) for c in features.columns]


def split_table(
    frame: pd.DataFrame, label_column: str, recipe: Recipe, val_fraction: float, seed: int
) -> SplitData:
    """Fit the recipe on the training rows, then transform both splits with what it learned."""
    if label_column not in frame.columns:
        raise DatasetError(f"the label column {label_column!r} is not in the table")
    frame = frame[frame[label_column].notna()].reset_index(drop=True)
    labels = frame[label_column].astype(str).tolist()
    classes = sorted(set(labels))
    train_idx, val_idx = stratified_split(labels, val_fraction, seed)
    train_rows = frame.iloc[train_idx].reset_index(drop=True)
    val_rows = frame.iloc[val_idx].reset_index(drop=True)
    train_pipeline = compose(recipe, "train").fit(train_rows, label_column)
    state = train_pipeline.state()
    eval_pipeline = compose(recipe, "eval")
    eval_pipeline.load_state(state)
    x_train, names = table_features(train_pipeline.apply(train_rows, recipe.seed), label_column)
    x_val, _ = table_features(eval_pipeline.apply(val_rows, recipe.seed), label_column)
    index = {c: i for i, c in enumerate(classes)}

    def tensors(x: np.ndarray, rows: list[int]) -> TensorDataset:
        return TensorDataset(torch.from_numpy(x), torch.tensor([index[labels[i]] for i in rows]))

    return SplitData(
        modality="table",
        classes=classes,
        train=tensors(x_train, train_idx),
        val=tensors(x_val, val_idx),
        input_shape=(x_train.shape[1],),
        train_indices=train_idx,
        val_indices=val_idx,
        table_state=state,
        feature_names=names,
    )


def load_split(
    dataset_name: str,
    recipe: Recipe | dict[str, Any],
    val_fraction: float = 0.2,
    seed: int = 0,
    *,
    version: int | None = None,
    max_items: int | None = None,
) -> SplitData:
    """Train and validation datasets of a version (the latest by default) under ``recipe``.

    ``max_items`` keeps a seeded, stratified subset first (quick trial runs on big datasets).
    Indices in the result refer to labelled items (rows) in manifest order.
    """
    recipe = validate_recipe(recipe)
    view = open_version(dataset_name, version)
    if recipe.modality != view.modality:
        raise DatasetError(
            f"recipe {recipe.name!r} is for {recipe.modality}, but dataset {dataset_name!r} holds "
            f"{view.modality}; pick a {view.modality} recipe"
        )
    return get_modality(view.modality).split(
        view, recipe, val_fraction=val_fraction, seed=seed, max_items=max_items
    )


def split_items(
    view: VersionView,
    recipe: Recipe,
    val_fraction: float,
    seed: int,
    max_items: int | None,
    read: Reader = item_bytes,
) -> SplitData:
    """Both splits of a version whose items are one sample each (images, clips): each runs the
    recipe as it is read."""
    train_idx, val_idx, classes = item_split(view, val_fraction, seed, max_items)
    train = ItemDataset(view, train_idx, compose(recipe, "train"), classes, read=read)
    val = ItemDataset(view, val_idx, compose(recipe, "eval"), classes, read=read)
    if len(val) == 0:
        raise DatasetError(f"dataset {view.dataset!r} is too small to keep items aside for validation")
    return SplitData(
        modality=view.modality,
        classes=classes,
        train=train,
        val=val,
        input_shape=tuple(val[0][0].shape),
        train_indices=train_idx,
        val_indices=val_idx,
    )


def split_rows(
    view: VersionView,
    recipe: Recipe,
    val_fraction: float,
    seed: int,
    max_items: int | None,
    read: Reader = item_bytes,
) -> SplitData:
    """Both splits of a table version: its rows, the recipe fitted on the training rows only."""
    label_column, frame = table_frame(view, view.dataset, max_items, seed, read=read)
    return split_table(frame, label_column, recipe, val_fraction, seed)


def validation_members(
    dataset_name: str,
    val_fraction: float = 0.2,
    seed: int = 0,
    *,
    version: int | None = None,
    max_items: int | None = None,
) -> list[Member]:
    """The validation split ``load_split`` would make with these settings, without running a recipe."""
    view = open_version(dataset_name, version)
    return get_modality(view.modality).members(
        view, val_fraction=val_fraction, seed=seed, max_items=max_items
    )


def item_members(view: VersionView, val_fraction: float, seed: int, max_items: int | None) -> list[Member]:
    """The validation items of a version whose items are one sample each."""
    _, val_idx, _ = item_split(view, val_fraction, seed, max_items)
    return [Member(i, view.items[i].name, str(view.items[i].label), view.items[i].sha256) for i in val_idx]


def row_members(
    view: VersionView, val_fraction: float, seed: int, max_items: int | None, read: Reader = item_bytes
) -> list[Member]:
    """The validation rows of a table version (a row has no stored file of its own)."""
    label_column, frame = table_frame(view, view.dataset, max_items, seed, read=read)
    labels = frame[label_column].dropna().astype(str).tolist()
    _, val_rows = stratified_split(labels, val_fraction, seed)
    return [Member(i, f"row {i + 1}", labels[i], None) for i in val_rows]


def table_frame(
    view: VersionView, dataset_name: str, max_items: int | None, seed: int, *, read: Reader = item_bytes
) -> tuple[str, pd.DataFrame]:
    """The label column and the rows a table run reads (a seeded stratified subset with ``max_items``)."""
    label_column = view.version.label_column
    if label_column is None:
        raise DatasetError(f"dataset {dataset_name!r} has no label column; import it with one")
    frame = table_rows(view, read)
    if max_items is not None and max_items < len(frame):
        keep = _subset(frame[label_column].astype(str).tolist(), max_items, seed)
        frame = frame.iloc[keep].reset_index(drop=True)
    return label_column, frame


def item_split(
    view: VersionView, val_fraction: float, seed: int, max_items: int | None
) -> tuple[list[int], list[int], list[str]]:
    """Manifest indices of the training and validation items, and the sorted class names.

    Generated items never reach validation: the split is drawn over the imported items alone (so a
    version the DiffusionBrush made validates on exactly the items its source version did, and their
    runs compare), and every generated item joins training (with ``max_items``, the same share of them).
    Held-back items (labelled from a drift check and kept aside) never reach training: all of them
    validate, uncapped, so a retrain is measured on new items neither version learned.
    """
    held = [i for i, item in enumerate(view.items) if item.label is not None and item.is_held_back]
    labelled = [
        i for i, item in enumerate(view.items)
        if item.label is not None and not item.is_generated and not item.is_held_back
    ]  # fmt: skip
    made = [i for i, item in enumerate(view.items) if item.label is not None and item.is_generated]
    if max_items is not None and max_items < len(labelled) + len(made):
        share = max_items / (len(labelled) + len(made))
        labelled = _keep(view, labelled, max(round(share * len(labelled)), 1), seed)
        made = _keep(view, made, round(share * len(made)), seed) if made else []
    labels = [str(view.items[i].label) for i in labelled]
    train_pos, val_pos = stratified_split(labels, val_fraction, seed)
    classes = sorted(set(labels) | {str(view.items[i].label) for i in made + held})
    train = sorted([labelled[p] for p in train_pos] + made)
    return train, sorted([labelled[p] for p in val_pos] + held), classes


def _keep(view: VersionView, indices: list[int], n: int, seed: int) -> list[int]:
    """About ``n`` of ``indices``, stratified by label (all of them when ``n`` covers them)."""
    if n >= len(indices):
        return indices
    if n <= 0:
        return []
    return [indices[k] for k in _subset([str(view.items[i].label) for i in indices], n, seed)]


def _subset(labels: list[str], n: int, seed: int) -> list[int]:
    """About ``n`` positions, stratified, via the split's own seeded draw."""
    _, keep = stratified_split(labels, max(n, 1) / len(labels), seed)
    return keep
