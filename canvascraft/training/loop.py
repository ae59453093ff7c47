"""The one training loop every trainer shares: a plan, metrics, early stopping, checkpoints, resume.

A run's length is planned from its data (``plan_training``): batches small enough that an epoch has
several steps, and as many epochs as the step budget allows, so a few dozen items train for hundreds
of steps and thousands of items for a few epochs. The learning rate warms up over the first steps and
eases off by the last planned one; it is a function of the step alone, so a resume needs no state.

Each epoch reseeds torch from ``(seed, epoch)`` (shuffling, dropout), and the optimiser's state is
checkpointed with the weights, so a resumed run on the same device continues exactly as an
uninterrupted one would. Checkpoints are safetensors state dicts plus a JSON sidecar: loading one
runs no code (never pickle). Both are sealed with the workspace's key when one is set (``store.sealing``).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load, save
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from canvascraft.brushes.base import check_settings
from canvascraft.errors import TrainingError
from canvascraft.recipe.compose import item_seed
from canvascraft.store.sealing import read_file, seal
from canvascraft.store.session import disk_full_error, is_disk_full
from canvascraft.training.epochs import EpochResult
from canvascraft.training.objectives import CLASSIFICATION, Objective
from canvascraft.training.trainers import LOOP_HYPERPARAMS

LAST = "last.safetensors"
BEST = "best.safetensors"
OPTIMIZER = "last.optimizer.safetensors"
CHECKPOINT_FORMAT = 1


MIN_STEPS_PER_EPOCH = 8
"""A dataset this many batches' worth of items or smaller takes smaller batches (down to
``MIN_BATCH``), so each epoch still moves the weights several times."""
MIN_BATCH = 8
WARMUP_SHARE = 0.05
"""Share of the planned steps over which the learning rate climbs to its peak."""
FINAL_LR_SHARE = 0.02
"""Where the cosine decay ends, as a share of the peak learning rate."""


@dataclass(frozen=True)
class Plan:
    """How a run trains, settled from its settings and the size of its training split."""

    epochs: int
    batch_size: int
    steps_per_epoch: int
    capped_by_steps: bool
    """Whether the step budget (``max_steps``), not ``epochs``, set the number of epochs."""

    @property
    def steps(self) -> int:
        return self.epochs * self.steps_per_epoch


def plan_training(settings: Mapping[str, Any], n_train: int) -> Plan:
    """The epochs and batch size a run of ``n_train`` training items takes under ``settings`` (the
    loop's: ``epochs``, ``max_steps``, ``batch_size``)."""
    wanted = int(settings["batch_size"])
    batch = max(1, min(wanted, max(MIN_BATCH, math.ceil(n_train / MIN_STEPS_PER_EPOCH))))
    steps_per_epoch = max(1, math.ceil(n_train / batch))
    by_steps = max(1, math.ceil(int(settings["max_steps"]) / steps_per_epoch))
    epochs = min(int(settings["epochs"]), by_steps)
    return Plan(epochs, batch, steps_per_epoch, by_steps < int(settings["epochs"]))


def learning_rate_at(step: int, plan: Plan, peak: float, schedule: str) -> float:
    """The learning rate of optimisation step ``step`` (counted from 0 over the whole run)."""
    if schedule == "constant":
        return peak
    warmup = max(1, round(WARMUP_SHARE * plan.steps))
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, plan.steps - warmup))
    floor = peak * FINAL_LR_SHARE
    return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass(frozen=True)
class TrainResult:
    history: list[EpochResult]
    best_epoch: int
    stopped_early: bool
    device: str
    best_path: Path
    last_path: Path
    plan: Plan
    stop_reason: str
    """Why training ended, in words (early stop, the step budget, or every epoch done)."""

    @property
    def best(self) -> EpochResult:
        return next(r for r in self.history if r.epoch == self.best_epoch)


@dataclass
class _Progress:
    """What early stopping and resume need besides the weights; lives in the ``last`` sidecar.
    ``best_value`` is the best so far of the objective's ``monitor`` (stored as ``best_val_loss``, its
    name when every objective monitored the validation loss)."""

    best_value: float
    history: list[EpochResult] = field(default_factory=list)
    best_epoch: int = 0
    bad_epochs: int = 0


