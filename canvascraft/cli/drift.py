"""Drift checks, schedules and reports of watched models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from canvascraft.cli.output import (
    clean_errors,
    print_skipped,
)
from canvascraft.cli.root import drift_app
from canvascraft.errors import DriftError, Skipped

if TYPE_CHECKING:
    pass


def _print_check(detail: Any, link_url: str) -> None:
    from canvascraft.services.drift import check_link

    check = detail.summary
    if check.state != "done":
        typer.echo(f"check {check.id}: {check.verdict} ({check.current})" +
                   (f": {check.error}" if check.error else ""))  # fmt: skip
        return
    verdict = "DRIFT" if check.drifted else "no drift"
    typer.echo(
        f"{verdict}: {check.model_ref} (version {check.model_version}, run {check.run_id}) on "
        f"{check.current}: {check.n_current} current vs {check.n_reference} reference item(s)"
    )

    for point in detail.metrics:
        if point.drifted:
            p_value = f" (p={point.p_value:.2g})" if point.p_value is not None else ""
            value = f"{point.value:.3g}" if point.value is not None else "n/a"
            typer.echo(f"  drifted: {point.feature}: {point.metric} {value}{p_value}")
    for sentence in check.sentences:
        typer.echo(f"  - {sentence}")
    print_skipped([Skipped(name, reason) for name, reason in detail.skipped])
    typer.echo(f"check {check.id}: {link_url or check_link(check)}")


def _write_report(check_id: int, out: Path) -> None:
    from canvascraft.drift.report import report_html
    from canvascraft.services.drift import check_series, get_check

    detail = get_check(check_id)
    out.write_text(report_html(detail, check_series(detail.summary.model_name)), encoding="utf-8")
    typer.echo(f"report: {out}")


@drift_app.command("check")
@clean_errors
def drift_check(
    model: Annotated[str, typer.Argument(help="MODEL@ALIAS or MODEL/VERSION.")],
    current: Annotated[
        str, typer.Option("--current", help="A folder of files, or a dataset name (latest version).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write the check as one standalone HTML file.")
    ] = None,
) -> None:
    """Compare current data with the model's training data and store the check; exits 0 whether or not
    drift is found."""
    from canvascraft.services.drift import check_once

    detail = check_once(model, current)
    if as_json:
        typer.echo(_check_json(detail))
    else:
        _print_check(detail, "")
    if report is not None:
        _write_report(detail.summary.id, report)


def _check_json(detail: Any) -> str:
    from dataclasses import asdict

    from canvascraft.drift.checks import jsonable

    check = detail.summary
    payload = {
        **asdict(check),
        "verdict": check.verdict,
        "metrics": [asdict(point) for point in detail.metrics],
        "skipped": [{"name": name, "reason": reason} for name, reason in detail.skipped],
        "farthest": [{"name": item.name, "score": item.score} for item in detail.farthest],
    }
    return json.dumps(jsonable(payload), indent=2, ensure_ascii=False, default=str)


def _thresholds(values: list[str] | None) -> dict[str, float] | None:
    if not values:
        return None
    out: dict[str, float] = {}
    for value in values:
        name, _, number = value.partition("=")
        try:
            out[name.strip()] = float(number)
        except ValueError:
            raise DriftError(f"--threshold {value!r} is not NAME=NUMBER, e.g. psi=0.3") from None
    return out


@drift_app.command("schedule")
@clean_errors
def drift_schedule(
    model: Annotated[str, typer.Argument(help="MODEL@ALIAS (or MODEL/VERSION) to watch.")],
    every: Annotated[str | None, typer.Option("--every", help="Interval: 90s, 15min, 1h, 1d.")] = None,
    cron: Annotated[str | None, typer.Option("--cron", help='Crontab line, e.g. "0 * * * *".')] = None,
    source: Annotated[
        str,
        typer.Option("--source", help="folder (the watched folder), sent (files sent to Try) or dataset."),
    ] = "folder",
    dataset: Annotated[str, typer.Option("--dataset", help="The dataset, with --source dataset.")] = "",
    threshold: Annotated[
        list[str] | None, typer.Option("--threshold", help="A metric's limit for this model: psi=0.3.")
    ] = None,
) -> None:
    """Watch a model: check it on a schedule (or only by hand, with neither --every nor --cron).
    Running it again changes the schedule; the studio runs the checks."""
    from canvascraft.gallery.registry import parse_ref
    from canvascraft.services.drift import get_monitor, save_monitor

    name, alias, version = parse_ref(model)
    limits = _thresholds(threshold)
    if limits is None:
        try:
            limits = get_monitor(name).custom_thresholds
        except DriftError:
            limits = None
    monitor = save_monitor(
        name, alias=alias or str(version), source_kind=source, source=dataset, every=every, cron=cron,
        thresholds=limits,
    )  # fmt: skip
    typer.echo(f"watching {monitor.ref}: {monitor.schedule_label}, on {monitor.source_label}")
    if monitor.source_kind == "folder":
        typer.echo(f"drop new files into {monitor.folder}")
    if monitor.next_run is not None:
        typer.echo(f"next check: {monitor.next_run:%Y-%m-%d %H:%M:%S} UTC")


@drift_app.command("list")
@clean_errors
def drift_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Watched models with their schedule, next check and latest verdict."""
    from canvascraft.services.drift import list_checks, list_monitors

    rows = []
    for monitor in list_monitors():
        latest = next(iter(list_checks(monitor.model_name, limit=1)), None)
        when = f"{latest.created_at:%Y-%m-%d %H:%M}" if latest else ""
        rows.append({
            "model": monitor.ref,
            "schedule": monitor.schedule_label,
            "next_check": monitor.next_run.isoformat() if monitor.next_run else None,
            "data": monitor.source_label,
            "latest": f"{latest.verdict} (check {latest.id}, {when})" if latest else "",
        })  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no model is watched; start with `canvascraft drift schedule MODEL@ALIAS --every 1h`")
        return
    for row in rows:
        typer.echo(f"{row['model']}: {row['schedule']}; next {row['next_check'] or '-'}; {row['data']}; "
                   f"latest: {row['latest'] or 'none yet'}")  # fmt: skip


