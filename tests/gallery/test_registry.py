"""The model registry through real runs: register, move aliases, resolve references, zip a version."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import PurePosixPath

import pytest
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.errors import ModelError
from canvascraft.gallery.registry import (
    download_zip,
    list_models,
    model_versions,
    register,
    remove_alias,
    resolve,
    set_alias,
)
from canvascraft.store.models import Job


def test_register_move_aliases_resolve_and_zip(trained: Callable[[str], Job]) -> None:
    job = trained("table")
    first = register(job.mlflow_run_id, "paints", alias="champion")
    second = register(job.mlflow_run_id, "paints", alias="candidate")
    assert (first.version, second.version) == (1, 2)
    assert first.aliases == ["champion"] and first.run_id == job.mlflow_run_id and first.model_id

    assert resolve("paints@champion").version == 1
    set_alias("paints", "champion", 2)  # moving an alias
    assert resolve("paints@champion").version == 2
    assert resolve("models:/paints/1").aliases == []

    versions = model_versions("paints")
    assert [v.version for v in versions] == [2, 1]
    assert versions[0].aliases == ["candidate", "champion"]
    lineage = versions[0].lineage
    assert lineage is not None
    assert (lineage.dataset, lineage.recipe, lineage.trainer, lineage.job_id) == (
        "sample-table", "table-starter", "table-mlp", job.id
    )  # fmt: skip
    assert lineage.dataset_version == "1" and lineage.recipe_version == "1" and lineage.study is None
    assert {"val_loss", "val_accuracy", "val_f1"} <= set(versions[0].metrics)

    (model,) = [m for m in list_models() if m.name == "paints"]
    assert (model.versions, model.latest, model.aliases) == (2, 2, {"candidate": 2, "champion": 2})
    remove_alias("paints", "candidate")
    assert resolve("paints/2").aliases == ["champion"]

    archive = zipfile.ZipFile(io.BytesIO(download_zip("paints", 1)))
    names = archive.namelist()
    assert {"paints-v1/MLmodel", "paints-v1/data/model.pt2", "paints-v1/recipe.yaml"} <= set(names)
    assert "table_state.json" in {PurePosixPath(n).name for n in names}  # the zip says what it expects
    for name in names:
        path = PurePosixPath(name)
        assert path.parts[0] == "paints-v1" and ".." not in path.parts and not path.is_absolute()
    assert "pytorch" in archive.read("paints-v1/MLmodel").decode()


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("nobody@champion", "no model is called 'nobody'"),
        ("regs@nope", "has no alias 'nope'"),
        ("regs/7", "has no version 7"),
        ("regs", "not a model reference"),
        ("regs@", "not a model reference"),
        ("a/b/1", "not a model reference"),
    ],
)
def test_unknown_and_malformed_references_say_what_to_write(
    trained: Callable[[str], Job], ref: str, message: str
) -> None:
    job = trained("table")
    if not any(m.name == "regs" for m in list_models()):
        register(job.mlflow_run_id, "regs", alias="champion")
    with pytest.raises(ModelError, match=message):
        resolve(ref)


def test_register_refuses_an_unknown_run_and_bad_names(trained: Callable[[str], Job]) -> None:
    job = trained("table")
    with pytest.raises(ModelError, match="is not in the workspace"):
        register("0" * 32, "ghost")
    with pytest.raises(ModelError, match="may not contain"):
        register(job.mlflow_run_id, "a@b")


def test_cli_registers_lists_and_moves_aliases(trained: Callable[[str], Job]) -> None:
    job = trained("table")
    runner = CliRunner()
    result = runner.invoke(
        app, ["models", "register", job.mlflow_run_id, "--name", "cli-paints", "--alias", "a"]
    )
    assert result.exit_code == 0, result.output
    assert "registered cli-paints/1 (@a)" in result.output
    runner.invoke(app, ["models", "register", job.mlflow_run_id, "--name", "cli-paints"])
    result = runner.invoke(app, ["models", "alias", "cli-paints", "a", "2"])
    assert result.exit_code == 0, result.output
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).output)
    (entry,) = [m for m in listed if m["name"] == "cli-paints"]
    assert entry["aliases"] == {"a": 2} and entry["versions"] == 2
    result = runner.invoke(app, ["models", "alias", "cli-paints", "a", "9"])
    assert result.exit_code == 1 and "has no version 9" in result.output
