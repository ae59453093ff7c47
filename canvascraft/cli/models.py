"""Registered models (register, list, aliases), predictions and the model server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from canvascraft.cli.output import (
    clean_errors,
    open_workspace,
)
from canvascraft.cli.root import app, models_app

if TYPE_CHECKING:
    pass


@models_app.command("register")
@clean_errors
def models_register(
    run_id: Annotated[str, typer.Argument(help="The training run whose model to register.")],
    name: Annotated[str, typer.Option("--name", help="Registered model name.")],
    alias: Annotated[str | None, typer.Option("--alias", help="Point this alias at the new version.")] = None,
) -> None:
    """Register a run's model as a new version of a named model (warning when its data has no
    licence or no consent to training)."""
    from canvascraft.services.gallery import register, training_data_warnings

    open_workspace()
    info = register(run_id, name, alias)
    shown = f" ({', '.join('@' + a for a in info.aliases)})" if info.aliases else ""
    typer.echo(f"registered {info.ref}{shown} from run {run_id}")
    for warning in training_data_warnings(run_id):
        typer.echo(f"warning: trained on data without a licence or consent: {warning}")


@models_app.command("card")
@clean_errors
def models_card(
    model: Annotated[str, typer.Argument(help="MODEL@ALIAS or MODEL/VERSION.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the card to this file (e.g. card.md).")
    ] = None,
) -> None:
    """Print a model version's card as Markdown: purpose, data and its licence, recipe, trainer,
    validation beside the baseline, drift and lineage."""
    from canvascraft.gallery.card import card_markdown, resolve_card_ref

    open_workspace()
    name, version = resolve_card_ref(model)
    text = card_markdown(name, version)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.expanduser().write_text(text, encoding="utf-8")
    typer.echo(f"wrote the card of {name}/{version} to {out}")


@models_app.command("describe")
@clean_errors
def models_describe(
    model: Annotated[str, typer.Argument(help="MODEL@ALIAS or MODEL/VERSION.")],
    text: Annotated[str, typer.Argument(help="What the model is for, in a line.")],
) -> None:
    """Say what a model version is for (shown at the top of its card)."""
    from canvascraft.gallery.card import describe, resolve_card_ref

    name, version = resolve_card_ref(model)
    describe(name, version, text)
    typer.echo(f"{name}/{version}: {' '.join(text.split())}")


@models_app.command("list")
@clean_errors
def models_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List registered models with their version count and aliases."""
    from dataclasses import asdict

    from canvascraft.gallery.registry import list_models

    models = list_models()
    if as_json:
        typer.echo(json.dumps([asdict(m) for m in models], indent=2))
        return
    if not models:
        typer.echo("no registered models yet: `canvascraft models register RUN_ID --name NAME`")
        return
    typer.echo(f"{'name':<24} {'versions':>8} {'latest':>6}  aliases")
    for m in models:
        aliases = ", ".join(f"{a}→{v}" for a, v in m.aliases.items())
        typer.echo(f"{m.name:<24} {m.versions:>8} {m.latest or '':>6}  {aliases}")


@models_app.command("alias")
@clean_errors
def models_alias(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    alias: Annotated[str, typer.Argument(help="Alias to set or move, e.g. champion.")],
    version: Annotated[int, typer.Argument(help="Version the alias points at.")],
) -> None:
    """Point ALIAS of model NAME at VERSION (moving it if it pointed elsewhere)."""
    from canvascraft.services.gallery import set_alias

    open_workspace()  # the move goes into the audit log
    set_alias(name, alias, version)
    typer.echo(f"{name}@{alias} → version {version}")


