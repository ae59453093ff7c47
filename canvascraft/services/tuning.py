"""Tuning actions for the CLI and the Train page: what can be searched, start, follow, stop, train the best.

A study is checked whole before anything runs (names, ranges, trial counts), then one ``tune`` job
drives it; its trials are ``train`` jobs in the study's lane of the pool, so they run ``parallel`` at a
time whatever the pool's own limit is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from canvascraft.errors import JobError, RecipeError, TrainingError
from canvascraft.jobs import TERMINAL, JobState
from canvascraft.services.guard import action
from canvascraft.services.jobs import cancel_job, get_job, pool
from canvascraft.store.models import Job
from canvascraft.training.launch import check_item_memory, training_spec
from canvascraft.tuning import studies
from canvascraft.tuning.space import (
    SearchParam,
    apply_overrides,
    candidate_space,
    check_space,
    costliest_overrides,
    split_params,
)
from canvascraft.tuning.studies import SAMPLERS as SAMPLERS
from canvascraft.tuning.studies import tuning_metrics as tuning_metrics

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from canvascraft.data.catalog import VersionView

MAX_TRIALS = 500
MAX_PARALLEL = 8
TRIAL_EPOCHS = 20
"""Epochs each trial trains at most unless the study says otherwise: a study runs many trials, and
its pruner compares them epoch by epoch, so a trial's budget is smaller than a single run's."""
DRIVER_LANE = "study-drivers"
DRIVER_LIMIT = 8
"""Drivers are light (no torch) and mostly sleep; they get their own lane so a study never waits for a
training slot to start asking for trials."""
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def search_candidates(recipe: str, trainer: str) -> list[SearchParam]:
    """Everything a study of ``trainer`` with ``recipe`` could search, with default ranges."""
    from canvascraft.brushes.registry import get_brush
    from canvascraft.recipe.library import load_recipe
    from canvascraft.training import get_trainer

    saved = load_recipe(recipe)
    trainer_class = get_trainer(trainer)  # an unknown name says the closest known ones
    steps = [(step.brush, get_brush(step.brush).params) for step in saved.brushes]
    return candidate_space(trainer_class.hyperparams, steps)


@action(
    role="artist",
    does="start a tuning study",
    audit="study.start",
    target=lambda v: f"{v['result'][0]} (job {v['result'][1]})",
)
def start_study(
    dataset: str,
    recipe: str,
    trainer: str,
    space: list[SearchParam] | None = None,
    *,
    trials: int = 6,
    parallel: int = 2,
    sampler: str = "tpe",
    metric: str | None = None,
    epochs: int | None = None,
    hyper: dict[str, Any] | None = None,
    max_items: int | None = None,
    name: str | None = None,
    seed: int = 0,
) -> tuple[str, int]:
    """Check everything, create the study and queue its driver; returns (study name, driver job id).

    ``space`` defaults to the candidates' enabled entries (learning rate and dropout); ``metric`` to
    the trainer's primary one."""
    from canvascraft.data.reads import open_version

    if not 1 <= trials <= MAX_TRIALS:
        raise TrainingError(f"trials must be between 1 and {MAX_TRIALS}, got {trials}")
    if not 1 <= parallel <= MAX_PARALLEL:
        raise TrainingError(f"parallel must be between 1 and {MAX_PARALLEL}, got {parallel}")
    if sampler not in studies.SAMPLERS:
        raise TrainingError(f"sampler must be one of {', '.join(studies.SAMPLERS)}, got {sampler!r}")
    from canvascraft.training import get_trainer

    objective = get_trainer(trainer).objective  # an unknown trainer is named here, with the closest names
    metrics = tuning_metrics(trainer)
    metric = metric or objective.primary
    if metric not in metrics:
        raise TrainingError(f"metric must be one of {', '.join(metrics)}, got {metric!r}")
    candidates = search_candidates(recipe, trainer)
    chosen = check_space(space if space is not None else candidates, candidates)
    view = open_version(dataset)
    settings = {"epochs": TRIAL_EPOCHS, **(hyper or {}), **({"epochs": epochs} if epochs is not None else {})}
    base = training_spec(
        dataset, view.version.number, recipe, trainer, settings, 0.2, seed, max_items, None, "auto"
    )
    _check_searched_memory(view, base, chosen)
    existing = {s.name for s in studies.all_studies()}
    name = name or _free_name(f"{recipe}-{trainer}", existing)
    if not NAME.match(name):
        raise TrainingError(f"study name {name!r}: use letters, digits, '-', '_' and '.' (at most 100)")
    attrs = {
        "base_spec": base,
        "space": [p.to_dict() for p in chosen],
        "trials": trials,
        "parallel": parallel,
        "seed": seed,
        "epochs": int(base["hyper"]["epochs"]),
    }
    studies.create(name, metric, sampler, attrs)
    job_id = pool().submit("tune", {"study": name}, lane=DRIVER_LANE, lane_limit=DRIVER_LIMIT)
    studies.load(name).set_user_attr("driver_job", job_id)
    return name, job_id


