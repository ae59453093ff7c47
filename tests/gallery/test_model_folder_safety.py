"""A model folder is data: a pickle planted in it never runs, wherever the studio loads the model.

The planted pickle, when unpickled, creates a marker file; every path that loads a registered version
(Try and predict, MLflow's model server behind ``serve``, drift checks, retraining's comparison) must
refuse the folder with a plain message naming the version, and the marker must never appear.
"""

from __future__ import annotations

import pickle
import shutil
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from canvascraft.errors import DriftError, ModelError
from canvascraft.gallery.predict import Predictor
from canvascraft.gallery.registry import model_folder, register, resolve
from canvascraft.gallery.serve import serve_command, serve_env
from canvascraft.services.drift import check_once
from canvascraft.services.retrain import compare_on_same_items
from tests.local_servers import HOST, free_port, started

SERVER_EXIT_S = 180.0


class Payload:
    """Unpickling this creates ``marker``: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


@pytest.fixture
def planted(damageable: Callable[[str], str], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``planted@champion``, whose folder holds a pickled ``model.pth`` as MLflow's pickle format
    lays it out; the files are removed afterwards (the folder is shared with other tests' versions)."""
    info = register(damageable("table"), "planted", alias="champion")
    data = model_folder(info) / "data"
    marker = tmp_path / "code-ran"
    (data / "model.pth").write_bytes(pickle.dumps(Payload(marker)))
    (data / "pickle_module_info.txt").write_text("pickle")
    try:
        yield "planted@champion", marker
    finally:
        (data / "model.pth").unlink()
        (data / "pickle_module_info.txt").unlink()


def test_try_and_predict_refuse_the_folder_and_run_nothing(planted: tuple[str, Path]) -> None:
    ref, marker = planted
    with pytest.raises(ModelError, match=r"planted/\d+ was not loaded: its folder holds pickled files"):
        Predictor.from_ref(ref)
    assert not marker.exists()


def test_serve_refuses_before_starting_and_its_server_refuses_pickle_too(
    planted: tuple[str, Path], cwd: Path, tmp_path: Path
) -> None:
    ref, marker = planted
    with pytest.raises(ModelError, match="pickled files"):
        serve_command(ref)
    # MLflow's own server, started without the studio's check, still runs no pickle: the switch is off.
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/planted@champion",
               "--env-manager", "local", "-h", HOST, "-p", str(port), "-w", "1"]  # fmt: skip
    log = tmp_path / "serve.log"
    with started(command, cwd, log, env=serve_env()) as server:
        server.wait(timeout=SERVER_EXIT_S)  # the worker cannot load the model, so the server gives up
    assert "Deserializing model using pickle is disallowed" in log.read_text()
    assert not marker.exists()


def test_drift_checks_and_retraining_refuse_the_folder_and_run_nothing(
    planted: tuple[str, Path], damageable: Callable[[str], str]
) -> None:
    ref, marker = planted
    with pytest.raises(DriftError, match=r"planted/\d+ was not loaded: its folder holds pickled files"):
        check_once(ref, "sample-table")  # the same run_check a scheduled check's job runs
    candidate = register(damageable("table"), "planted-candidate")
    with pytest.raises(ModelError, match="pickled files"):
        compare_on_same_items(resolve(ref), candidate)
    assert not marker.exists()


def test_a_pickle_inside_the_exported_program_never_runs(
    damageable: Callable[[str], str], tmp_path: Path
) -> None:
    info = register(damageable("table"), "tampered", alias="champion")
    program = model_folder(info) / "data" / "model.pt2"
    original = tmp_path / "model.pt2"
    shutil.copy2(program, original)
    marker = tmp_path / "code-ran"
    try:
        with zipfile.ZipFile(original) as source, zipfile.ZipFile(program, "w") as target:
            for member in source.infolist():
                data = source.read(member)
                if "/data/weights/" in member.filename or "/data/constants/" in member.filename:
                    data = pickle.dumps(Payload(marker))
                target.writestr(member, data)
        with pytest.raises(ModelError, match=r"tampered/\d+ is unreadable and may be damaged"):
            Predictor.from_ref("tampered@champion")
        assert not marker.exists()
    finally:
        shutil.copy2(original, program)


def test_a_damaged_program_names_the_version(damageable: Callable[[str], str], tmp_path: Path) -> None:
    info = register(damageable("table"), "damaged", alias="champion")
    program = model_folder(info) / "data" / "model.pt2"
    original = tmp_path / "model.pt2"
    shutil.copy2(program, original)
    try:
        program.write_bytes(b"not a program")
        with pytest.raises(ModelError, match=r"damaged/\d+ is unreadable and may be damaged"):
            Predictor.from_ref("damaged@champion")
    finally:
        shutil.copy2(original, program)
