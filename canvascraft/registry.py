"""Named classes of one kind (brushes, trainers): the Strategy + Factory registry both use.

Registering a class under its ``name`` is all it takes for it to appear in the CLI, schemas and pages;
a lookup of an unknown name answers with the closest known names.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any, Generic, TypeVar

from canvascraft.errors import UnknownNameError

C = TypeVar("C", bound=type[Any])

SHOW_ALL_BELOW = 10  # with no close match, list every known name when there are this few


class Registry(Generic[C]):
    def __init__(self, kind: str, modules: tuple[str, ...] = ()) -> None:
        """``modules`` register the built-in members when imported; that happens on the first lookup,
        by name, so the registry depends on none of them (and they may import it)."""
        self.kind = kind
        self._modules = modules
        self._classes: dict[str, C] = {}

    def register(self, cls: C) -> C:
        """Class decorator: add ``cls`` under its ``name`` (the same name twice is a mistake)."""
        existing = self._classes.get(cls.name)
        if existing is not None and existing is not cls:
            raise ValueError(
                f"two {self.kind}s are named {cls.name!r}: {existing.__qualname__} and {cls.__qualname__}"
            )
        self._classes[cls.name] = cls
        return cls

    def unregister(self, name: str) -> None:
        """Remove a class (tests that register a throwaway one clean up with this)."""
        self._classes.pop(name, None)

    def all(self, modality: str | None = None) -> list[C]:
        self._loaded()
        return [c for c in self._classes.values() if modality is None or c.modality == modality]

    def get(self, name: str) -> C:
        """The class called ``name``; raises ``UnknownNameError`` (a ``KeyError``) naming the closest
        known names."""
        self._loaded()
        try:
            return self._classes[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._classes), n=3, cutoff=0.5)
            if close:
                hint = f"; did you mean {', '.join(close)}?"
            elif len(self._classes) < SHOW_ALL_BELOW:
                hint = f"; known: {', '.join(self._classes)}"
            else:
                hint = ""
            raise UnknownNameError(f"unknown {self.kind} {name!r}{hint}") from None

    def _loaded(self) -> None:
        for module in self._modules:
            importlib.import_module(module)
