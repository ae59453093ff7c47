"""Alert settings, the alert log and deliveries."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from canvascraft.cli.output import (
    clean_errors,
    open_workspace,
)
from canvascraft.cli.root import alerts_app

if TYPE_CHECKING:
    pass


def _print_alert_settings(view: Any) -> None:
    typer.echo(f"alert settings for {view.model_name or 'studio'}" + ("" if view.saved else " (defaults)"))
    webhook = view.webhook_url or "(none)"
    typer.echo(
        f"  webhook:      {webhook}" + (" (Slack format)" if view.webhook_url and view.slack_format else "")
    )
    typer.echo(f"  email:        {', '.join(view.emails) or '(none)'}")
    others = ", ".join(f"{channel}:{target}" for channel, target in view.channel_targets)
    typer.echo(f"  other:        {others or '(none)'}")
    typer.echo(f"  events:       {', '.join(view.events) or '(none)'}")
    retrain = "on, asks before switching" if view.ask_first else "on, switches when better"
    typer.echo(f"  auto-retrain: {retrain if view.auto_retrain else 'off'}")
    typer.echo(f"  cool-down:    {view.cooldown_s} s")


@alerts_app.command("list")
@clean_errors
def alerts_list(
    model: Annotated[
        str | None, typer.Option("--model", help="Only this model's alerts ('studio': none).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The alert log, newest first, with each delivery's state."""
    from canvascraft.services.alerts import list_alerts

    open_workspace()
    alerts = list_alerts(model, limit)
    if as_json:
        typer.echo(json.dumps([alert.to_dict() for alert in alerts], indent=2))
        return
    if not alerts:
        typer.echo("no alerts yet")
        return
    for alert in alerts:
        seen = " (acknowledged)" if alert.acknowledged else ""
        typer.echo(
            f"#{alert.id} {alert.created_at:%Y-%m-%d %H:%M:%S} [{alert.model_label}] {alert.title}{seen}"
        )
        for delivery in alert.deliveries:
            typer.echo(f"    {delivery.channel} {delivery.target}: {delivery.describe()}")


@alerts_app.command("settings")
@clean_errors
def alerts_settings(
    model: Annotated[str, typer.Argument(help="The registered model ('studio': runs with no model).")],
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="http(s) URL to POST alerts to; '' removes it.")
    ] = None,
    slack: Annotated[bool | None, typer.Option("--slack/--no-slack", help="Post Slack's format.")] = None,
    email: Annotated[list[str] | None, typer.Option("--email", help="A recipient; repeat for more.")] = None,
    no_email: Annotated[bool, typer.Option("--no-email", help="Remove every email recipient.")] = False,
    target: Annotated[
        list[str] | None,
        typer.Option("--target", help="CHANNEL:TARGET for any alert channel (`alerts channels`); repeat."),
    ] = None,
    no_targets: Annotated[
        bool, typer.Option("--no-targets", help="Remove every --target (webhook and email stay).")
    ] = False,
    events: Annotated[
        str | None, typer.Option("--events", help="Comma-separated, e.g. drift_detected,training_failed.")
    ] = None,
    auto_retrain: Annotated[
        bool | None, typer.Option("--auto-retrain/--no-auto-retrain", help="Retrain the model on drift.")
    ] = None,
    ask_first: Annotated[
        bool | None, typer.Option("--ask-first/--no-ask-first", help="Approve before the alias moves.")
    ] = None,
    cooldown: Annotated[
        str | None, typer.Option("--cooldown", help="Least time between retrains: 90s, 15m, 1h, 1d.")
    ] = None,
) -> None:
    """Show a model's alert settings or change them (options not given keep their value)."""
    from canvascraft.services.alerts import get_alert_settings, parse_duration, save_alert_settings

    open_workspace()
    key = "" if model == "studio" else model
    current = get_alert_settings(key)
    given = (webhook, slack, email, target, events, auto_retrain, ask_first, cooldown)
    if all(value is None for value in given) and not (no_email or no_targets):
        _print_alert_settings(current)
        return
    saved = save_alert_settings(
        key,
        webhook_url=current.webhook_url if webhook is None else webhook,
        slack_format=current.slack_format if slack is None else slack,
        emails=() if no_email else (current.emails if email is None else email),
        channel_targets=() if no_targets else (current.channel_targets if target is None else target),
        events=current.events if events is None else events.split(","),
        auto_retrain=current.auto_retrain if auto_retrain is None else auto_retrain,
        ask_first=current.ask_first if ask_first is None else ask_first,
        cooldown_s=current.cooldown_s if cooldown is None else parse_duration(cooldown),
    )
    typer.echo("saved")
    _print_alert_settings(saved)


@alerts_app.command("channels")
@clean_errors
def alerts_channels() -> None:
    """The alert channels a --target can name, with what each sends."""
    from canvascraft.services.alerts import list_channels

    for channel in list_channels():
        typer.echo(f"{channel.name:<16} {channel.summary} (target: {channel.target_label})")


@alerts_app.command("ack")
@clean_errors
def alerts_ack(
    alert_id: Annotated[int, typer.Argument(help="The alert's id (alerts list shows it).")],
) -> None:
    """Acknowledge an alert: it is marked as seen (its deliveries go on)."""
    from canvascraft.services.alerts import acknowledge

    open_workspace()
    alert = acknowledge(alert_id)
    typer.echo(f"acknowledged alert #{alert.id}: {alert.title}")


@alerts_app.command("deliver")
@clean_errors
def alerts_deliver() -> None:
    """Send every alert delivery whose next try has come, now (the studio does this every few seconds)."""
    from canvascraft.services.alerts import deliver_due, list_alerts

    open_workspace()
    delivered = deliver_due()
    waiting = sum(
        1 for a in list_alerts(limit=1000) for d in a.deliveries if d.state in ("pending", "retrying")
    )
    typer.echo(f"delivered {delivered}; {waiting} still waiting for a retry")