def resolve_device(device: str | None) -> torch.device:
    """CUDA when there is one, else the CPU; an explicit choice always wins."""
    return torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write to a temporary file, flush it to the disk, then rename it over ``path``: a run killed
    mid-save, or a disk that fills up, leaves the previous checkpoint intact, never half a file. A full
    disk is a ``StoreFullError`` naming the folder; the partial file is removed to give the space back."""
    partial = path.with_name(path.name + ".partial")
    try:
        write(partial)
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except Exception as error:
        partial.unlink(missing_ok=True)
        if is_disk_full(error):
            raise disk_full_error(path.parent) from error
        raise


def save_checkpoint(model: nn.Module, path: Path, info: Mapping[str, Any]) -> None:
    """The model's state dict as safetensors, and ``info`` as ``<name>.json`` beside it."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    _write_atomic(path, lambda p: p.write_bytes(seal(save(state))))
    text = json.dumps({"format": CHECKPOINT_FORMAT, **info}, indent=2)
    _write_atomic(path.with_suffix(".json"), lambda p: p.write_text(text))


def load_checkpoint(model: nn.Module, path: Path, label: str | None = None) -> dict[str, Any]:
    """Load weights saved by ``save_checkpoint`` into ``model``; returns the sidecar's data.

    A checkpoint is a file anyone may replace or hand over (fork, resume), so a file that is not a
    safetensors state dict, or one of another model, is a ``TrainingError`` in plain words (``label``
    names it, default its file name), never the deserialiser's or ``load_state_dict``'s own error."""
    label = label or path.name
    state = read_tensors(path, label)
    wanted = model.state_dict()
    misfit = _misfit(wanted, state)
    if misfit:
        raise TrainingError(
            f"{label} does not fit this model, so it is from another trainer or dataset ({misfit}); "
            "start from a checkpoint of a run with the same trainer, data and model settings"
        )
    try:
        model.load_state_dict(state)
    except RuntimeError as error:  # what the key and shape checks above cannot see (a dtype torch refuses)
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise TrainingError(f"{label} does not fit this model ({first})") from None
    return read_info(path, label)


PICKLE_STARTS = (b"\x80", b"PK\x03\x04")
"""How a pickle (protocol 2 and later) and a ``torch.save`` file (a zip holding a pickle) begin."""


def read_tensors(path: Path, label: str | None = None) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; a pickle, a truncated file or anything else is a
    ``TrainingError`` saying so (nothing in the file runs: safetensors holds no code)."""
    from safetensors import SafetensorError

    label = label or path.name
    if not path.is_file():
        raise TrainingError(f"{label} is missing ({path}); start from a checkpoint the job saved")
    try:
        return load(read_file(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise TrainingError(
            f"{label} is not a valid checkpoint: {_not_safetensors(path, error)}; start from a "
            "checkpoint the studio saved"
        ) from None


def _not_safetensors(path: Path, error: Exception) -> str:
    with path.open("rb") as handle:
        start = handle.read(4)
    if start.startswith(PICKLE_STARTS):
        return "it is a pickle (a torch.save file renamed?), which the studio never loads: it can run code"
    if not start:
        return "the file is empty"
    return f"it is not a safetensors file, or it was cut short ({str(error).strip() or type(error).__name__})"


def read_info(path: Path, label: str | None = None) -> dict[str, Any]:
    """A checkpoint's JSON sidecar (``<name>.json``), empty when there is none."""
    sidecar = path.with_suffix(".json")
    if not sidecar.exists():
        return {}
    try:
        info = json.loads(sidecar.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        info = None
    if not isinstance(info, dict):
        raise TrainingError(
            f"{label or path.name} is not a valid checkpoint: its record {sidecar.name} is not a JSON "
            "object; start from a checkpoint the studio saved"
        )
    return info


FEW = 3
"""How many layer names a mismatch names before it counts the rest."""


def _misfit(wanted: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor]) -> str:
    """The layers that differ between a model's state and a checkpoint's, a few named and counted;
    empty when every key is there with its shape."""
    missing = [k for k in wanted if k not in found]
    unexpected = [k for k in found if k not in wanted]
    shapes = [
        f"{k}: {_dims(found[k])} in the checkpoint, {_dims(wanted[k])} in this model"
        for k in wanted
        if k in found and tuple(found[k].shape) != tuple(wanted[k].shape)
    ]
    parts = [
        f"{len(names)} {what}: {_few(names)}"
        for what, names in (
            ("layer(s) missing", missing),
            ("unexpected layer(s)", unexpected),
            ("shape mismatch(es)", shapes),
        )
        if names
    ]
    return "; ".join(parts)


