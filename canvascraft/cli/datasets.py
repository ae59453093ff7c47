"""Sample data, dataset import, listing, licence and export, and the studio database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from canvascraft.cli.output import (
    clean_errors,
    open_workspace,
    print_skipped,
)
from canvascraft.cli.root import app, datasets_app, db_app
from canvascraft.config import get_settings

if TYPE_CHECKING:
    from canvascraft.data.licence import LicenceTerms


@app.command("sample-data")
@clean_errors
def sample_data(
    out: Annotated[
        Path | None, typer.Option(help="Folder to write into (default: workspace/sample-data).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same bytes.")] = 0,
    do_import: Annotated[
        bool, typer.Option("--import", help="Also import them as sample-images, sample-audio, sample-table.")
    ] = False,
) -> None:
    """Write three small labelled sample datasets (images, audio, a table)."""
    from canvascraft.data.sample import write_sample_data
    from canvascraft.services.workspace import import_samples

    if do_import:
        if out is not None:
            raise typer.BadParameter(
                "--import writes into the workspace; leave out --out", param_hint="--out"
            )
        open_workspace()
        for report in import_samples(seed=seed):
            typer.echo(f"imported {report.dataset} v{report.version}: {report.item_count} items")
        return
    for name, folder in write_sample_data(out or get_settings().sample_dir, seed=seed).items():
        typer.echo(f"{name}: {folder}")


LicenceOption = Annotated[
    str | None,
    typer.Option("--licence", help="The data's licence: an SPDX id (CC-BY-4.0, CC0-1.0…) or 'own work'."),
]
SourceOption = Annotated[
    str | None, typer.Option("--source", help="Where the data came from, or its attribution.")
]
ConsentOption = Annotated[
    str | None,
    typer.Option("--consent", help="Did the people or artists in it consent to training: yes, no, unknown."),
]
"""The terms of a dataset, named alike where an import sets them and where `datasets licence` edits
them ('' clears a licence or source there)."""


@datasets_app.command("import")
@clean_errors
def datasets_import(
    path: Annotated[
        Path, typer.Argument(help="A folder (labels from sub-folders), a .zip, or one data file.")
    ],
    name: Annotated[str, typer.Option("--name", help="Dataset name; an existing name gets a new version.")],
    label_column: Annotated[str | None, typer.Option(help="Label column of a table dataset.")] = None,
    replace: Annotated[
        bool, typer.Option(help="The new version holds only these files (default: adds to the last version).")
    ] = False,
    licence: LicenceOption = None,
    source: SourceOption = None,
    consent: ConsentOption = None,
) -> None:
    """Import files into a new version of a dataset; bad files are skipped and listed."""
    from canvascraft.services.datasets import import_path

    open_workspace()
    report = import_path(
        path,
        name,
        label_column=label_column,
        replace=replace,
        licence=licence,
        source=source,
        consent=consent,
    )
    typer.echo(report.summary)
    print_skipped(report.skipped)


def _print_terms(name: str, terms: LicenceTerms) -> None:
    typer.echo(f"{name}: licence {terms.licence_shown}")
    typer.echo(f"  source: {terms.source or 'not given'}")
    typer.echo(f"  consent to training: {terms.consent}")
    if terms.problems:
        typer.echo(f"warning: {'; '.join(terms.problems)}: models trained on it say so on their cards")


@datasets_app.command("licence")
@clean_errors
def datasets_licence(
    name: Annotated[str, typer.Argument(help="The dataset.")],
    licence: LicenceOption = None,
    source: SourceOption = None,
    consent: ConsentOption = None,
) -> None:
    """Show a dataset's licence, source and consent; the options change them ('' clears one)."""
    from canvascraft.services.datasets import dataset_licence, set_dataset_licence

    open_workspace()
    if (licence, source, consent) == (None, None, None):
        terms = dataset_licence(name)
    else:
        terms = set_dataset_licence(name, licence=licence, source=source, consent=consent)
    _print_terms(name, terms)


