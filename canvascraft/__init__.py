"""CanvasCraft ML Studio core: everything the pages and the CLI call, with no UI code."""

__version__ = "0.1.0"
