"""The study driver: one light process per study (``python -m jobs.tune JOB_ID``) that asks Optuna for
trials, runs each as a training job in the study's lane of the job pool, and tells Optuna how each
ended: complete with its value, pruned, or failed when its process died.

The driver never imports torch; it can be killed and resumed (``jobs resume``): the study, its trials
and their jobs are all in databases, so a new driver picks up where the old one stopped.
"""

from __future__ import annotations

import signal
import time
from typing import Any

import optuna
from optuna.trial import TrialState

from canvascraft.errors import Cancelled
from canvascraft.jobs import TERMINAL, JobState
from canvascraft.jobs.pool import JobPool
from canvascraft.jobs.runtime import report_progress
from canvascraft.store.models import Job
from canvascraft.tracking.runs import TrainingRun
from canvascraft.training.progress import TrainingProgress
from canvascraft.tuning import studies
from canvascraft.tuning.space import SearchParam, split_params

POLL_S = 0.5
STOP_WAIT_S = 60.0


def trial_value(job: Job, metric: str, maximize: bool) -> float | None:
    """The best value of ``metric`` over a finished trial's epochs (``None`` if none finished)."""
    progress = TrainingProgress.from_dict(job.progress)
    values = [float(row[metric]) for row in (progress.history if progress else [])]
    if not values:
        return None
    return max(values) if maximize else min(values)


def was_pruned(job: Job) -> bool:
    progress = TrainingProgress.from_dict(job.progress)
    return progress is not None and progress.phase == "pruned"


