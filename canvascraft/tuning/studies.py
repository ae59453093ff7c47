"""Studies in Optuna's own RDB storage (``optuna.db`` in the workspace), so ``optuna-dashboard`` can
open the same studies; what the studio needs to know besides Optuna's data lives in user attributes.

Trials run across processes with ask-and-tell: the study's driver asks and tells, each trial's job
reports intermediate values and asks whether to stop (``trial.TrialReporter``). Optuna's heartbeat only
covers ``optimize()``, so a trial whose process dies is failed by the driver from the job's outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

import optuna
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState

from canvascraft.config import get_settings
from canvascraft.errors import TrainingError

Sampler = Literal["tpe", "random", "hyperband"]
SAMPLERS: dict[str, str] = {
    "tpe": "TPE (Bayesian): learns from finished trials which ranges look promising",
    "random": "Random: independent draws; a baseline that is hard to fool",
    "hyperband": "TPE with Hyperband pruning: stops weak trials after a few epochs to try more",
}


def tuning_metrics(trainer: str | None) -> dict[str, Literal["minimize", "maximize"]]:
    """What a study of ``trainer`` can optimise: its objective's validation metrics, each with its
    direction (a trial scores its best epoch). An unknown trainer gets the classifiers' metrics."""
    from canvascraft.training.trainers import objective_of

    objective = objective_of(trainer)
    return {key: objective.direction(key) for key in objective.metric_keys("val")}


LANE_PREFIX = "study:"


@lru_cache(maxsize=4)
def _storage(url: str) -> RDBStorage:
    # SQLite is shared by the driver, every trial process and the studio: wait on locks, never fail.
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    return RDBStorage(url, engine_kwargs=kwargs)


def storage() -> RDBStorage:
    return _storage(get_settings().optuna_url)


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name in ("tpe", "hyperband"):
        # A few random trials first, so TPE has something to learn from on short studies.
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=3)
    raise TrainingError(f"sampler must be one of {', '.join(SAMPLERS)}, got {name!r}")


def make_pruner(name: str, epochs: int) -> optuna.pruners.BasePruner:
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 2), reduction_factor=3)
    return optuna.pruners.NopPruner()


def lane(study_name: str) -> str:
    """The job-pool lane of a study's trials: they share the study's own parallelism limit."""
    return f"{LANE_PREFIX}{study_name}"


def load(name: str) -> optuna.Study:
    """The study called ``name`` with the sampler and pruner it was created with."""
    try:
        study = optuna.load_study(study_name=name, storage=storage())
    except KeyError:
        raise TrainingError(
            f"no study named {name!r}; list studies with `canvascraft studies list`"
        ) from None
    # One load: the sampler and pruner come from the study's own attributes, so they are set after.
    attrs = study.user_attrs
    sampler = attrs.get("sampler", "tpe")
    study.sampler = make_sampler(sampler, int(attrs.get("seed", 0)))
    study.pruner = make_pruner(sampler, int(attrs.get("epochs", 2)))
    return study


def create(name: str, metric: str, sampler: str, attrs: dict[str, Any]) -> optuna.Study:
    """A new study of the trainer in ``attrs["base_spec"]``, scored by ``metric`` (one of its
    ``tuning_metrics``)."""
    metrics = tuning_metrics(attrs.get("base_spec", {}).get("trainer"))
    if metric not in metrics:
        raise TrainingError(f"metric must be one of {', '.join(metrics)}, got {metric!r}")
    make_sampler(sampler, 0)  # checks the name
    if name in {s.study_name for s in optuna.get_all_study_summaries(storage(), include_best_trial=False)}:
        raise TrainingError(f"a study named {name!r} already exists; choose another name")
    study = optuna.create_study(storage=storage(), study_name=name, direction=metrics[metric])
    for key, value in {**attrs, "metric": metric, "sampler": sampler}.items():
        study.set_user_attr(key, value)
    return load(name)


def fail_trial(name: str, number: int) -> None:
    """Record a trial whose job ended badly as failed (nothing happens if it was already told)."""
    study = optuna.load_study(study_name=name, storage=storage())
    study.tell(number, state=TrialState.FAIL, skip_if_finished=True)


@dataclass(frozen=True)
class TrialRow:
    number: int
    state: str
    value: float | None
    params: dict[str, Any]
    job_id: int | None
    #: The metric after each epoch the trial reported (what pruning compared).
    intermediate: dict[int, float]
    started: datetime | None
    seconds: float | None

    @property
    def pruned(self) -> bool:
        return self.state == "PRUNED"


def trial_row(trial: FrozenTrial) -> TrialRow:
    seconds = trial.duration.total_seconds() if trial.duration else None
    job = trial.user_attrs.get("job_id")
    return TrialRow(
        number=trial.number,
        state=trial.state.name,
        value=trial.value if trial.state == TrialState.COMPLETE else None,
        params=dict(trial.params),
        job_id=int(job) if job is not None else None,
        intermediate={int(k): float(v) for k, v in trial.intermediate_values.items()},
        started=trial.datetime_start,
        seconds=seconds,
    )


@dataclass(frozen=True)
class StudySummary:
    name: str
    attrs: dict[str, Any]
    direction: str
    counts: dict[str, int]
    best_value: float | None
    best_params: dict[str, Any] | None
    best_trial: int | None
    created: datetime | None

    @property
    def planned(self) -> int:
        return int(self.attrs.get("trials", 0))

    @property
    def finished(self) -> int:
        return sum(self.counts.get(s, 0) for s in ("COMPLETE", "PRUNED", "FAIL"))


def summarize(study: optuna.Study) -> StudySummary:
    trials = study.get_trials(deepcopy=False)
    counts: dict[str, int] = {}
    for trial in trials:
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    best = study.best_trial if complete else None
    return StudySummary(
        name=study.study_name,
        attrs=dict(study.user_attrs),
        direction=study.direction.name.lower(),
        counts=counts,
        best_value=best.value if best else None,
        best_params=dict(best.params) if best else None,
        best_trial=best.number if best else None,
        created=min((t.datetime_start for t in trials if t.datetime_start), default=None),
    )


def all_studies() -> list[StudySummary]:
    """Every study in the workspace's storage, newest first."""
    names = [s.study_name for s in optuna.get_all_study_summaries(storage(), include_best_trial=False)]
    return [summarize(load(name)) for name in reversed(names)]