@models_app.command("export")
@clean_errors
def models_export(
    model: Annotated[str, typer.Argument(help="NAME@ALIAS, NAME/VERSION, or NAME for its latest version.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the bundle into (new or empty).")],
    fmt: Annotated[
        str, typer.Option("--format", help="onnx (needs only onnxruntime) or torchscript (classifiers only).")
    ] = "onnx",
    force: Annotated[bool, typer.Option("--force", help="Write into a folder that is not empty.")] = False,
) -> None:
    """Export a model for use outside the studio: the network, its preprocessing, labels and predict.py
    (a generator: its network step, sampling settings, labels and generate.py)."""
    from canvascraft.gallery.card import CARD_FILE, model_card, render_markdown
    from canvascraft.gallery.export import check_out_folder, export_bundle, resolve_export_ref, write_bundle

    check_out_folder(out, force=force)  # before the export's work, not after it
    info = resolve_export_ref(model)
    card = model_card(info.name, info.version)
    files = export_bundle(f"{info.name}/{info.version}", fmt, extra_files={CARD_FILE: render_markdown(card)})
    write_bundle(files, out, force=force)
    for warning in card.data_warnings:
        typer.echo(f"warning: trained on data without a licence or consent: {warning}")
    typer.echo(f"exported {model} ({fmt}) to {out}: {', '.join(sorted(files))}")
    if "generate.py" in files:
        run = f"python {out / 'generate.py'} --seed 0 --count 4 --out pictures"
    else:
        run = f"python {out / 'predict.py'} FILE..."
    typer.echo(f"run it: pip install -r {out / 'requirements.txt'} && {run}")


@app.command("predict")
@clean_errors
def predict_command(
    model: Annotated[str, typer.Argument(help="MODEL@ALIAS or MODEL/VERSION.")],
    files: Annotated[list[Path], typer.Argument(help="Files (or folders) to predict.")],
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Also write the predictions as CSV.")] = None,
) -> None:
    """Predict files with a registered model, through its run's recipe."""
    from canvascraft.gallery.predict import Predictor, folder_files, predictions_csv
    from canvascraft.services.drift import capture_try

    predictor = Predictor.from_ref(model)
    paths = [p for f in files for p in (folder_files(f) if f.is_dir() else [f])]
    table = predictor.predict_folder(paths)
    capture_try(model, [(path.name, path.read_bytes()) for path in paths if path.is_file()])
    for row in table.itertuples(index=False):
        if row.error:
            typer.echo(f"{row.file}: error: {row.error}")
        else:
            typer.echo(f"{row.file}: {row.predicted} ({row.probability:.3f})")
    if csv_out is not None:
        csv_out.write_bytes(predictions_csv(table))
        typer.echo(f"wrote {len(table)} prediction(s) to {csv_out}")
    if (table["error"] != "").any():
        raise typer.Exit(1)


@app.command("serve")
@clean_errors
def serve(
    model: Annotated[str, typer.Argument(help="MODEL@ALIAS or MODEL/VERSION.")],
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 5001,
    host: Annotated[
        str, typer.Option(help="Interface to bind: loopback only (no login; from outside, the studio's API).")
    ] = "127.0.0.1",
) -> None:
    """Serve a model as an HTTP endpoint: POST /invocations scores inputs (MLflow's model server), or
    makes pictures when the model is a generator (GET /labels lists what it can draw)."""
    from canvascraft.config import check_loopback
    from canvascraft.gallery.generate import is_generator
    from canvascraft.gallery.generator_server import serve_generator
    from canvascraft.gallery.serve import serve_command, serve_env
    from canvascraft.tracking.ui import ui_url

    # Before the model is looked up: the address is refused whichever kind of model it is.
    check_loopback(host, "the model server", "run the model as often as they liked")
    if is_generator(model):
        typer.echo(f"serving generator {model} at {ui_url(host, port)}/invocations  (Ctrl+C stops it)")
        serve_generator(model, host, port)
        return
    command = serve_command(model, host, port)
    typer.echo(f"serving {model} at {ui_url(host, port)}/invocations  (Ctrl+C stops it)")
    raise typer.Exit(subprocess.call(command, env=serve_env()))


# --- Drift: is a model's current data still like its training data? (canvascraft.drift) ----------------
