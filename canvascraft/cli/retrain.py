"""Retraining a registered model on its latest data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from canvascraft.cli.output import (
    clean_errors,
    open_workspace,
)
from canvascraft.cli.root import app

if TYPE_CHECKING:
    pass


RETRAIN_ACTIONS = ("list", "approve", "reject")


@app.command("retrain")
@clean_errors
def retrain_command(
    target: Annotated[
        str,
        typer.Argument(help="MODEL@ALIAS to retrain, or one of: list, approve, reject.", show_default=False),
    ],
    value: Annotated[
        str | None, typer.Argument(help="The retrain id (approve, reject) or a model name (list).")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Train here, then print the comparison and what was decided.")
    ] = False,
    reason: Annotated[str, typer.Option(help="Why, kept with the retrain.")] = "requested by hand",
    dataset_version: Annotated[
        int | None,
        typer.Option("--dataset-version", help="Train on this version of the dataset (default: the latest)."),
    ] = None,
) -> None:
    """Retrain a model on its dataset's latest version, as auto-retrain does after drift.

    `canvascraft retrain shapes@champion` trains with the recipe, trainer and settings of the version the
    alias points at, registers the result as a new version and compares both on the same validation
    items: the alias moves only when the new version is more accurate, or, when the model's alerts are
    set to ask first, the retrain waits for `canvascraft retrain approve ID` or `reject ID` (or the Drift
    page). `canvascraft retrain list [MODEL]` lists retrains with their state."""
    from canvascraft.services import retrain as retrains

    open_workspace()
    if target in RETRAIN_ACTIONS:
        if target == "list":
            for view in retrains.list_retrains(value):
                typer.echo(
                    f"#{view.id} {view.ref} v{view.base_version} → {_retrain_candidate(view)}: {view.words}"
                )
            return
        if value is None or not value.isdigit():
            raise retrains.RetrainError(f"give the retrain's id: canvascraft retrain {target} ID")
        decided = retrains.approve(int(value)) if target == "approve" else retrains.reject(int(value))
        typer.echo(f"retrain #{decided.id} of {decided.ref}: {decided.words}")
        return
    if value is not None:
        raise retrains.RetrainError(f"unexpected {value!r}; write canvascraft retrain MODEL@ALIAS [--wait]")
    retrain_id = retrains.request_retrain(target, reason, trigger="manual", dataset_version=dataset_version)
    assert retrain_id is not None  # only a drift-triggered request is skipped
    view = retrains.get_retrain(retrain_id)
    typer.echo(f"retrain #{view.id} of {view.ref} (version {view.base_version}): training job {view.job_id}")
    if not wait:
        typer.echo(
            f"follow it with `canvascraft jobs logs {view.job_id}`; "
            "`canvascraft retrain list` shows the result"
        )
        return
    view = retrains.wait_for_retrain(retrain_id)
    if view.base_metric is not None and view.candidate_metric is not None:
        typer.echo(
            f"{view.metric} on the same {view.n_old} validation items: version {view.base_version} "
            f"{view.base_metric:.3f}, version {view.candidate_version} {view.candidate_metric:.3f}"
        )
    if view.new_base_metric is not None and view.new_candidate_metric is not None:
        typer.echo(
            f"{view.metric} on the {view.n_new} held-back new items: version {view.base_version} "
            f"{view.new_base_metric:.3f}, version {view.candidate_version} {view.new_candidate_metric:.3f}"
        )
    typer.echo(f"retrain #{view.id}: {view.words}")
    if view.pending:
        typer.echo(
            f"approve with `canvascraft retrain approve {view.id}` or reject with `... reject {view.id}`"
        )
    if view.state == retrains.FAILED:
        raise typer.Exit(1)


def _retrain_candidate(view: Any) -> str:
    return f"v{view.candidate_version}" if view.candidate_version is not None else "(no candidate yet)"


if __name__ == "__main__":
    app()