@datasets_app.command("export")
@clean_errors
def datasets_export(
    ref: Annotated[
        str, typer.Argument(metavar="NAME[@VERSION]", help="The dataset, and a version (default: latest).")
    ],
    out: Annotated[Path, typer.Option("--out", help="The zip file to write.")],
) -> None:
    """Write a dataset version as a zip: label folders (or a CSV for a table), manifest.json, LICENCE.md."""
    import os
    import tempfile

    from canvascraft.services.datasets import export_dataset_to

    name, number = _dataset_ref(ref)
    open_workspace()
    out = out.expanduser()
    if out.is_dir():
        raise typer.BadParameter(f"{out} is a folder; give the zip file's name", param_hint="--out")
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".export-", suffix=".zip", dir=out.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            exported = export_dataset_to(name, number, file)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    typer.echo(f"wrote {exported.item_count} item(s) of {name} to {out} (with manifest.json and LICENCE.md)")
    if exported.terms.problems:
        typer.echo(f"warning: {'; '.join(exported.terms.problems)} (`canvascraft datasets licence {name}`)")


def _dataset_ref(ref: str) -> tuple[str, int | None]:
    """``NAME`` or ``NAME@VERSION`` (``NAME@v3`` too)."""
    name, at, version = ref.partition("@")
    if not at:
        return name, None
    number = version.strip().removeprefix("v")
    if not name or not number.isdigit():
        raise typer.BadParameter(f"{ref!r}: write NAME or NAME@VERSION (sample-images@2)", param_hint="NAME")
    return name, int(number)


@datasets_app.command("augment")
@clean_errors
def datasets_augment(
    dataset: Annotated[str, typer.Argument(help="The image dataset to add generated pictures to.")],
    generator: Annotated[
        str, typer.Option("--generator", metavar="RUN_ID | MODEL@ALIAS", help="A finished image-flow run.")
    ],
    per_label: Annotated[int, typer.Option("--per-label", help="Generated pictures per label (1–500).")],
    label: Annotated[
        list[str] | None, typer.Option("--label", help="Only this label (repeat for more; default: all).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="First seed; same seed, same pictures.")] = 0,
    steps: Annotated[int, typer.Option("--steps", help="Sampling steps.")] = 20,
    guidance: Annotated[float, typer.Option("--guidance", help="Label guidance (1 turns it off).")] = 2.0,
) -> None:
    """Add generated pictures to a new version of a dataset (kept out of validation)."""
    from canvascraft.services.datasets import add_generated

    open_workspace()
    report = add_generated(
        dataset, generator, per_label, labels=label or None, seed=seed, steps=steps, guidance=guidance
    )
    counts = ", ".join(f"{name} {count}" for name, count in report.per_label.items())
    typer.echo(
        f"added {report.added} generated picture(s) to {report.dataset} v{report.version} "
        f"(from v{report.from_version}): {counts}; {report.item_count} items in this version"
    )


@datasets_app.command("list")
@clean_errors
def datasets_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List datasets with their latest version."""
    from canvascraft.services.datasets import list_datasets

    open_workspace()
    datasets = list_datasets()
    if as_json:
        rows = [
            {"name": d.name, "modality": d.modality, "latest_version": d.latest_version,
             "versions": d.version_count, "items": d.item_count, "labels": d.label_count,
             "created_at": d.created_at.isoformat()}
            for d in datasets
        ]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2))
        return
    if not datasets:
        typer.echo("no datasets yet: run `canvascraft sample-data --import` or `canvascraft datasets import`")
        return
    typer.echo(f"{'name':<24} {'modality':<8} {'version':>7} {'items':>7} {'labels':>6}")
    for d in datasets:
        typer.echo(f"{d.name:<24} {d.modality:<8} {d.latest_version:>7} {d.item_count:>7} {d.label_count:>6}")


@db_app.command("upgrade")
@clean_errors
def db_upgrade() -> None:
    """Apply database migrations (safe to run again)."""
    from canvascraft.store.migrate import upgrade

    get_settings().workspace.mkdir(parents=True, exist_ok=True)
    upgrade()
    typer.echo(f"database is up to date: {get_settings().db_url}")
