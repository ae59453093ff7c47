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
    assert epochs["default"] == 100 and epochs["minimum"] == 1
    plain = CliRunner().invoke(app, ["trainers", "list"]).output
    assert "learning_rate" in plain and "image-cnn" in plain


def test_trainers_list_says_what_each_trainer_reports_and_which_way_is_better() -> None:
    result = CliRunner().invoke(app, ["trainers", "list", "--json"])
    objective = {t["name"]: t for t in json.loads(result.output)}["image-cnn"]["objective"]
    assert objective["primary"] == "val_accuracy" and objective["monitor"] == "val_accuracy"
    assert objective["metrics"] == {"val_loss": "minimize", "val_accuracy": "maximize", "val_f1": "maximize"}
    plain = CliRunner().invoke(app, ["trainers", "list"]).output
    assert "val_accuracy (primary, higher is better; picks the best checkpoint)" in plain
    assert "val_loss (lower is better; settles ties)" in plain
    assert "best_by" in plain  # a run may pick its best epoch by macro-F1 instead
