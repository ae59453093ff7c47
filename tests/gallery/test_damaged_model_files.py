"""A registered version whose files were damaged or replaced is named as unreadable, and nothing runs.

Each case edits a real registered version's folder in place (truncated, garbage or empty program,
another model's program of another shape or of the same shape, a missing program or ``MLmodel``, an
``MLmodel`` that is not a mapping or is another model's), then every door that loads a version (Try
and predict, the CLI, ``serve``, drift checks) must refuse it with one plain sentence naming the
version, never torch's traceback and never another model's predictions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from canvascraft.errors import DriftError, ModelError
from canvascraft.gallery.predict import Predictor
from canvascraft.gallery.registry import ModelVersionInfo, model_folder, register
from canvascraft.gallery.serve import serve_command
from canvascraft.services.drift import check_once
from canvascraft.tracking.runs import PROGRAM_DIGEST_TAG, PROGRAM_PATH, tracking_client
from tests.conftest import TrainedTemplate
from tests.test_cli import assert_one_error_line

Damage = Callable[[Path, Callable[[str], Path]], None]
"""Edits a version's folder; the second argument gives another tiny run's model folder by key."""


def _write(relative: str, data: bytes) -> Damage:
    return lambda folder, other: (folder / relative).write_bytes(data)


def _truncate(folder: Path, other: Callable[[str], Path]) -> None:
    program = folder / PROGRAM_PATH
    program.write_bytes(program.read_bytes()[:1000])


def _copy_from(key: str, relative: str) -> Damage:
    return lambda folder, other: shutil.copy2(other(key) / relative, folder / relative)


def _remove(relative: str) -> Damage:
    return lambda folder, other: (folder / relative).unlink()


CASES: dict[str, tuple[Damage, str]] = {
    "truncated program": (_truncate, "its model.pt2 is not a program archive"),
    "garbage program": (_write(PROGRAM_PATH, os.urandom(3000)), "its model.pt2 is not a program archive"),
    "empty program": (_write(PROGRAM_PATH, b""), "its model.pt2 is not a program archive"),
    "another shape's program": (_copy_from("image", PROGRAM_PATH), "not the program its run logged"),
    "same shape, other weights": (_copy_from("twin", PROGRAM_PATH), "not the program its run logged"),
    "no program": (_remove(PROGRAM_PATH), "its folder has no model.pt2"),
    "no MLmodel": (_remove("MLmodel"), "its MLmodel file cannot be read"),
    "MLmodel not a mapping": (_write("MLmodel", b"flavors: 7\n"), "does not describe a PyTorch model"),
    "MLmodel of another run": (_copy_from("image", "MLmodel"), "its MLmodel belongs to run"),
}


@pytest.fixture
def version(damageable: Callable[[str], str]) -> Iterator[ModelVersionInfo]:
    """A fresh version of the damageable table run; its folder is shared with the run's other versions,
    so it is put back as it was afterwards."""
    info = register(damageable("table"), "damaged-files", alias="champion")
    folder = model_folder(info)
    backup = folder.with_name(folder.name + ".backup")
    shutil.copytree(folder, backup)
    try:
        yield info
    finally:
        shutil.rmtree(folder)
        backup.rename(folder)


def _template_model_folder(template: TrainedTemplate, run_id: str) -> Path:
    """The shared template's model folder logged by ``run_id`` (only ever read here)."""
    for mlmodel in (template.path / "mlartifacts").rglob("MLmodel"):
        if f"run_id: {run_id}" in mlmodel.read_text():
            return mlmodel.parent
    raise AssertionError(f"no logged model of run {run_id} in the trained template")


@pytest.fixture
def other(damageable: Callable[[str], str], trained_runs_template: TrainedTemplate) -> Callable[[str], Path]:
    """``other("twin")``: the other damageable table run; ``other("image")``: the shared tiny image run."""

    def folder(key: str) -> Path:
        if key == "image":
            return _template_model_folder(trained_runs_template, trained_runs_template.run_ids["image"])
        return model_folder(register(damageable(key), f"donor-{key}"))

    return folder


@contextmanager
def without_recorded_digest(info: ModelVersionInfo) -> Iterator[None]:
    """As a model logged before the studio recorded its program's sha256."""
    client = tracking_client()
    assert info.model_id
    digest = client.get_logged_model(info.model_id).tags[PROGRAM_DIGEST_TAG]
    client.delete_logged_model_tag(info.model_id, PROGRAM_DIGEST_TAG)
    try:
        yield
    finally:
        client.set_logged_model_tags(info.model_id, {PROGRAM_DIGEST_TAG: digest})


@pytest.mark.parametrize("case", list(CASES))
def test_a_damaged_or_foreign_file_names_the_version(
    case: str, version: ModelVersionInfo, other: Callable[[str], Path]
) -> None:
    damage, why = CASES[case]
    damage(model_folder(version), other)
    with pytest.raises(ModelError, match=r"damaged-files/\d+ is unreadable and may be damaged") as caught:
        Predictor.from_ref("damaged-files@champion")
    assert why in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_foreign_program_logged_before_digests_is_caught_by_its_shape(
    version: ModelVersionInfo, other: Callable[[str], Path]
) -> None:
    _copy_from("image", PROGRAM_PATH)(model_folder(version), other)
    with without_recorded_digest(version):
        with pytest.raises(ModelError, match=r"its program reads 3×\d+×\d+ values where its MLmodel says 12"):
            Predictor.from_ref("damaged-files@champion")
        with pytest.raises(ModelError, match="another model's"):
            serve_command("damaged-files@champion")


def test_a_recorded_digest_leaves_a_sound_version_loadable(version: ModelVersionInfo) -> None:
    assert version.model_id
    assert tracking_client().get_logged_model(version.model_id).tags.get(PROGRAM_DIGEST_TAG)
    predictor = Predictor.from_ref("damaged-files@champion")
    assert predictor.source == version.ref


def test_predict_serve_and_drift_say_it_plainly(
    version: ModelVersionInfo, other: Callable[[str], Path], damageable_workspace: Path
) -> None:
    _copy_from("image", PROGRAM_PATH)(model_folder(version), other)
    table = next((damageable_workspace / "sample-data").rglob("*.csv"))
    done = subprocess.run(
        [sys.executable, "-m", "canvascraft.cli", "predict", "damaged-files@champion", str(table)],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert_one_error_line(done.stderr, f"{version.ref} is unreadable and may be damaged")
    assert "row" not in done.stdout  # no prediction was printed
    with pytest.raises(ModelError, match=f"{version.ref} is unreadable"):
        serve_command("damaged-files@champion")
    with pytest.raises(DriftError, match=f"{version.ref} is unreadable"):
        check_once("damaged-files@champion", "sample-table")
