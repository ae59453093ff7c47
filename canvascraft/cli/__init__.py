"""The ``canvascraft`` command line: each command calls a service and prints a short summary.

One module per command group (``root`` declares the groups, ``output`` holds what they share).
Errors the studio raises on purpose end the command with exit code 1 and one line on stderr.
Commands import what they need when they run, so ``--help`` stays fast.
"""

import importlib

from canvascraft.cli.root import app

GROUPS = (
    "datasets",
    "recipes",
    "training",
    "tuning",
    "gallery",
    "links",
    "generate",
    "studio",
    "models",
    "drift",
    "alerts",
    "retrain",
    "tokens",
    "encryption",
    "people",
    "audit",
)
"""Importing a group's module registers its commands; in this order, ``--help`` lists them as always."""

for _group in GROUPS:
    importlib.import_module(f"canvascraft.cli.{_group}")

__all__ = ["app"]
