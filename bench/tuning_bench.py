"""Per-trial overhead of the study machinery beside Optuna's own loop: ``python bench/tuning_bench.py``.

A study trial in the studio is not a function call: the driver asks Optuna (RDB storage), queues a
``train`` job in the study's lane, a pool claims it and starts a process, the process reads its spec,
writes progress, reports each epoch to Optuna, tracks an MLflow child run (params, artifacts, metrics,
the model in ``pt2`` format), and the driver tells Optuna how it ended. Three sections, one run, in a
temporary workspace (never the user's):

1. In process, interleaved with the baselines (``--repeat`` rounds of ``--trials`` trials each, same
   search space as a default study: ``hyper.learning_rate`` log 1e-4..1e-2 and ``hyper.dropout``, the
   study's TPE sampler and seed). Baseline: Optuna's in-memory ``study.optimize`` on a trivial
   objective, per trial; beside it ``optimize`` on the workspace's SQLite storage (Optuna's own cost
   of that storage). Ours: every step of a trial except training and process start-up, through the
   real code: ``Driver.ask`` (ask + queue in the lane), a ``JobPool`` tick claiming and launching it
   with an executor that starts nothing, the trial's bookkeeping (``begin_job``, the train job's
   ``Reporter`` writes, ``TrialReporter`` load/report/should-prune), the MLflow child run (start with
   the job's params and tags under the study's parent run, recipe and table-state artifacts, epoch
   metrics, finish), the pool recording the end, ``Driver.reconcile`` telling Optuna; and, as rows of
   their own, what every finished trial logs beside (``Objective.log_finished``: the validation
   report, card and drift profile) and the model export (``TrainingRun.log_model`` of a table-mlp).
   Target: under 1 s per trial.
2. Process start-up, which section 1 leaves out: a bare interpreter, the import set of a trial
   process (``import jobs.train``: torch, torchvision, MLflow, Optuna), alone and ``--parallel`` at
   once (as a study starts them), of the driver (once per study), and a full pool round trip of the
   lightest job (``jobs.sleep`` with 0 s: submit, claim, start, run, exit file, recorded). Each
   interpreter's exit is counted in and also shown on its own: tearing down torch takes seconds.
3. One real study end to end (``--skip-study`` leaves it out): ``start_study`` on ``sample-table`` with
   ``table-starter`` and ``table-mlp``, ``--epochs`` 1, ``--study-trials`` 6, ``--parallel`` 2, driven
   by ``canvascraft.services.jobs.tick()`` every 0.1 s until the driver job ends. Printed: wall time
   per trial minus the trials' own training seconds (``TrainingProgress.history[].seconds``), and per
   trial job its lifetime (claimed → end recorded) minus training minus the measured start-up and
   exit of that many trial processes at once, split at the trial's MLflow run.

On 2 cores shared with other work the process figures move by seconds; the load average is printed
before and after. Defaults take about 2–4 minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna
import torch
from timing import run_interleaved

from canvascraft.config import get_settings
from canvascraft.jobs import TERMINAL, JobPool, JobState
from canvascraft.jobs.executor import REPO_ROOT, ExitInfo
from canvascraft.jobs.runtime import begin_job, set_run_id
from canvascraft.recipe.io import to_yaml
from canvascraft.services import jobs as job_service
from canvascraft.services.recipes import load_recipe
from canvascraft.services.tuning import start_study
from canvascraft.services.workspace import prepare
from canvascraft.store.session import engine_for
from canvascraft.tracking.runs import TrainingRun, tracking_client
from canvascraft.training import CLASSIFICATION, EpochResult, get_trainer, load_split
from canvascraft.training.data import validation_members
from canvascraft.training.finish import FinishedRun
from canvascraft.training.progress import TrainingProgress
from canvascraft.tuning import studies
from canvascraft.tuning.driver import Driver
from canvascraft.tuning.space import split_params
from canvascraft.tuning.trial import TrialReporter

TARGET_S = 1.0
ENV_KEYS = (
    "CANVASCRAFT_WORKSPACE",
    "CANVASCRAFT_DATABASE_URL",
    "CANVASCRAFT_MLFLOW_TRACKING_URI",
    "CANVASCRAFT_MLFLOW_ARTIFACT_ROOT",
    "CANVASCRAFT_OPTUNA_STORAGE_URL",
)
DATASET, RECIPE, TRAINER = "sample-table", "table-starter", "table-mlp"
SEED = 0
TICK_S = 0.1
STUDY_TIMEOUT_S = 600.0
PIECES = (
    "driver: ask + queue in the lane",
    "pool: claim + launch (no process)",
    "trial: job row (spec, run id, progress ×5)",
    "trial: Optuna load + report + prune?",
    "trial: MLflow child run (no model)",
    "pool: record the end",
    "driver: reconcile + tell",
)
MODEL_PIECE = "trial: MLflow model export (pt2)"
REPORT_PIECE = "trial: validation report + card (MLflow)"
ARTIFACT_PIECES = (REPORT_PIECE, MODEL_PIECE)
TRIAL_START = "trial imports (import jobs.train)"
SLEEP_JOB = "pool round trip of jobs.sleep (0 s)"
PARALLEL_START = "trial imports, {parallel} processes at once"
PROCESS_COMMANDS = {
    "bare interpreter (python -c pass)": "pass",
    TRIAL_START: "import jobs.train",
    "driver imports (import jobs.tune), once per study": "import jobs.tune",
}


class NoProcessExecutor:
    """An executor that starts nothing: the pool's bookkeeping is timed without a process, and the
    "process" ends when the bench says so."""

    def __init__(self) -> None:
        self.commands: dict[str, list[str]] = {}
        self.ended: set[str] = set()

    def start(
        self, job_id: int, command: Sequence[str], log_path: Path, *, env: Mapping[str, str] | None = None
    ) -> str:
        handle = f"bench:{job_id}"
        self.commands[handle] = list(command)
        return handle

    def poll(self, handle: str) -> ExitInfo | None:
        return ExitInfo(exit_code=0) if handle in self.ended else None

    def cancel(self, handle: str, grace_s: float) -> None:
        self.ended.add(handle)


class Fixture:
    """What every in-process trial reuses: the recipe, a fitted split and a model to export."""

    def __init__(self) -> None:
        recipe = load_recipe(RECIPE)
        self.recipe_yaml = to_yaml(recipe)
        split = load_split(DATASET, recipe, 0.2, SEED)
        self.table_json = json.dumps(
            {"state": split.table_state, "feature_names": split.feature_names, "classes": split.classes},
            indent=2,
        )
        self.split = split
        self.members = validation_members(DATASET, 0.2, SEED)
        self.classes = split.classes
        self.modality = split.modality
        self.trainer = get_trainer(TRAINER)(epochs=1)
        self.model = self.trainer.build_model(split.input_shape, len(split.classes))
        first = split.val[0][0]
        self.example = torch.stack([first, split.val[1][0]])
        self.rounds = 0
        # The train job's own progress writer; ``jobs`` sits beside ``canvascraft``, not installed.
        if str(REPO_ROOT) not in sys.path:
            sys.path.insert(0, str(REPO_ROOT))
        self.job_module = importlib.import_module("jobs.train")
        self.reporter_class: type[Any] = self.job_module.Reporter


def timed(pieces: dict[str, float], name: str, action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = action()
    pieces[name] = pieces.get(name, 0.0) + time.perf_counter() - started
    return result


def one_trial(
    fixture: Fixture, driver: Driver, pool: JobPool, executor: NoProcessExecutor, pieces: dict[str, float]
) -> None:
    """One trial through the real code paths, in the order a real trial takes them, minus training."""
    with contextlib.redirect_stdout(io.StringIO()):  # the driver's and the job's log lines
        job_id = timed(pieces, PIECES[0], driver.ask)
    timed(pieces, PIECES[1], pool.tick)
    (handle,) = [h for h, c in executor.commands.items() if c[-1] == str(job_id) and h not in executor.ended]
    assert executor.commands[handle][-2:] == ["jobs.train", str(job_id)], executor.commands[handle]

    # The trial process (jobs/train.py::run), training and start-up left out.
    spec = timed(pieces, PIECES[2], lambda: begin_job(job_id))
    reporter = fixture.reporter_class(job_id, TrainingProgress(epochs=1))
    timed(pieces, PIECES[2], reporter.write)
    study = spec["study"]
    trial_reporter = timed(pieces, PIECES[3], lambda: TrialReporter(study))
    hyper = fixture.trainer.settings | split_params(trial_reporter.trial.params)[0]
    params = {
        "trainer": TRAINER, **{f"hyper.{k}": v for k, v in hyper.items()}, "recipe": RECIPE,
        "recipe_version": spec.get("recipe_version"), "dataset": DATASET,
        "dataset_version": spec.get("dataset_version"), "val_fraction": 0.2, "split_seed": SEED,
        "max_items": None, "classes": ",".join(fixture.classes),
    }  # fmt: skip
    tags = {
        "canvascraft.job_id": str(job_id), "canvascraft.modality": fixture.modality,
        "canvascraft.study": study["name"], "canvascraft.trial": str(study["number"]),
    }  # fmt: skip

    def open_run() -> TrainingRun:
        run = TrainingRun.start(
            run_name=f"trial-{study['number']}-{study['name']}", params=params, tags=tags,
            parent_run_id=study["parent_run_id"],
        )  # fmt: skip
        run.log_text(fixture.recipe_yaml, "recipe.yaml")
        run.log_text(fixture.table_json, "table_state.json")
        return run

    training = timed(pieces, PIECES[4], open_run)
    timed(pieces, PIECES[2], lambda: set_run_id(job_id, training.run_id))
    timed(pieces, PIECES[2], lambda: reporter.phase("training"))
    accuracy = 0.5 + 0.4 * ((study["number"] * 0.37) % 1.0)
    figures = (0.9, accuracy - 0.05, accuracy - 0.1, 0.8, accuracy, accuracy - 0.05)
    result = EpochResult(1, dict(zip(CLASSIFICATION.metric_keys(), figures, strict=True)), 0.1, True)
    reporter.progress.history.append(result.as_row())
    reporter.progress.epoch = 1
    timed(pieces, PIECES[4], lambda: training.log_epoch(result))
    timed(pieces, PIECES[2], reporter.write)
    timed(pieces, PIECES[3], lambda: trial_reporter.report(1, result.as_row()))
    timed(pieces, PIECES[2], lambda: reporter.phase("saving"))
    # What a finished training job logs beside its model: the objective's own hook (validation report,
    # card, drift profile), as jobs/train.py calls it.
    finished = FinishedRun(training, fixture.model, fixture.split, fixture.members, spec)
    timed(pieces, REPORT_PIECE, lambda: CLASSIFICATION.log_finished(finished))
    timed(pieces, MODEL_PIECE, lambda: training.log_model(fixture.model, fixture.example))
    timed(pieces, PIECES[4], lambda: training.finish("FINISHED"))
    timed(pieces, PIECES[2], lambda: reporter.phase("done"))

    executor.ended.add(handle)  # the process exits
    timed(pieces, PIECES[5], pool.tick)
    assert pool.get_job(job_id).state == JobState.SUCCEEDED
    with contextlib.redirect_stdout(io.StringIO()):
        active = timed(pieces, PIECES[6], driver.reconcile)
    assert job_id not in active


def ours_in_process(fixture: Fixture, trials: int) -> dict[str, float]:
    """A fresh study of ``trials`` trials through our machinery; seconds per trial for each piece."""
    fixture.rounds += 1
    name, driver_job = start_study(
        DATASET, RECIPE, TRAINER, trials=trials, parallel=1, epochs=1, name=f"bench-ours-{fixture.rounds}"
    )
    job_service.pool().cancel(driver_job)  # queued: cancelled at once, its process never starts
    driver = Driver(driver_job, name)
    with contextlib.redirect_stdout(io.StringIO()):
        parent = driver._parent_run()  # the study's MLflow run, the parent of every trial's run
    executor = NoProcessExecutor()
    pool = JobPool(executor=executor)
    driver.pool = pool
    pieces: dict[str, float] = {}
    for _ in range(trials):
        one_trial(fixture, driver, pool, executor, pieces)
    parent.finish("FINISHED")
    finished = studies.load(name).get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    assert len(finished) == trials, f"{len(finished)} of {trials} trials completed"
    return {piece: seconds / trials for piece, seconds in pieces.items()}


def objective(trial: optuna.Trial) -> float:
    """Trivial: the same two searched values, a number out."""
    learning_rate = trial.suggest_float("hyper.learning_rate", 1e-4, 1e-2, log=True)
    dropout = trial.suggest_float("hyper.dropout", 0.0, 0.5)
    return 1.0 - abs(learning_rate - 3e-3) * 50 - abs(dropout - 0.2)


def optuna_optimize(trials: int, storage: optuna.storages.BaseStorage | None, counter: list[int]) -> float:
    """Seconds per trial of Optuna's own loop (study creation not counted), same sampler and seed."""
    counter[0] += 1
    study = optuna.create_study(
        storage=storage,
        study_name=f"bench-optuna-{counter[0]}" if storage is not None else None,
        direction="maximize",
        sampler=studies.make_sampler("tpe", SEED),
    )
    started = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return (time.perf_counter() - started) / trials


