"""``ModalityContract``: what every registered modality must do for imports, training, drift checks,
predictions and previews, checked on real files the way a user's files go through the studio.

A modality's test subclasses it and provides the ``modality`` fixture (parametrised over the modalities
it covers). The sample files come from the studio's own sample datasets (``data.sample``); a modality
without one overrides ``sample_files``. Everything runs in memory: a version is built from the files'
inspection, stored bytes are read from a dict, and the predictor wraps a fresh model of the modality's
first trainer, so no database, blob store or MLflow run is needed.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from canvascraft.data.catalog import MANIFEST_FIELDS, ItemView, VersionSummary, VersionView
from canvascraft.data.inspect import inspect_item, modality_of
from canvascraft.data.sample import SAMPLE_DATASETS, SAMPLE_TABLE_LABEL, write_sample_data
from canvascraft.drift.profile import Profile, build_profile
from canvascraft.errors import CorruptItemError, DriftError, UnreadableFileError
from canvascraft.modalities import Modality, get_modality, modality_for_file
from canvascraft.recipe.spec import MODALITIES, Recipe
from canvascraft.recipe.starters import STARTER_RECIPES
from canvascraft.training.split import SplitData
from canvascraft.training.trainers import all_trainers

SampleFile = tuple[str, bytes, str | None]
"""A file as an import finds it: its name, its bytes and the label its folder gives (None for rows)."""

MAX_PIXELS = 50_000_000
PNG = b"\x89PNG\r\n\x1a\n"


class Contract:
    """An in-memory version of sample files, with the reader its items' bytes come from."""

    def __init__(self, modality: Modality, files: list[SampleFile], label_column: str | None) -> None:
        self.modality = modality
        self.files = files
        self.blobs: dict[str, bytes] = {}
        items = []
        for name, data, label in sorted(files):
            info = modality.inspect(name, data, max_image_pixels=MAX_PIXELS, label_column=label_column)
            sha256 = hashlib.sha256(data).hexdigest()
            self.blobs[sha256] = data
            row = {**vars(info), "name": name, "label": label, "sha256": sha256, "size_bytes": len(data)}
            items.append(ItemView(**{field: row.get(field) for field in MANIFEST_FIELDS}))
        labels = {item.label for item in items if item.label is not None}
        summary = VersionSummary(1, datetime.now(UTC), "contract", label_column, len(items), len(items), 0,
                                 len(labels))  # fmt: skip
        self.view = VersionView("contract", modality.name, summary, items, [])

    def read(self, sha256: str) -> bytes:
        return self.blobs[sha256]


