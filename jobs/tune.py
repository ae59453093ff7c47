"""``python -m jobs.tune JOB_ID``: drive one tuning study until its trials are done or it is stopped.

Spec: ``study`` (the study's name in the workspace's Optuna storage; everything else is in the study's
user attributes). SIGTERM (Stop) cancels the trials in flight, fails them in Optuna and ends the study's
MLflow run as KILLED.
"""

from __future__ import annotations

from canvascraft.jobs.runtime import begin_job, run_job
from canvascraft.tuning.driver import drive


def main(job_id: int) -> int:
    drive(job_id, begin_job(job_id))  # the driver handles SIGTERM itself, between ticks
    return 0


if __name__ == "__main__":
    run_job(main)