def _few(names: list[str]) -> str:
    shown = ", ".join(names[:FEW])
    return shown + (f" and {len(names) - FEW} more" if len(names) > FEW else "")


def _dims(tensor: torch.Tensor) -> str:
    return "×".join(map(str, tensor.shape)) or "a scalar"


def _save_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> dict[str, Any]:
    """Tensors of the optimiser's state into safetensors; returns its few plain numbers for JSON."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for param_id, entry in optimizer.state_dict()["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{param_id}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{param_id}.{key}"] = value
    _write_atomic(path, lambda p: p.write_bytes(seal(save(tensors))))
    return scalars


def _load_optimizer(optimizer: torch.optim.Optimizer, path: Path, scalars: Mapping[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in [*read_tensors(path, f"the optimiser state {path.name}").items(), *scalars.items()]:
        param_id, key = name.split(".", 1)
        state.setdefault(int(param_id), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": optimizer.state_dict()["param_groups"]})


MIN_ITEMS_PER_WORKER = 256
"""Below this many items per worker, starting worker processes each epoch costs more than it saves."""
MAX_WORKERS = 4


def auto_workers(dataset: Dataset[Any], cpus: int | None = None) -> int:
    """DataLoader workers sized for the machine and the data: none for in-memory tensors (tables) or
    small sets, else one per spare core (one core stays with the model), at most ``MAX_WORKERS``."""
    if isinstance(dataset, TensorDataset):
        return 0
    spare = max(0, (cpus or os.cpu_count() or 1) - 1)
    by_size = len(dataset) // MIN_ITEMS_PER_WORKER  # type: ignore[arg-type]
    return min(spare, by_size, MAX_WORKERS)


def start_worker(worker_id: int) -> None:
    """A DataLoader worker's start: OpenCV's own thread pool off (torch already gives each worker one
    thread), so workers on every core do not each start a thread per core for the image brushes."""
    from canvascraft.brushes.functional.opencv import quiet_threads

    quiet_threads()


def _loader(
    dataset: Dataset[Any], batch_size: int, shuffle: bool, seed: int, workers: int, device: torch.device
) -> DataLoader[Any]:
    # Items are seeded by (recipe seed, index, epoch), not by the worker, so any worker count gives the
    # same batches.
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=torch.Generator().manual_seed(seed),
        num_workers=workers,
        collate_fn=getattr(dataset, "collate_fn", None),
        pin_memory=device.type == "cuda",
        worker_init_fn=start_worker if workers > 0 else None,
    )


def _run_epoch(
    model: nn.Module,
    objective: Objective,
    loader: DataLoader[Any],
    device: torch.device,
    optimizer: torch.optim.Optimizer | None,
    on_step: Callable[[int, int], None] | None = None,
    learning_rate: Callable[[int], float] | None = None,
) -> dict[str, float]:
    """One pass; trains when given an optimiser. Returns the split's figures by metric name.

    ``on_step(step, steps)`` runs after each batch (the job turns it into a progress bar);
    ``learning_rate(step)`` sets the rate of each training step (counted from 0 within the pass)."""
    training = optimizer is not None
    model.train(training)
    meter = objective.meter()
    with torch.set_grad_enabled(training):
        for step, (x, y) in enumerate(loader, start=1):
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            # bfloat16 autocast on CUDA needs no gradient scaler; the CPU stays in float32.
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                loss, outputs = objective.loss(model, x, y)
            if not torch.isfinite(loss):
                raise TrainingError(_not_finite(loss, step, x, training))
            if optimizer is not None:
                if learning_rate is not None:
                    for group in optimizer.param_groups:
                        group["lr"] = learning_rate(step - 1)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            meter.add(outputs.detach(), y, loss.detach())
            if on_step is not None:
                on_step(step, len(loader))
    return meter.result()


def _not_finite(loss: torch.Tensor, step: int, x: torch.Tensor, training: bool) -> str:
    """Why training stops at a NaN or infinite loss, naming the likeliest cause."""
    where = f"{'training' if training else 'validation'} batch {step}"
    if not torch.isfinite(x).all():
        cause = "the batch's inputs hold NaN or infinite values: check the data and the recipe's last brushes"
    else:
        cause = "the inputs are finite, so the model diverged: lower the learning rate"
    return f"the loss became {loss.item()} at {where}; {cause}"


def train(
    model: nn.Module,
    train_ds: Dataset[Any],
    val_ds: Dataset[Any],
    hyper: Mapping[str, Any],
    *,
    device: str | None = None,
    checkpoint_dir: Path,
    on_epoch: Callable[[EpochResult], None] | None = None,
    on_step: Callable[[int, int, int], None] | None = None,
    resume: bool = False,
    num_workers: int | None = None,
    objective: Objective = CLASSIFICATION,
) -> TrainResult:
    """Train ``model`` for its planned epochs (``plan_training``) or until early stopping; checkpoints
    land in ``checkpoint_dir``.

    ``hyper`` is a trainer's settings; only the loop's keys are read (``LOOP_HYPERPARAMS``, and
    ``best_by``), the rest shaped the model. Epochs count from the run's start, so a resumed run trains
    only the epochs still missing (none, and returns the saved history, when the run had finished).
    ``objective`` (the trainer's) gives each batch's loss and each split's metrics. The best epoch is
    the best on ``objective.monitor_for(hyper)``; early stopping comes after ``patience`` epochs more
    without a better figure on it (an epoch that only wins a tie moves the best checkpoint but does not
    restart the count). ``on_step(epoch, step, steps)`` follows the training batches;
    ``num_workers`` defaults to ``auto_workers``.
    """
    loop_keys = {p.name for p in LOOP_HYPERPARAMS}
    settings, errors = check_settings(LOOP_HYPERPARAMS, {k: v for k, v in hyper.items() if k in loop_keys})
    if errors:
        raise TrainingError("; ".join(f"{e.param}: {e.message}" for e in errors))
    target = resolve_device(device)
    model.to(target)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings["learning_rate"], weight_decay=settings["weight_decay"]
    )
    plan = plan_training(settings, len(train_ds))  # type: ignore[arg-type]
    checkpoint_dir = Path(checkpoint_dir)
    monitor = objective.monitor_for(hyper)
    fresh = _Progress(best_value=objective.worst(monitor))
    progress = _resume(model, optimizer, checkpoint_dir, fresh) if resume else fresh
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    rng_devices = [target.index or 0] if target.type == "cuda" else []
    epoch = len(progress.history)
    workers = auto_workers(train_ds) if num_workers is None else num_workers
    while progress.bad_epochs <= settings["patience"] and epoch < plan.epochs:
        epoch += 1
        started = time.perf_counter()
        seed = item_seed(settings["seed"], 0, epoch)
        for dataset in (train_ds, val_ds):
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(epoch - 1)
        first_step = (epoch - 1) * plan.steps_per_epoch

        def rate(step: int, first: int = first_step) -> float:
            return learning_rate_at(first + step, plan, settings["learning_rate"], settings["schedule"])

        with torch.random.fork_rng(devices=rng_devices):
            torch.manual_seed(seed)
            batch = plan.batch_size
            step = None if on_step is None else (lambda done, steps, e=epoch: on_step(e, done, steps))
            train_loader = _loader(train_ds, batch, True, seed, workers, target)
            fit = _run_epoch(model, objective, train_loader, target, optimizer, step, rate)
            val_loader = _loader(val_ds, batch, False, seed, workers, target)
            check = _run_epoch(model, objective, val_loader, target, None)
        metrics = {**{f"train_{k}": v for k, v in fit.items()}, **{f"val_{k}": v for k, v in check.items()}}
        metrics = {key: metrics[key] for key in objective.metric_keys()}  # the objective's order, every split
        best_so_far = next((r.metrics for r in progress.history if r.epoch == progress.best_epoch), None)
        improved = objective.improves(monitor, metrics, best_so_far)
        result = EpochResult(epoch, metrics, time.perf_counter() - started, improved)
        progress.history.append(result)
        # A tie settled by the tie-break moves the best checkpoint but does not restart patience: only
        # a better figure on the monitored metric does, so a run whose accuracy has stopped climbing ends.
        gained = best_so_far is None or objective.better(monitor, metrics[monitor], progress.best_value)
        progress.bad_epochs = 0 if gained else progress.bad_epochs + 1
        if improved:
            progress.best_value, progress.best_epoch = metrics[monitor], epoch
            save_checkpoint(model, checkpoint_dir / BEST, {"epoch": epoch, "metrics": result.as_row()})
        _save_last(model, optimizer, checkpoint_dir, progress)
        if on_epoch is not None:
            on_epoch(result)
    stopped_early = progress.bad_epochs > settings["patience"]
    return TrainResult(
        history=list(progress.history),
        best_epoch=progress.best_epoch,
        stopped_early=stopped_early,
        device=str(target),
        best_path=checkpoint_dir / BEST,
        last_path=checkpoint_dir / LAST,
        plan=plan,
        stop_reason=stop_reason(objective, monitor, plan, settings, progress.bad_epochs, stopped_early),
    )


def stop_reason(
    objective: Objective, monitor: str, plan: Plan, settings: Mapping[str, Any], bad_epochs: int, early: bool
) -> str:
    """Why a run ended, as the job panel and the log say it."""
    if early:
        label = objective.metric(monitor).label
        return f"stopped early: no better validation {label} for {_epochs(bad_epochs)}"
    if plan.capped_by_steps:
        return (
            f"used its step budget: {plan.epochs} epochs of {plan.steps_per_epoch} steps "
            f"(max_steps {settings['max_steps']})"
        )
    return f"ran all {_epochs(plan.epochs)}" if plan.epochs > 1 else "ran its one epoch"


def _epochs(count: int) -> str:
    return f"{count} epoch{'' if count == 1 else 's'}"


def _save_last(model: nn.Module, optimizer: torch.optim.Optimizer, folder: Path, progress: _Progress) -> None:
    scalars = _save_optimizer(optimizer, folder / OPTIMIZER)
    last = progress.history[-1]
    info = {
        "epoch": last.epoch,
        "metrics": last.as_row(),
        "history": [r.as_row() for r in progress.history],
        # json writes inf as Infinity, which it reads back; no epoch has finished then anyway.
        "best_val_loss": progress.best_value,
        "best_epoch": progress.best_epoch,
        "bad_epochs": progress.bad_epochs,
        "optimizer": {"file": OPTIMIZER, "scalars": scalars},
    }
    save_checkpoint(model, folder / LAST, info)


def _resume(model: nn.Module, optimizer: torch.optim.Optimizer, folder: Path, fresh: _Progress) -> _Progress:
    if not (folder / LAST).exists():
        raise TrainingError(f"nothing to resume in {folder}: no {LAST}; start the run without resume")
    label = f"the last checkpoint in {folder}"
    info = load_checkpoint(model, folder / LAST, label)
    try:
        optimizer_file = folder / str(info["optimizer"]["file"])
        scalars = info["optimizer"]["scalars"]
        progress = _Progress(
            history=[EpochResult.from_row(r) for r in info["history"]],
            best_value=float(info.get("best_val_loss", fresh.best_value)),
            best_epoch=int(info["best_epoch"]),
            bad_epochs=int(info["bad_epochs"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise TrainingError(
            f"{label} is not a valid checkpoint: its record {LAST.replace('.safetensors', '.json')} lacks "
            f"what a resume needs ({error}); start a new run"
        ) from None
    if not optimizer_file.resolve().is_relative_to(folder.resolve()):
        raise TrainingError(f"{label} is not a valid checkpoint: its record names a file outside {folder}")
    try:
        _load_optimizer(optimizer, optimizer_file, scalars)
    except (KeyError, TypeError, ValueError) as error:
        raise TrainingError(
            f"the optimiser state beside {label} does not fit this model ({error}); start a new run"
        ) from None
    return progress
