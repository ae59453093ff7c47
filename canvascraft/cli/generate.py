"""``canvascraft generate``: new pictures from a generative run, by label and seed, or a walk."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from canvascraft.cli.output import clean_errors, open_workspace
from canvascraft.cli.root import app
from canvascraft.errors import GalleryError

WALK = "walk"


@app.command("generate")
@clean_errors
def generate_command(
    source: Annotated[
        str,
        typer.Argument(
            metavar="RUN_ID | MODEL@ALIAS | walk",
            help="A generative run, a model registered from one, or `walk`.",
        ),
    ],
    walk_source: Annotated[
        str | None,
        typer.Argument(metavar="[RUN_ID | MODEL@ALIAS]", help="After `walk`: the generator to walk through."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the PNGs (a .gif file for a walk).")] = Path(
        "generated"
    ),
    n: Annotated[int, typer.Option("--n", help="How many pictures (frames, for a walk).")] = 16,
    label: Annotated[
        str | None, typer.Option("--label", help="Only this label (default: each in turn).")
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="First seed; the next pictures take the next seeds.")
    ] = 0,
    steps: Annotated[int, typer.Option("--steps", help="Sampling steps: more is finer and slower.")] = 20,
    guidance: Annotated[
        float, typer.Option("--guidance", help="How strongly pictures follow their label (1: off).")
    ] = 2.0,
    start: Annotated[int, typer.Option("--from", help="A walk's first seed.")] = 0,
    end: Annotated[int, typer.Option("--to", help="A walk's last seed.")] = 1,
) -> None:
    """Make new pictures with a finished image-flow run or a model registered from one, named
    <label>-<seed>.png; `generate walk RUN_ID --out walk.gif` walks from one seed's picture to
    another's, as a GIF and a strip PNG beside it."""
    from canvascraft.services.gallery import generate, walk

    open_workspace()
    if source == WALK:
        if walk_source is None:
            raise GalleryError(
                "name the generator to walk through: canvascraft generate walk RUN_ID --out walk.gif"
            )
        gif, strip = walk(
            walk_source, label=label, start=start, end=end, frames=n, steps=steps, guidance=guidance
        )
        target = out if out.suffix.lower() == ".gif" else out / "walk.gif"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(gif)
        target.with_suffix(".png").write_bytes(strip)
        typer.echo(f"wrote {target} ({n} frames, seed {start} → {end}) and {target.with_suffix('.png')}")
        return
    if walk_source is not None:
        raise GalleryError(f"unexpected {walk_source!r}: give one run id or model (or `walk RUN_ID`)")
    pictures = generate(source, n=n, label=label, seed=seed, steps=steps, guidance=guidance)
    out.mkdir(parents=True, exist_ok=True)
    for picture in pictures:
        path = out / picture.file_name
        path.write_bytes(picture.png)
        typer.echo(str(path))
    typer.echo(f"wrote {len(pictures)} picture(s) to {out}")