@drift_app.command("pause")
@clean_errors
def drift_pause(model: Annotated[str, typer.Argument(help="The watched model's name.")]) -> None:
    """Pause a model's schedule (its settings and checks stay)."""
    from canvascraft.services.drift import set_paused

    typer.echo(f"{model}: {set_paused(model, True).schedule_label}")


@drift_app.command("resume")
@clean_errors
def drift_resume(model: Annotated[str, typer.Argument(help="The watched model's name.")]) -> None:
    """Resume a paused schedule."""
    from canvascraft.services.drift import set_paused

    typer.echo(f"{model}: {set_paused(model, False).schedule_label}")


@drift_app.command("unwatch")
@clean_errors
def drift_unwatch(model: Annotated[str, typer.Argument(help="The watched model's name.")]) -> None:
    """Stop watching a model: its schedule is removed, its past checks stay."""
    from canvascraft.services.drift import remove_monitor

    remove_monitor(model)
    typer.echo(f"{model} is no longer watched")


@drift_app.command("run")
@clean_errors
def drift_run(
    model: Annotated[str, typer.Argument(help="The watched model's name.")],
    report: Annotated[Path | None, typer.Option("--report", help="Also write the HTML report.")] = None,
) -> None:
    """Check a watched model now, on its own data source (the watched folder's new files, ...)."""
    from canvascraft.services.drift import run_check_now

    detail = run_check_now(model)
    if detail.summary.state == "failed":
        raise DriftError(detail.summary.error or "the check failed")
    _print_check(detail, "")
    if report is not None and detail.summary.state == "done":
        _write_report(detail.summary.id, report)


@drift_app.command("report")
@clean_errors
def drift_report(
    check_id: Annotated[int, typer.Argument(help="A check id (`canvascraft drift list` shows the latest).")],
    out: Annotated[Path, typer.Argument(help="The HTML file to write.")],
) -> None:
    """Write a stored check as one standalone HTML file (opens offline)."""
    _write_report(check_id, out)


# --- Alerts: who hears about drift and training, and the alert log (canvascraft.events) -----------------
