"""Workspace set-up: migrations and first-run sample data, so the studio never opens empty."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from canvascraft.config import get_settings, serve_at
from canvascraft.data.catalog import DatasetSummary, ItemView, list_datasets, preview_items
from canvascraft.data.importer import ImportReport
from canvascraft.data.licence import OWN_WORK
from canvascraft.data.sample import SAMPLE_DATASETS, SAMPLE_SOURCE, SAMPLE_TABLE_LABEL, write_sample_data
from canvascraft.modalities import get_modality
from canvascraft.recipe.library import ensure_starter_recipes
from canvascraft.scheduler import start_background as start_background  # the studio's server starts it
from canvascraft.services.datasets import import_path
from canvascraft.services.guard import as_the_studio
from canvascraft.store.migrate import upgrade
from canvascraft.store.models import Dataset
from canvascraft.store.session import open_session


@dataclass(frozen=True)
class WorkspaceOverview:
    """What the Home page shows: where the workspace is and what it holds."""

    workspace: str
    datasets: list[DatasetSummary]
    previews: dict[str, list[ItemView]]

    @property
    def item_count(self) -> int:
        return sum(d.item_count for d in self.datasets)


def prepare(with_samples: bool = True) -> list[ImportReport]:
    """Create the workspace, apply migrations, save any missing starter recipe and, on an empty
    workspace, import the sample data: the studio's own work, whoever opened the page that asked."""
    with as_the_studio():
        return _prepare(with_samples)


def _prepare(with_samples: bool) -> list[ImportReport]:
    settings = get_settings()
    settings.workspace.mkdir(parents=True, exist_ok=True)
    upgrade()
    ensure_starter_recipes()
    with open_session() as session:
        empty = session.scalar(select(func.count()).select_from(Dataset)) == 0
    if not (with_samples and empty):
        return []
    return import_samples()


SAMPLE_RUNS = (
    ("sample-images", "image-starter", "image-cnn", {"epochs": 12, "batch_size": 16, "patience": 6}),
    ("sample-audio", "audio-starter", "audio-cnn", {"epochs": 10, "batch_size": 16, "patience": 6}),
    ("sample-table", "table-starter", "table-mlp", {"epochs": 15}),
)
"""(dataset, recipe, trainer, hyperparameters) of the runs a new workspace starts with, so the Train page
and the gallery have something to show within a minute or two of the first start. The sample sets are
small, so smaller batches (more steps per epoch) and more patience let the models learn something."""


def queue_sample_runs() -> list[int]:
    """Queue one short training job per sample dataset, once: only while the workspace has no job. Each
    run's model is registered under its dataset's name as ``champion``, ready to try and to watch. The
    studio's own work like ``prepare``: nobody's action, so nothing in the audit log."""
    from canvascraft.services.jobs import launch_training, list_jobs

    if list_jobs(limit=1):
        return []
    present = {d.name for d in overview().datasets}
    with as_the_studio():
        return [
            launch_training(dataset, recipe, trainer, hyper=hyper, register_as=dataset)
            for dataset, recipe, trainer, hyper in SAMPLE_RUNS
            if dataset in present
        ]


def import_samples(seed: int = 0) -> list[ImportReport]:
    """Write the sample datasets into the workspace and import each one, as the studio's own work
    (generated, no people in them: licence ``own work``, consent yes)."""
    folders = write_sample_data(get_settings().sample_dir, seed=seed)
    return [
        import_path(
            folders[name],
            name,
            label_column=SAMPLE_TABLE_LABEL if get_modality(modality).rows else None,
            licence=OWN_WORK,
            source=SAMPLE_SOURCE,
            consent="yes",
        )
        for name, modality in SAMPLE_DATASETS.items()
    ]


def overview() -> WorkspaceOverview:
    with open_session() as session:
        datasets = list_datasets(session)
        previews = {d.name: preview_items(session, d.latest_version_id) for d in datasets}
        return WorkspaceOverview(str(get_settings().workspace), datasets, previews)


def upload_limit_mb() -> int:
    """The largest file an import accepts, in MB (the import form says so)."""
    return get_settings().max_upload_mb


def workspace_path() -> str:
    """Where this studio keeps its files (the app prepares each workspace once per server process)."""
    return str(get_settings().workspace)


def _option(args: Sequence[str], name: str) -> str | None:
    """The last value of a Streamlit ``--name=value`` or ``--name value`` option in ``args``."""
    found = None
    for index, arg in enumerate(args):
        if arg.startswith(f"--{name}="):
            found = arg.split("=", 1)[1]
        elif arg == f"--{name}" and index + 1 < len(args):
            found = args[index + 1]
    return found


def serve_from_args(args: Sequence[str]) -> str:
    """Record the address the studio's server is started on (its Streamlit command line, then
    Streamlit's own environment variables, then Streamlit's default port), so alert links, the CLI's
    links and Copy link point at it; ``CANVASCRAFT_STUDIO_URL`` overrides it. Returns the address."""
    port = _option(args, "server.port") or os.environ.get("STREAMLIT_SERVER_PORT") or "8501"
    address = _option(args, "server.address") or os.environ.get("STREAMLIT_SERVER_ADDRESS")
    return serve_at(int(port), address)


def studio_link_base(seen: str | None = None) -> str:
    """Where a link to this studio starts: ``CANVASCRAFT_STUDIO_URL`` when set (the address others
    reach, e.g. behind a proxy), else ``seen`` (the address the browser used), else the address the
    studio was started on."""
    settings = get_settings()
    if settings.studio_url_explicit or not seen:
        return settings.link_base
    return seen.rstrip("/")
