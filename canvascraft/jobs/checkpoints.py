"""Where a training job's checkpoints live, and what each one holds, for resume, fork and the pages.

A resumed job keeps writing into the folder of the first job of its chain, so every job of a chain
(first run, resumes) points at one folder: ``workspace/jobs/<first job id>/checkpoints``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from canvascraft.config import get_settings
from canvascraft.store.models import Job
from canvascraft.store.session import open_session

CHECKPOINT_NAMES = ("best", "last")


@dataclass(frozen=True)
class CheckpointInfo:
    """One saved checkpoint: ``name`` is ``best`` or ``last``; ``metrics`` are its epoch's."""

    name: str
    epoch: int
    metrics: dict[str, Any]
    path: Path


def chain_root(job_id: int) -> int:
    """The first job of ``job_id``'s resume chain."""
    with open_session() as session:
        job = session.get(Job, job_id)
        while job is not None and job.resume_from is not None:
            job = session.get(Job, job.resume_from)
        return job.id if job is not None else job_id


def checkpoint_folder(job_id: int) -> Path:
    return get_settings().jobs_dir / str(chain_root(job_id)) / "checkpoints"


def list_checkpoints(job_id: int) -> list[CheckpointInfo]:
    """The checkpoints a job (or its chain) saved, best first; empty before its first epoch ends."""
    folder = checkpoint_folder(job_id)
    found: list[CheckpointInfo] = []
    for name in CHECKPOINT_NAMES:
        path = folder / f"{name}.safetensors"
        sidecar = path.with_suffix(".json")
        if path.exists() and sidecar.exists():
            info = json.loads(sidecar.read_text())
            found.append(CheckpointInfo(name, int(info.get("epoch", 0)), dict(info.get("metrics", {})), path))
    return found