class ModalityContract:
    per_label: ClassVar[int] = 4
    """Sample files kept per label: enough for a stratified split, few enough to stay quick."""
    val_fraction: ClassVar[float] = 0.25

    # Hooks a modality's test may override.

    @pytest.fixture(scope="class")
    @classmethod
    def sample_root(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        """The studio's sample datasets, written once per test class."""
        root = tmp_path_factory.mktemp("modality-samples")
        write_sample_data(root, seed=0)
        return root

    def sample_files(self, modality: Modality, sample_root: Path) -> list[SampleFile]:
        """A few files of the modality's sample dataset, labelled by their folder (rows: by a column)."""
        folder = sample_root / next(name for name, kind in SAMPLE_DATASETS.items() if kind == modality.name)
        paths = sorted(p for p in folder.rglob("*") if p.is_file())
        if modality.rows:
            return [(path.name, path.read_bytes(), None) for path in paths]
        kept: dict[str, int] = {}
        files: list[SampleFile] = []
        for path in paths:
            label = path.parent.name
            if kept.get(label, 0) < self.per_label:
                kept[label] = kept.get(label, 0) + 1
                files.append((path.name, path.read_bytes(), label))
        return files

    def label_column(self, modality: Modality) -> str | None:
        return SAMPLE_TABLE_LABEL if modality.rows else None

    def recipe(self, modality: Modality) -> Recipe:
        return next(recipe for recipe in STARTER_RECIPES if recipe.modality == modality.name)

    def corrupt_file(self, modality: Modality) -> tuple[str, bytes]:
        """Bytes no decoder accepts (nor UTF-8 text), under a name the modality claims. They must not start
        with ``0xFF 0xFx`` either: libsndfile reads that as an MPEG frame and decodes noise from it."""
        return f"broken{next(iter(modality.extensions))}", b"not a real file \x00\xc3\x28 just bytes " * 8

    # Helpers.

    @pytest.fixture
    def contract(self, modality: Modality, sample_root: Path) -> Contract:
        return Contract(modality, self.sample_files(modality, sample_root), self.label_column(modality))

    def split(self, contract: Contract) -> SplitData:
        return contract.modality.split(
            contract.view,
            self.recipe(contract.modality),
            val_fraction=self.val_fraction,
            seed=0,
            max_items=None,
            read=contract.read,
        )

    def predictor(self, contract: Contract, split: SplitData) -> Any:
        """A fresh model of the modality's first trainer, with the run context training would log."""
        from canvascraft.gallery.predict import Predictor, RunContext

        trainer = all_trainers(contract.modality.name)[0](seed=0)  # type: ignore[call-arg]
        model = trainer.build_model(split.input_shape, len(split.classes)).eval()
        context = RunContext(
            run_id="contract",
            modality=contract.modality.name,
            recipe=self.recipe(contract.modality),
            classes=split.classes,
            params={},
            table_state=split.table_state,
            feature_names=split.feature_names,
        )
        return Predictor(model, context, input_shape=split.input_shape, source="contract")

    @staticmethod
    def batches(split: SplitData) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        loader = DataLoader(split.train, batch_size=4, collate_fn=getattr(split.train, "collate_fn", None))
        yield from loader

    # The contract.

    def test_is_registered_and_names_its_files(self, modality: Modality) -> None:
        assert get_modality(modality.name) is modality
        assert modality.name == modality.name.lower() and modality.name in MODALITIES
        assert modality.files.strip() and modality.reads.strip()
        assert modality.extensions
        for suffix, fmt in modality.extensions.items():
            assert suffix.startswith(".") and suffix == suffix.lower() and fmt
            assert modality_for_file(f"cat{suffix.upper()}") is modality
            assert modality_of(f"a/b/cat{suffix}") == modality.name
        assert isinstance(modality.rows, bool)
        if modality.signals:
            assert modality.item_noun, "drift sentences name the items whose signals moved"
            assert all(rose.strip() and fell.strip() for rose, fell in modality.signals.values())

    def test_a_sample_file_inspects_and_decodes(self, modality: Modality, contract: Contract) -> None:
        """What an import stores is what training and predictions decode."""
        for name, data, _ in contract.files[:3]:
            info = inspect_item(
                name, data, max_image_pixels=MAX_PIXELS, label_column=self.label_column(modality)
            )
            assert info.modality == modality.name and info.format in modality.extensions.values()
            decoded = modality.decode(data, info.format)
            assert type(modality.read_file(data, name)) is type(decoded)

    def test_batches_to_the_shape_training_uses(self, contract: Contract) -> None:
        split = self.split(contract)
        assert split.modality == contract.modality.name and split.classes
        assert split.train_indices and split.val_indices
        seen = 0
        for x, y in self.batches(split):
            assert x.dtype == torch.float32 and torch.isfinite(x).all()
            assert tuple(x.shape[1:]) == split.input_shape and len(y) == len(x)
            assert int(y.min()) >= 0 and int(y.max()) < len(split.classes)
            seen += len(x)
        assert seen == len(split.train_indices)
        members = contract.modality.members(
            contract.view, val_fraction=self.val_fraction, seed=0, max_items=None, read=contract.read
        )
        assert [m.index for m in members] == split.val_indices, "pins are offered from the validation split"

    def test_items_become_baseline_features_a_classical_model_fits(self, contract: Contract) -> None:
        """Every run's baseline (``canvascraft.training.baseline``) reads the modality's baseline
        features: one finite flat vector per prepared item, the same length for every item (audio clips
        of different lengths included), fitted and scored on the split; or none at all."""
        from canvascraft.training.baseline import fit_baseline

        modality, split = contract.modality, self.split(contract)
        vectors = [modality.baseline_features(split.train[i][0]) for i in range(len(split.train))]
        if all(v is None for v in vectors):
            assert fit_baseline(split) is None
            return
        assert all(v is not None and v.ndim == 1 and torch.isfinite(v).all() for v in vectors)
        assert len({len(v) for v in vectors if v is not None}) == 1
        baseline = fit_baseline(split)
        assert baseline is not None and baseline.val_items == len(split.val)
        assert baseline.model.startswith("logistic regression on ")
        assert baseline.model.endswith(modality.baseline_input(split.input_shape))
        assert 0.0 <= baseline.figures["accuracy"] <= 1.0

    def test_describes_items_to_drift_as_finite_features(self, contract: Contract) -> None:
        modality = contract.modality
        frame = modality.drift_frame(contract.view, range(len(contract.view.items)), read=contract.read)
        assert len(frame) > 0
        assert self.label_column(modality) not in frame.columns, "the label is the model's output"
        numeric = frame.select_dtypes("number").to_numpy(dtype=np.float64)
        assert not np.isinf(numeric).any()
        if modality.signals:
            assert list(frame.columns) == list(modality.signals)
            assert np.isfinite(numeric).all()
            features = modality.signal_features(contract.files[0][1])
            assert list(features) == list(modality.signals)
            assert all(math.isfinite(value) for value in features.values())
        profile = build_profile(modality.name, frame, {"a": 1})
        assert Profile.from_json(profile.to_json()) == profile, "the profile is stored as strict JSON"

    def test_a_new_file_becomes_predictor_input_of_the_trained_shape(self, contract: Contract) -> None:
        split = self.split(contract)
        predictor = self.predictor(contract, split)
        for name, data, _ in contract.files[:2]:
            batch = predictor.prepare_file(data, name)
            assert batch.dtype == torch.float32 and tuple(batch.shape[1:]) == split.input_shape
            if contract.modality.rows:
                assert len(batch) == len(
                    contract.modality.decode(data, contract.modality.format_of(name) or "")
                )
            else:
                assert len(batch) == 1
            probabilities = predictor.probabilities(batch)
            assert probabilities.shape == (len(batch), len(split.classes))
            assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)

    def test_a_checkpoint_rebuilds_from_its_first_weight(self, contract: Contract) -> None:
        """A job's checkpoint without a logged model is rebuilt from ``probe_shape`` and gives the same
        predictions as the model that saved it."""
        split = self.split(contract)
        predictor = self.predictor(contract, split)
        state = predictor.model.state_dict()
        first = next(t for t in state.values() if t.ndim >= 2)
        trainer = all_trainers(contract.modality.name)[0](seed=1)  # type: ignore[call-arg]
        rebuilt = trainer.build_model(contract.modality.probe_shape(int(first.shape[1])), len(split.classes))
        rebuilt.load_state_dict(state)
        batch = predictor.prepare_file(contract.files[0][1], contract.files[0][0])
        with torch.no_grad():
            assert torch.allclose(rebuilt.eval()(batch), predictor.model(batch), atol=1e-5)

    def test_a_corrupt_file_is_refused_with_a_clear_error(self, contract: Contract) -> None:
        modality = contract.modality
        name, data = self.corrupt_file(modality)
        with pytest.raises(CorruptItemError):
            inspect_item(name, data, max_image_pixels=MAX_PIXELS, label_column=self.label_column(modality))
        with pytest.raises(CorruptItemError):
            modality.read_file(data, name)
        predictor = self.predictor(contract, self.split(contract))
        message = rf"cannot read '{re.escape(name)}'.*This model reads {re.escape(modality.reads)}"
        with pytest.raises(UnreadableFileError, match=message):
            predictor.prepare_file(data, name)
        if modality.signals:
            with pytest.raises(DriftError, match="cannot read"):
                modality.signal_features(data)

    def test_previews_a_version_as_a_picture(self, contract: Contract) -> None:
        png = contract.modality.preview_png(
            self.recipe(contract.modality), contract.view, count=2, n_variants=2, seed=0, read=contract.read
        )
        assert png.startswith(PNG)


__all__ = ["Contract", "ModalityContract", "SampleFile"]
