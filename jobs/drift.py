"""``python -m jobs.drift JOB_ID``: run one queued drift check (spec: ``check_id``) and store its outcome.

A check that fails is stored as failed with its reason, and the job exits 1 so the jobs table shows it.
"""

from __future__ import annotations

from canvascraft.jobs.runtime import begin_job, report_progress, run_job


def main(job_id: int) -> int:
    from canvascraft.services.drift import execute_check

    spec = begin_job(job_id)
    check_id = int(spec["check_id"])
    print(f"drift check {check_id} started", flush=True)
    state = execute_check(check_id)
    report_progress(job_id, {"fraction": 1.0, "state": state})
    print(f"drift check {check_id} ended: {state}", flush=True)
    return 1 if state == "failed" else 0


if __name__ == "__main__":
    run_job(main)
