"""``python -m jobs.sleep JOB_ID``: a job that only sleeps, so the pool can be checked with real processes.

Spec: ``seconds`` (default 0.5), ``exit_code`` (default 0), ``crash`` (raise instead of exiting),
``ignore_term`` (ignore SIGTERM, to check that a cancel escalates to SIGKILL) and ``allocate_mb`` (hold
that much memory, to check a job that runs out of it).
"""

from __future__ import annotations

import os
import signal
import time

from canvascraft.jobs.runtime import begin_job, report_progress, run_job

STEP_S = 0.1


def main(job_id: int) -> int:
    spec = begin_job(job_id)
    if spec.get("ignore_term"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    report_progress(job_id, {"step": 0, "fraction": 0.0})  # set after the handler, so tests can wait on it
    seconds = float(spec.get("seconds", 0.5))
    print(f"job {job_id} started pid {os.getpid()}", flush=True)
    deadline = time.monotonic() + seconds
    step = 0
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(STEP_S, left))
        step += 1
        report_progress(job_id, {"step": step, "fraction": min(1.0, step * STEP_S / max(seconds, STEP_S))})
        print(f"step {step}", flush=True)
    if spec.get("allocate_mb"):
        held = bytearray(int(spec["allocate_mb"]) * 2**20)  # a real allocation, page by page
        print(f"job {job_id} holds {len(held) >> 20} MB", flush=True)
    if spec.get("crash"):
        raise RuntimeError(f"job {job_id} crashed on purpose")
    exit_code = int(spec.get("exit_code", 0))
    print(f"job {job_id} done, exit code {exit_code}", flush=True)
    return exit_code


if __name__ == "__main__":
    run_job(main)
