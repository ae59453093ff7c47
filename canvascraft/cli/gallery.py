"""Training runs in MLflow: list, compare, and its own UI."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from canvascraft.cli.output import (
    clean_errors,
)
from canvascraft.cli.root import app, runs_app
from canvascraft.config import get_settings

if TYPE_CHECKING:
    pass


@runs_app.command("list")
@clean_errors
def runs_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Only runs on this dataset.")] = None,
    sort: Annotated[
        str | None, typer.Option("--sort", help="Order by this metric's final value, best first (val_loss).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many runs at most.")] = 100,
) -> None:
    """List training runs with their final metrics, newest first or by a metric."""
    from canvascraft.gallery.runs import RunFilter, lower_is_better, search_runs

    descending = not (sort and lower_is_better(sort))
    page = search_runs(RunFilter(dataset=dataset), sort_metric=sort, descending=descending, page_size=limit)
    runs = [
        {
            "run_id": c.run_id, "name": c.name, "status": c.status, "job_id": c.job_id and str(c.job_id),
            "dataset": c.dataset, "recipe": c.recipe, "recipe_version": c.recipe_version,
            "trainer": c.trainer, "metrics": c.metrics,
        }
        for c in page.cards
    ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(runs, indent=2))
        return
    if not runs:
        typer.echo("no runs match" if dataset else "no runs yet: start one with `canvascraft train`")
        return
    # Sorted: the sort metric for every run; otherwise each run's own primary figure (a classifier's
    # accuracy, a generator's flow loss), named beside its value.
    heading = (sort if len(sort) <= 12 else sort[:11] + "…") if sort else "primary"
    typer.echo(f"{'run id':<32} {'status':<9} {'dataset':<16} {'recipe':<18} {'trainer':<10} {heading:>12}")
    for card, r in zip(page.cards, runs, strict=True):
        metric = sort or card.primary_metric
        value = r["metrics"].get(metric)
        shown = "" if value is None else (f"{value:.4f}" if sort else f"{metric} {value:.4f}")
        typer.echo(f"{r['run_id']:<32} {r['status']:<9} {r['dataset'] or '':<16} {r['recipe'] or '':<18} "
                   f"{r['trainer'] or '':<10} {shown:>12}")  # fmt: skip


@runs_app.command("compare")
@clean_errors
def runs_compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids (see `canvascraft runs list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare runs: final and best metrics, the parameters that differ, and the recipe changes."""
    from dataclasses import asdict

    from canvascraft.gallery.compare import compare_runs
    from canvascraft.gallery.runs import best_of

    comparison = compare_runs(run_ids)
    metrics = {
        key: {
            run_id: {"final": history[-1][1], "best": (best := best_of(key, history)) and best.value,
                     "best_epoch": best and best.step, "epochs": len(history)}
            for run_id, history in per_run.items() if history
        }
        for key, per_run in comparison.curves.items()
    }  # fmt: skip
    if as_json:
        payload = {
            "runs": [{"run_id": c.run_id, "name": c.name, "status": c.status, "dataset": c.dataset,
                      "recipe": c.recipe, "trainer": c.trainer} for c in comparison.runs],
            "metrics": metrics,
            "params": [asdict(row) for row in comparison.params],
            "recipe_diff": [asdict(change) for change in comparison.recipe_diff],
        }  # fmt: skip
        typer.echo(json.dumps(payload, indent=2, default=str))
        return
    names = {c.run_id: c.name for c in comparison.runs}
    for card in comparison.runs:
        typer.echo(f"{card.run_id}  {card.name}  ({card.status})")
    typer.echo("\nmetrics (final / best @ epoch):")
    for key, per_run in metrics.items():
        cells = ", ".join(f"{names[r]} {m['final']:.4f} / {m['best']:.4f} @ {m['best_epoch']}"
                          for r, m in per_run.items() if m["best"] is not None)  # fmt: skip
        typer.echo(f"  {key}: {cells}")
    differing = comparison.differing_params
    typer.echo(f"\nparameters that differ ({len(differing)} of {len(comparison.params)}):")
    for row in differing:
        typer.echo(f"  {row.key}: " + ", ".join(f"{names[r]}={v}" for r, v in row.values.items()))
    typer.echo(f"\nrecipe changes ({len(comparison.recipe_diff)}):")
    for change in comparison.recipe_diff:
        typer.echo(f"  {change.describe(names)}")


@app.command("mlflow-ui")
@clean_errors
def mlflow_ui(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 5000,
    host: Annotated[str, typer.Option(help="Interface to bind: loopback only.")] = "127.0.0.1",
) -> None:
    """Open the training runs in MLflow's own UI, read-only (same database and artifacts); Ctrl+C stops it."""
    from canvascraft.tracking.runs import ensure_experiment
    from canvascraft.tracking.ui import run_ui, ui_url
    from canvascraft.tracking.ui_server import check_host

    check_host(host)
    typer.echo(f"MLflow UI for {get_settings().workspace}: {ui_url(host, port)}  (Ctrl+C stops it)")
    ensure_experiment()  # creates the store on a fresh workspace, so the UI opens on the studio's runs
    raise typer.Exit(run_ui(host, port))