class Driver:
    def __init__(self, job_id: int, study_name: str) -> None:
        self.job_id = job_id
        self.study = studies.load(study_name)
        self.attrs: dict[str, Any] = dict(self.study.user_attrs)
        self.space = [SearchParam.from_dict(p) for p in self.attrs["space"]]
        self.distributions = {p.name: p.distribution() for p in self.space}
        self.planned = int(self.attrs["trials"])
        self.parallel = int(self.attrs["parallel"])
        self.metric = str(self.attrs["metric"])
        self.maximize = self.study.direction == optuna.study.StudyDirection.MAXIMIZE
        self.pool = JobPool()
        self._stop_requested = False

    def _request_stop(self, signum: int, frame: object) -> None:
        """SIGTERM only sets a flag: the loop stops between ticks, never halfway through starting a
        trial's process (which would leave a running trial the pool has no handle for)."""
        self._stop_requested = True

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._request_stop)
        parent = self._parent_run()
        print(f"study {self.study.study_name}: {self.planned} trials, {self.parallel} at a time, "
              f"{self.attrs['sampler']}, {self.metric}", flush=True)  # fmt: skip
        try:
            while True:
                if self._stop_requested:
                    raise Cancelled()
                self.pool.tick()
                active = self.reconcile()
                asked = len(self.study.get_trials(deepcopy=False))
                if asked >= self.planned and not active:
                    break
                if asked < self.planned and len(active) < self.parallel:
                    self.ask()
                    continue
                self._report()
                time.sleep(POLL_S)
        except Cancelled:
            self.stop()
            parent.finish("KILLED")
            raise
        except BaseException:
            parent.finish("FAILED")
            raise
        self._report()
        self._log_best(parent)
        parent.finish("FINISHED")

    def ask(self) -> int:
        """Ask Optuna for the next trial and queue its training job in the study's lane."""
        trial = self.study.ask(self.distributions)
        hyper, overrides = split_params(trial.params)
        base = self.attrs["base_spec"]
        spec = {
            **base,
            "hyper": {**base["hyper"], **hyper},
            "recipe_overrides": overrides,
            "study": {
                "name": self.study.study_name,
                "trial_id": trial._trial_id,
                "number": trial.number,
                "metric": self.metric,
                "parent_run_id": self.attrs.get("mlflow_run_id"),
            },
        }
        job_id = self.pool.submit(
            "train", spec, lane=studies.lane(self.study.study_name), lane_limit=self.parallel
        )
        trial.set_user_attr("job_id", job_id)
        shown = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items()
        )
        print(f"trial {trial.number}: job {job_id} ({shown})", flush=True)
        return job_id

    def reconcile(self) -> list[int]:
        """Tell Optuna how each ended trial job went; returns the jobs still queued or running."""
        active: list[int] = []
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            job_id = trial.user_attrs.get("job_id")
            if job_id is None:  # asked by a driver that died before queuing its job
                self.study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
                continue
            job = self.pool.get_job(int(job_id))
            if JobState(job.state) not in TERMINAL:
                active.append(job.id)
                continue
            self._tell(trial.number, job)
        return active

    def _tell(self, number: int, job: Job) -> None:
        value = trial_value(job, self.metric, self.maximize)
        if job.state == JobState.SUCCEEDED and was_pruned(job):
            self.study.tell(number, state=TrialState.PRUNED, skip_if_finished=True)
            outcome = "pruned"
        elif job.state == JobState.SUCCEEDED and value is not None:
            self.study.tell(number, value, skip_if_finished=True)
            outcome = f"{self.metric} {value:.4f}"
        else:
            self.study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
            outcome = f"failed (job {job.id} {job.state})"
        print(f"trial {number}: {outcome}", flush=True)

    def stop(self) -> None:
        """Cancel the trials in flight, wait for their jobs to end, and record them as failed."""
        active = self.reconcile()
        for job_id in active:
            self.pool.cancel(job_id)
        deadline = time.monotonic() + STOP_WAIT_S
        while active and time.monotonic() < deadline:
            time.sleep(POLL_S)
            self.pool.tick()
            active = self.reconcile()
        print(f"study {self.study.study_name}: stopped", flush=True)

    def _parent_run(self) -> TrainingRun:
        run_id = self.attrs.get("mlflow_run_id")
        if run_id:
            return TrainingRun.resume(run_id)
        params = {
            "study": self.study.study_name,
            "dataset": self.attrs["base_spec"]["dataset"],
            "recipe": self.attrs["base_spec"]["recipe"],
            "trainer": self.attrs["base_spec"]["trainer"],
            "sampler": self.attrs["sampler"],
            "metric": self.metric,
            "trials": self.planned,
            "parallel": self.parallel,
            **{f"space.{p.name}": _describe(p) for p in self.space},
        }
        run = TrainingRun.start(
            run_name=f"study-{self.study.study_name}",
            params=params,
            tags={"canvascraft.study": self.study.study_name, "canvascraft.job_id": str(self.job_id)},
        )
        self.study.set_user_attr("mlflow_run_id", run.run_id)
        self.attrs["mlflow_run_id"] = run.run_id
        return run

    def _report(self) -> None:
        counts: dict[str, int] = {}
        for trial in self.study.get_trials(deepcopy=False):
            counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
        report_progress(
            self.job_id, {"study": self.study.study_name, "trials": self.planned, "counts": counts}
        )

    def _log_best(self, parent: TrainingRun) -> None:
        complete = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not complete:
            print(f"study {self.study.study_name}: no trial completed", flush=True)
            return
        best = self.study.best_trial
        parent.log_summary(
            {f"best_{self.metric}": float(best.value)}, {f"best.{k}": v for k, v in best.params.items()}
        )
        print(f"study {self.study.study_name}: best trial {best.number}, {self.metric} {best.value:.4f}, "
              f"{best.params}", flush=True)  # fmt: skip


def _describe(param: SearchParam) -> str:
    if param.kind == "choice":
        return "choice " + ",".join(str(c) for c in param.choices or ())
    return f"{param.kind} {param.low:g}..{param.high:g}{' log' if param.log else ''}"


def drive(job_id: int, spec: dict[str, Any]) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    Driver(job_id, spec["study"]).run()