def run_processes(code: str, count: int = 1) -> tuple[float, float]:
    """Seconds until ``count`` interpreters started at once have all run ``code`` and exited, and of
    those the longest interpreter exit (from the end of ``code`` to the process being gone)."""
    timed_code = f"{code}; import time; print(time.time(), flush=True)"
    started = time.perf_counter()
    processes = [
        subprocess.Popen([sys.executable, "-c", timed_code], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    exits = []
    for process in processes:
        assert process.stdout is not None
        done = float(process.stdout.readline())
        if process.wait():
            raise SystemExit(f"python -c {code!r} exited with {process.returncode}")
        exits.append(time.time() - done)
    return time.perf_counter() - started, max(exits)


def sleep_job_round_trip() -> tuple[float, None]:
    """Submit → claimed → process started → ran → exit recorded, for a job that does nothing."""
    pool = job_service.pool()
    started = time.perf_counter()
    job_id = pool.submit("sleep", {"seconds": 0})
    while JobState(pool.get_job(job_id).state) not in TERMINAL:
        pool.tick()
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    job = pool.get_job(job_id)
    assert job.state == JobState.SUCCEEDED, job.error_tail
    return elapsed, None


def end_to_end(trials: int, parallel: int, epochs: int) -> dict[str, Any]:
    """One real study, driven like the studio's scheduler would; what each trial job spent where."""
    started = time.perf_counter()
    name, driver_job = start_study(
        DATASET, RECIPE, TRAINER, trials=trials, parallel=parallel, epochs=epochs, name="bench-study"
    )
    deadline = started + STUDY_TIMEOUT_S
    while True:
        job_service.tick()
        driver = job_service.get_job(driver_job)
        if JobState(driver.state) in TERMINAL:
            break
        if time.perf_counter() > deadline:
            job_service.cancel_job(driver_job)
            raise SystemExit(f"the study did not finish in {STUDY_TIMEOUT_S:g} s")
        time.sleep(TICK_S)
    wall = time.perf_counter() - started
    if driver.state != JobState.SUCCEEDED:
        raise SystemExit(f"the study's driver ended {driver.state}:\n{driver.error_tail}")
    client = tracking_client()
    rows = []
    for trial in studies.load(name).get_trials(deepcopy=False):
        job = job_service.get_job(int(trial.user_attrs["job_id"]))
        progress = TrainingProgress.from_dict(job.progress)
        training = sum(float(row["seconds"]) for row in (progress.history if progress else []))
        claimed, recorded = job.started_at.timestamp(), job.finished_at.timestamp()
        run = client.get_run(job.mlflow_run_id).info
        run_start, run_end = run.start_time / 1000, run.end_time / 1000
        rows.append({
            "number": trial.number, "state": trial.state.name, "job": job.id, "training": training,
            "lifetime": recorded - claimed, "to_run": run_start - claimed,
            "in_run": run_end - run_start - training, "after_run": recorded - run_end,
        })  # fmt: skip
    return {"wall": wall, "rows": rows, "name": name}


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def describe_machine() -> list[str]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"machine   {platform.system()} {platform.machine()}, {cores} cores usable "
        f"({os.cpu_count()} logical); load average {load_average()}",
        f"software  Python {platform.python_version()}, Optuna {optuna.__version__}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} torch threads",
    ]


def median_min_max(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds of section 1 and 2 (default 3)")
    parser.add_argument("--trials", type=int, default=6, help="trials per round in section 1 (default 6)")
    parser.add_argument("--study-trials", type=int, default=6, help="trials of the real study (default 6)")
    parser.add_argument(
        "--parallel", type=int, default=2, help="the real study's parallel trials (default 2)"
    )
    parser.add_argument(
        "--epochs", type=int, default=1, help="epochs per trial of the real study (default 1)"
    )
    parser.add_argument("--skip-study", action="store_true", help="leave out section 3")
    args = parser.parse_args(argv)
    if min(args.repeat, args.trials, args.study_trials, args.parallel, args.epochs) < 1:
        parser.error("counts must be at least 1")
    return args


def in_process_section(args: argparse.Namespace, fixture: Fixture) -> tuple[list[str], float, float, float]:
    memory_rounds, sqlite_rounds = [0], [0]
    measures: dict[str, Callable[[], Any]] = {
        "optuna in memory": lambda: optuna_optimize(args.trials, None, memory_rounds),
        "optuna sqlite": lambda: optuna_optimize(args.trials, studies.storage(), sqlite_rounds),
        "ours": lambda: ours_in_process(fixture, args.trials),
    }
    print(f"[1/3] in process: {args.repeat} rounds of {args.trials} trials (after 1 warm-up)…", flush=True)
    results = run_interleaved(measures, args.repeat)
    memory = median_min_max(results["optuna in memory"])
    on_sqlite = median_min_max(results["optuna sqlite"])
    pieces = {
        piece: median_min_max([r[piece] for r in results["ours"]]) for piece in (*PIECES, *ARTIFACT_PIECES)
    }
    totals = [sum(r[p] for p in PIECES) for r in results["ours"]]
    totals_with_model = [sum(r.values()) for r in results["ours"]]
    ours, ours_model = median_min_max(totals), median_min_max(totals_with_model)
    lines = [
        f"[1/3] per trial, in process (median of {args.repeat} rounds × {args.trials} trials; min, max of "
        "the round means)",
        f"{'measure':<52}{'ms/trial':>10}{'min':>9}{'max':>9}",
    ]

    def row(name: str, figure: tuple[float, float, float]) -> str:
        median, low, high = (value * 1000 for value in figure)
        return f"{name:<52}{median:>10.1f}{low:>9.1f}{high:>9.1f}"

    lines.append(row("baseline: Optuna optimize, in memory", memory))
    lines.append(row("Optuna optimize, workspace SQLite storage", on_sqlite))
    lines += [row(f"  {piece}", pieces[piece]) for piece in PIECES]
    lines.append(row("ours, bookkeeping (no validation report or model)", ours))
    lines += [row(f"  {piece}", pieces[piece]) for piece in ARTIFACT_PIECES]
    lines.append(row("ours, everything but training and start-up", ours_model))
    return lines, memory[0], ours[0], ours_model[0]


def process_section(args: argparse.Namespace) -> tuple[list[str], dict[str, float]]:
    measures: dict[str, Callable[[], Any]] = {
        name: (lambda code=code: run_processes(code)) for name, code in PROCESS_COMMANDS.items()
    }
    if args.parallel > 1:
        measures[PARALLEL_START] = lambda: run_processes("import jobs.train", args.parallel)
    measures[SLEEP_JOB] = sleep_job_round_trip
    print(f"[2/3] process start-up: {args.repeat} rounds…", flush=True)
    # No warm-up: section 1 imported the same modules, so their files are in the page cache already.
    results = run_interleaved(measures, args.repeat, warm_ups=[])
    lines = [
        f"[2/3] process start-up (median of {args.repeat}; min, max; exit: the interpreter's own exit, "
        "included)",
        f"{'measure':<52}{'s':>7}{'min':>7}{'max':>7}{'exit':>7}",
    ]
    medians: dict[str, float] = {}
    for name, values in results.items():
        median, low, high = median_min_max([total for total, _ in values])
        exits = [exit_s for _, exit_s in values if exit_s is not None]
        medians[name] = median
        shown = name.format(parallel=args.parallel)
        exit_shown = f"{statistics.median(exits):>7.2f}" if exits else f"{'':>7}"
        lines.append(f"{shown:<52}{median:>7.2f}{low:>7.2f}{high:>7.2f}{exit_shown}")
    return lines, medians


def study_section(args: argparse.Namespace, start_up: float) -> tuple[list[str], float]:
    print(f"[3/3] a real study: {args.study_trials} trials, {args.parallel} at a time, "
          f"{args.epochs} epoch(s) of {TRAINER} on {DATASET}…", flush=True)  # fmt: skip
    outcome = end_to_end(args.study_trials, args.parallel, args.epochs)
    rows, wall = outcome["rows"], outcome["wall"]
    training = statistics.mean(r["training"] for r in rows)
    lines = [
        f"[3/3] study {outcome['name']}: {len(rows)} trials, {args.parallel} at a time, "
        f"{args.epochs} epoch(s), {TRAINER} on {DATASET}; seconds per trial job",
        f"{'trial':>5}{'state':>10}{'job':>5}{'lifetime':>10}{'training':>10}{'to run':>8}"
        f"{'in run':>8}{'after':>7}{'other':>7}",
    ]
    for r in rows:
        other = r["lifetime"] - r["training"]
        lines.append(
            f"{r['number']:>5}{r['state']:>10}{r['job']:>5}{r['lifetime']:>10.2f}{r['training']:>10.2f}"
            f"{r['to_run']:>8.2f}{r['in_run']:>8.2f}{r['after_run']:>7.2f}{other:>7.2f}"
        )
    other = statistics.median(r["lifetime"] - r["training"] for r in rows)
    after = statistics.median(r["after_run"] for r in rows)
    beyond = other - start_up
    per_trial = wall / len(rows)
    lines += [
        "  lifetime: claimed by a pool → end recorded by a pool; to run: claim → the trial's MLflow run",
        "  created (process start-up, spec, Optuna trial, split loading, model building); in run: the run's",
        "  span minus training (artifacts, metrics, pt2 model export); after: run closed → end recorded",
        "  (progress write, exit file, interpreter exit, up to one poll); other: lifetime − training",
        f"wall {wall:.1f} s, start_study → the driver's end recorded: {per_trial:.2f} s per trial;",
        f"  minus the mean training {training:.2f} s: {per_trial - training:.2f} s per trial (includes the",
        "  study's checks and creation, the driver's start-up and MLflow parent run, every trial's process",
        f"  start-up and data loading, and polling: the driver every 0.5 s, this bench every {TICK_S:g} s;",
        f"  trials overlap {args.parallel} at a time)",
        f"per trial job: median other {other:.2f} s − a trial process's imports and exit, {args.parallel} "
        f"at once [2/3], {start_up:.2f} s = {beyond:.2f} s",
        f"  ('after', mostly the interpreter's exit, is a median {after:.2f} s of the other; jobs start warm,"
        " so they pay no imports and this difference says little)",
    ]
    return lines, per_trial - training


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.perf_counter()
    before = describe_machine()
    saved = {key: os.environ.get(key) for key in ENV_KEYS}
    reports: list[list[str]] = []
    beyond: float | None = None
    with tempfile.TemporaryDirectory(prefix="canvascraft-tuning-bench-") as temporary:
        for key in ENV_KEYS:
            os.environ.pop(key, None)  # every store (ours, MLflow's, Optuna's) in the temporary workspace
        os.environ["CANVASCRAFT_WORKSPACE"] = str(Path(temporary) / "workspace")
        get_settings.cache_clear()
        try:
            print(f"preparing a temporary workspace in {temporary}…", flush=True)
            prepare()
            fixture = Fixture()
            lines, memory, ours, ours_model = in_process_section(args, fixture)
            reports.append(lines)
            lines, start_ups = process_section(args)
            reports.append(lines)
            start_up = start_ups.get(PARALLEL_START, start_ups[TRIAL_START])
            if not args.skip_study:
                lines, beyond = study_section(args, start_up)
                reports.append(lines)
        finally:
            engine_for(get_settings().db_url).dispose()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            get_settings.cache_clear()
    for report in reports:
        print()
        print("\n".join(report))
    print()
    for name, figure in (("bookkeeping", ours), ("everything but training", ours_model)):
        verdict = "meets" if figure < TARGET_S else "misses"
        print(f"in process, {name}: ours {figure * 1000:.0f} ms, Optuna in memory {memory * 1000:.2f} ms "
              f"per trial, ratio {figure / memory:.0f}×; target < {TARGET_S:g} s: {verdict} it")  # fmt: skip
    if beyond is not None:
        verdict = "meets" if beyond < TARGET_S else "misses"
        print(f"real study, all in: wall ÷ trials − mean training {beyond:.2f} s per trial; "
              f"target < {TARGET_S:g} s: {verdict} it")  # fmt: skip
    print()
    print("\n".join(before))
    print(f"at the end: load average {load_average()}; whole run {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
