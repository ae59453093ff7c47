"""``python -m canvascraft.cli``: the command line, as the console script runs it."""

from canvascraft.cli import app

app()
