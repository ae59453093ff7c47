"""``python -m jobs.tune JOB_ID``: drive one tuning study until its trials are done or it is stopped.

Spec: ``study`` (the study's name in the workspace's Optuna storage; everything else is in the study's
user attributes). SIGTERM (Stop) cancels the trials in flight, fails them in Optuna and ends the study's
MLflow run as KILLED.
"""

from __future__ import annotations

from canvascraft.jobs.runtime import begin_job, run_job, stop_on_sigterm
from canvascraft.tuning.driver import drive


def main(job_id: int) -> int:
    spec = begin_job(job_id)
    stop_on_sigterm()
    drive(job_id, spec)
    return 0


if __name__ == "__main__":
    run_job(main)
