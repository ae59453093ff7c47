"""Launching training: a ``train`` job from a dataset, a recipe and a trainer, or a fork of a job's
checkpoint. Names, settings, pins and the device are checked here, before a job exists, so a typo fails at
once with a clear message instead of as a failed job a few seconds later."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canvascraft.errors import JobError, RecipeError, TrainingError
from canvascraft.jobs.pool import JobPool

if TYPE_CHECKING:
    from canvascraft.data.catalog import VersionView
    from canvascraft.modalities import ItemMemory
    from canvascraft.recipe.spec import Recipe
    from canvascraft.training.data import Member

DEVICES = ("auto", "cpu", "cuda")


def launch_training(
    dataset: str,
    recipe: str,
    trainer: str,
    *,
    epochs: int | None = None,
    hyper: dict[str, Any] | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    max_items: int | None = None,
    pinned: list[int] | None = None,
    device: str = "auto",
    recipe_version: int | None = None,
    retrain_id: int | None = None,
    register_as: str | None = None,
    version: int | None = None,
    idempotency_key: str | None = None,
) -> int:
    """Validate the names and settings, then queue a ``train`` job; returns its id.

    ``pinned``: validation items to watch each epoch (default: a few from every class, see
    ``validation_items``); ``device``: ``auto`` (CUDA when present), ``cpu`` or ``cuda``;
    ``recipe_version``: default the latest; ``retrain_id``: the retrain this job trains a candidate for
    (``canvascraft.retrain.flow``), finished when the job ends; ``register_as``: register the run's
    model under this name with the alias ``champion`` when the job succeeds (the sample runs do, so a new
    workspace has models to try and watch); ``version``: the dataset version to train on (the latest
    by default); ``idempotency_key``: one per launch request (the Train page sends one per form
    submission), so the same request sent twice makes one job and returns its id."""
    from canvascraft.data.reads import open_version

    view = open_version(dataset, version)
    spec = training_spec(
        dataset, view.version.number, recipe, trainer, {**(hyper or {}), **_epochs(epochs)},
        val_fraction, seed, max_items, pinned, device, recipe_version=recipe_version,
    )  # fmt: skip
    if retrain_id is not None:
        spec["retrain_id"] = retrain_id
    if register_as is not None:
        spec["register_as"] = register_as
    return JobPool().submit("train", spec, idempotency_key=idempotency_key)


def fork_job(
    job_id: int,
    *,
    checkpoint: str = "best",
    recipe: str | None = None,
    epochs: int | None = None,
    hyper: dict[str, Any] | None = None,
    device: str | None = None,
) -> int:
    """Queue a new training run that starts from one of a job's checkpoints, with a recipe and
    hyperparameters that may differ; the new run records which checkpoint it came from.

    The dataset version, split and pins stay the parent's, so metrics stay comparable; so do the
    hyperparameters that shape the model (its weights must fit)."""
    from canvascraft.jobs.checkpoints import CHECKPOINT_NAMES, list_checkpoints
    from canvascraft.training import LOOP_HYPERPARAMS, get_trainer

    parent = JobPool().get_job(job_id)
    if parent.kind != "train":
        raise JobError(f"Job {job_id} is a {parent.kind} job; only training jobs can be forked.")
    if checkpoint not in CHECKPOINT_NAMES:
        raise JobError(f"checkpoint must be one of {', '.join(CHECKPOINT_NAMES)}, got {checkpoint!r}")
    if checkpoint not in {c.name for c in list_checkpoints(job_id)}:
        raise JobError(
            f"Job {job_id} has no {checkpoint} checkpoint yet (none is saved before its first epoch ends)."
        )
    old = parent.spec
    changed = {**(hyper or {}), **_epochs(epochs)}
    shaping = {p.name for p in get_trainer(old["trainer"]).hyperparams} - {p.name for p in LOOP_HYPERPARAMS}
    kept = old["hyper"]
    fixed = sorted(k for k in shaping & set(changed) if changed[k] != kept.get(k))
    if fixed:
        values = ", ".join(f"{k}={kept.get(k)}" for k in fixed)
        raise TrainingError(
            f"{', '.join(fixed)} shape the model, so a fork keeps the checkpoint's values ({values}); "
            "launch a new job to change them"
        )
    spec = training_spec(
        old["dataset"], old["dataset_version"], recipe or old["recipe"], old["trainer"],
        {**old["hyper"], **changed}, old["val_fraction"], old["seed"], old.get("max_items"),
        old.get("pinned"), device or old.get("device") or "auto",
        recipe_version=None if recipe else old.get("recipe_version"),
    )  # fmt: skip
    spec["fork_from"] = {"job": job_id, "checkpoint": checkpoint}
    return JobPool().submit("train", spec)


def validation_items(
    dataset: str, val_fraction: float = 0.2, seed: int = 0, max_items: int | None = None
) -> tuple[list[Member], list[int]]:
    """The validation items a training job with these settings will hold out (latest version), and
    the default pins among them."""
    from canvascraft.training.data import validation_members
    from canvascraft.training.pinned import default_pins

    members = validation_members(dataset, val_fraction, seed, max_items=max_items)
    return members, default_pins(members)


def _epochs(epochs: int | None) -> dict[str, Any]:
    return {"epochs": epochs} if epochs is not None else {}


def training_spec(
    dataset: str,
    dataset_version: int,
    recipe: str,
    trainer: str,
    hyper: dict[str, Any],
    val_fraction: float,
    seed: int,
    max_items: int | None,
    pinned: list[int] | None,
    device: str,
    *,
    recipe_version: int | None = None,
) -> dict[str, Any]:
    """A checked ``train`` job spec: every name, setting and pin is validated before a job exists."""
    from canvascraft.data.reads import open_version
    from canvascraft.recipe.library import load_recipe, recipe_versions
    from canvascraft.training import get_trainer
    from canvascraft.training.data import validation_members
    from canvascraft.training.pinned import check_pins, default_pins

    view = open_version(dataset, dataset_version)
    version = recipe_version or recipe_versions(recipe)[-1].version
    saved = load_recipe(recipe, version)
    if saved.modality != view.modality:
        raise RecipeError(
            [f"recipe {recipe!r} is for {saved.modality}, but dataset {dataset!r} holds {view.modality}; "
             f"pick a {view.modality} recipe"]
        )  # fmt: skip
    trainer_class = get_trainer(trainer)  # an unknown name says the closest known ones
    if trainer_class.modality != view.modality:
        raise TrainingError(
            f"trainer {trainer!r} is for {trainer_class.modality}, but dataset {dataset!r} holds "
            f"{view.modality}; list trainers with `canvascraft trainers list`"
        )
    checked = trainer_class(**hyper).settings  # raises TrainingError naming every bad value
    check_item_memory(view, saved)
    if not 0.0 < val_fraction < 1.0:
        raise TrainingError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    if max_items is not None and max_items < 2:
        raise TrainingError(f"max_items must be at least 2, got {max_items}")
    members = validation_members(dataset, val_fraction, seed, version=dataset_version, max_items=max_items)
    pins = default_pins(members) if pinned is None else check_pins(pinned, members)
    return {
        "dataset": dataset,
        "dataset_version": dataset_version,
        "recipe": recipe,
        "recipe_version": version,
        "trainer": trainer,
        "hyper": checked,
        "val_fraction": val_fraction,
        "seed": seed,
        "max_items": max_items,
        "pinned": pins,
        "device": _checked_device(device),
    }


def check_item_memory(view: VersionView, recipe: Recipe, note: str = "") -> ItemMemory | None:
    """Refuse a recipe the version's costliest item cannot go through within the memory limit
    (``CANVASCRAFT_MAX_CLIP_MEMORY_MB`` for audio), before a job exists; returns the estimate."""
    from canvascraft.modalities import get_modality

    memory = get_modality(view.modality).item_memory(recipe, view)
    if memory is not None:
        memory.check(note)
    return memory


def _checked_device(device: str) -> str | None:
    """``None`` lets the job choose (CUDA when present); an explicit ``cuda`` needs a GPU here."""
    if device not in DEVICES:
        raise TrainingError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise TrainingError("no CUDA GPU is visible on this machine; choose device auto or cpu")
    return None if device == "auto" else device
