"""A checkpoint that is not one, or is another model's, fails a fork or resume job with a plain reason.

Checkpoints are files a user can replace or hand over, so each case replaces a real finished job's
checkpoint (garbage, a pickle renamed, cut short, another trainer's weights), then forks or resumes
it as the Train page and the CLI do, through the real pool and job process. The job's reason (what
`jobs list` and the Train page show) says what is wrong with the file in plain words, names the
mismatched layers, no code from the file runs, and the job's source run is left as it was.
"""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.jobs.checkpoints import checkpoint_folder
from canvascraft.services.jobs import explain_ending, fork_job, resume_job, wait_for
from canvascraft.tracking.runs import tracking_client
from tests.conftest import TrainedTemplate

WAIT_S = 240.0


class Payload:
    """Unpickling this creates ``marker``: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def _garbage(path: Path, marker: Path, template: TrainedTemplate) -> None:
    path.write_bytes(os.urandom(4096))


def _pickle(path: Path, marker: Path, template: TrainedTemplate) -> None:
    path.write_bytes(pickle.dumps({"0.weight": Payload(marker)}))


def _torch_save(path: Path, marker: Path, template: TrainedTemplate) -> None:
    torch.save({"0.weight": torch.zeros(2, 2), "payload": Payload(marker)}, path)


def _truncated(path: Path, marker: Path, template: TrainedTemplate) -> None:
    path.write_bytes(path.read_bytes()[:200])


def _empty(path: Path, marker: Path, template: TrainedTemplate) -> None:
    path.write_bytes(b"")


NOT_A_CHECKPOINT: dict[str, tuple[Callable[[Path, Path, TrainedTemplate], None], str]] = {
    "garbage": (_garbage, "it is not a safetensors file, or it was cut short"),
    "pickle renamed": (_pickle, "it is a pickle"),
    "torch.save renamed": (_torch_save, "it is a pickle"),
    "truncated": (_truncated, "it is not a safetensors file, or it was cut short"),
    "empty": (_empty, "the file is empty"),
}


def table_checkpoint(template: TrainedTemplate, name: str) -> Path:
    return checkpoint_folder(template.job_ids["table"]) / f"{name}.safetensors"


@pytest.mark.parametrize("case", list(NOT_A_CHECKPOINT))
def test_forking_from_a_file_that_is_no_checkpoint_says_so(
    case: str, trained_runs_workspace: TrainedTemplate, tmp_path: Path
) -> None:
    damage, why = NOT_A_CHECKPOINT[case]
    marker = tmp_path / "code-ran"
    damage(table_checkpoint(trained_runs_workspace, "best"), marker, trained_runs_workspace)
    parent = trained_runs_workspace.job_ids["table"]
    job = wait_for(fork_job(parent, checkpoint="best", epochs=1), timeout_s=WAIT_S)
    assert job.state == "failed"
    reason = explain_ending(job) or ""
    assert f"job {parent}'s best checkpoint is not a valid checkpoint: {why}" in reason, reason
    assert "SafetensorError" not in reason and "\n" not in reason
    assert job.mlflow_run_id is None  # refused before any run was opened
    assert not marker.exists()


def test_forking_from_another_trainers_checkpoint_lists_the_mismatched_layers(
    trained_runs_workspace: TrainedTemplate,
) -> None:
    image_best = checkpoint_folder(trained_runs_workspace.job_ids["image"]) / "best.safetensors"
    shutil.copy2(image_best, table_checkpoint(trained_runs_workspace, "best"))
    parent = trained_runs_workspace.job_ids["table"]
    job = wait_for(fork_job(parent, epochs=1), timeout_s=WAIT_S)
    reason = explain_ending(job) or ""
    assert job.state == "failed"
    assert f"job {parent}'s best checkpoint does not fit this model, so it is from another trainer or " \
        "dataset" in reason, reason  # fmt: skip
    assert "layer(s) missing: " in reason and "unexpected layer(s): " in reason
    assert "0.weight: 8×3×3×3 in the checkpoint, 64×12 in this model" in reason  # width 8
    assert " more" in reason  # a few named, the rest counted
    assert "Error(s) in loading state_dict" not in reason and "\n" not in reason
    # The CLI's list shows the same reason under the job.
    listed = CliRunner().invoke(app, ["jobs", "list"]).output
    assert "does not fit this model" in listed


def test_resuming_from_a_replaced_checkpoint_leaves_the_run_as_it_was(
    trained_runs_workspace: TrainedTemplate,
) -> None:
    parent = trained_runs_workspace.job_ids["table"]
    table_checkpoint(trained_runs_workspace, "last").write_bytes(os.urandom(4096))
    job = wait_for(resume_job(parent), timeout_s=WAIT_S)
    reason = explain_ending(job) or ""
    assert job.state == "failed"
    assert "the last checkpoint in " in reason and "is not a valid checkpoint" in reason, reason
    run = tracking_client().get_run(trained_runs_workspace.run_ids["table"])
    assert run.info.status == "FINISHED"  # a resume that could not start does not fail the finished run


def test_fork_wait_prints_the_reason_on_one_line(
    trained_runs_workspace: TrainedTemplate, tmp_path: Path
) -> None:
    marker = tmp_path / "code-ran"
    _pickle(table_checkpoint(trained_runs_workspace, "best"), marker, trained_runs_workspace)
    parent = trained_runs_workspace.job_ids["table"]
    result = CliRunner().invoke(app, ["jobs", "fork", str(parent), "--epochs", "1", "--wait"])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "is not a valid checkpoint: it is a pickle" in errors[0], result.output
    assert "Traceback" not in result.output and not marker.exists()


def test_trying_a_replaced_checkpoint_says_it_is_not_one(trained_runs_workspace: TrainedTemplate) -> None:
    from canvascraft.errors import TrainingError
    from canvascraft.gallery.predict import Predictor

    job_id = trained_runs_workspace.job_ids["image"]  # its checkpoint's first weight gives the input shape
    (checkpoint_folder(job_id) / "last.safetensors").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(TrainingError, match=f"job {job_id}'s last checkpoint is not a valid checkpoint"):
        Predictor.from_checkpoint(job_id, "last")
