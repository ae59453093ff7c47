"""``canvascraft trainers list`` shows every registered trainer with its hyperparameters."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from canvascraft.cli import app


def test_trainers_list_shows_each_trainer_with_defaults_and_bounds() -> None:
    result = CliRunner().invoke(app, ["trainers", "list", "--json"])
    assert result.exit_code == 0, result.output
    trainers = {t["name"]: t for t in json.loads(result.output)}
    assert {"image-cnn", "audio-cnn", "table-mlp"} <= set(trainers)
    assert trainers["table-mlp"]["modality"] == "table"
    epochs = trainers["image-cnn"]["hyperparameters"]["epochs"]
    assert epochs["default"] == 10 and epochs["minimum"] == 1
    plain = CliRunner().invoke(app, ["trainers", "list"]).output
    assert "learning_rate" in plain and "image-cnn" in plain