def _check_searched_memory(view: VersionView, base: dict[str, Any], chosen: list[SearchParam]) -> None:
    """Refuse a study whose costliest trial (the searched brush ranges at their worst corner) needs more
    memory per item than the limit; the base recipe was checked by ``training_spec``."""
    from canvascraft.modalities import get_modality
    from canvascraft.recipe.library import load_recipe
    from canvascraft.recipe.spec import validate_recipe

    saved = load_recipe(base["recipe"], base["recipe_version"]).model_dump(mode="json")
    modality = get_modality(view.modality)

    def cost(overrides: dict[str, Any]) -> int | None:
        try:
            memory = modality.item_memory(validate_recipe(apply_overrides(saved, overrides)), view)
        except RecipeError:
            return None
        return None if memory is None else memory.peak_bytes

    worst = costliest_overrides(chosen, cost)
    if worst:
        values = ", ".join(f"{name}={value:g}" for name, value in worst.items())
        note = f" with the searched {values} (narrow the searched ranges)"
        check_item_memory(view, validate_recipe(apply_overrides(saved, worst)), note)


def _free_name(stem: str, taken: set[str]) -> str:
    number = 1
    while f"{stem}-{number}" in taken:
        number += 1
    return f"{stem}-{number}"


@dataclass(frozen=True)
class StudyView:
    summary: studies.StudySummary
    trials: list[studies.TrialRow]
    driver: Job | None

    @property
    def name(self) -> str:
        return self.summary.name

    @property
    def active(self) -> bool:
        return self.driver is not None and JobState(self.driver.state) not in TERMINAL

    @property
    def state(self) -> str:
        """``running``/``queued`` while the driver works, else its ending (``succeeded`` = all done)."""
        return self.driver.state if self.driver is not None else "unknown"


def _driver(summary: studies.StudySummary) -> Job | None:
    job_id = summary.attrs.get("driver_job")
    if job_id is None:
        return None
    try:
        return get_job(int(job_id))
    except JobError:  # a study made against another studio database: show it without its driver
        return None


def list_studies() -> list[StudyView]:
    """Every study, newest first, without its trials."""
    return [StudyView(s, [], _driver(s)) for s in studies.all_studies()]


def study_view(name: str) -> StudyView:
    study = studies.load(name)
    summary = studies.summarize(study)
    rows = [studies.trial_row(t) for t in study.get_trials(deepcopy=False)]
    return StudyView(summary, rows, _driver(summary))


def study_figures(name: str) -> dict[str, go.Figure]:
    """Optuna's own plotly figures for the study: history once a trial completed; parameter importances
    and parallel coordinates once two have (Optuna needs that many to compare)."""
    import optuna.visualization as vis
    from optuna.trial import TrialState

    study = studies.load(name)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    figures: dict[str, go.Figure] = {}
    if complete:
        figures["Optimization history"] = vis.plot_optimization_history(study)
    if any(t.intermediate_values for t in study.get_trials(deepcopy=False)):
        figures["Intermediate values"] = vis.plot_intermediate_values(study)
    if len(complete) >= 2:
        figures["Parallel coordinates"] = vis.plot_parallel_coordinate(study)
        if len({k for t in complete for k in t.params}) >= 2:
            figures["Parameter importances"] = vis.plot_param_importances(study)
    return figures


@action(role="artist", does="stop a tuning study", audit="study.stop", target="{name}")
def stop_study(name: str) -> None:
    """Stop the driver: it cancels the trials in flight and records them as failed."""
    view = study_view(name)
    if view.driver is None or not view.active:
        raise TrainingError(f"study {name!r} is not running")
    cancel_job(view.driver.id)


@action(
    role="artist",
    does="train a study's best trial",
    audit="study.train_best",
    target="{name} as job {result}",
)
def train_best(name: str, epochs: int | None = None) -> int:
    """Queue a normal training job with the best trial's hyperparameters and brush settings."""
    view = study_view(name)
    if view.summary.best_params is None:
        raise TrainingError(f"study {name!r} has no completed trial yet; wait for one or start more trials")
    from canvascraft.recipe.library import load_recipe
    from canvascraft.recipe.spec import validate_recipe

    base = view.summary.attrs["base_spec"]
    hyper, overrides = split_params(view.summary.best_params)
    settings = {**base["hyper"], **hyper, **({"epochs": epochs} if epochs is not None else {})}
    recipe = load_recipe(base["recipe"], base["recipe_version"])
    best = validate_recipe(apply_overrides(recipe.model_dump(mode="json"), overrides))
    from canvascraft.data.reads import open_version

    check_item_memory(open_version(base["dataset"], base["dataset_version"]), best)
    spec = training_spec(
        base["dataset"], base["dataset_version"], base["recipe"], base["trainer"], settings,
        base["val_fraction"], base["seed"], base.get("max_items"), base.get("pinned"), "auto",
        recipe_version=base["recipe_version"],
    )  # fmt: skip
    spec["recipe_overrides"] = overrides
    spec["from_study"] = {"name": name, "trial": view.summary.best_trial}
    return pool().submit("train", spec)
