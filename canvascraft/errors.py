"""One exception tree for the studio.

Every message says what was wrong and what to do about it; pages and the CLI show ``str(error)``
as it is, so the wording here is the user-facing wording.
"""

from __future__ import annotations

from dataclasses import dataclass


class CanvasCraftError(Exception):
    """Base of every error the studio raises on purpose; anything else is a bug."""


class ConfigError(CanvasCraftError):
    """A setting or the workspace cannot be used as given."""


class RecipeError(CanvasCraftError):
    """A recipe or brush setting is invalid; ``errors`` lists every problem with its place."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class TrainingError(CanvasCraftError):
    """A training run cannot go ahead (bad hyperparameters, nothing to resume, unusable data)."""


class JobError(CanvasCraftError):
    """A job operation cannot go ahead (unknown job, bad kind, or a state change that is not allowed)."""


class DatasetError(CanvasCraftError):
    """A dataset operation cannot go ahead (unknown name, nothing importable, wrong modality)."""


class DriftError(CanvasCraftError):
    """A drift check cannot be computed as asked (a column with no usable values, mismatched shapes, an
    unknown metric or a threshold out of range); the message names the column or setting to fix."""


class AlertError(CanvasCraftError):
    """Alert settings or an alert action cannot be used as given (a bad webhook URL or email address, an
    unknown event name, an unknown alert); the message names the field and what to change."""


class CorruptItemError(DatasetError):
    """One file cannot be imported; the import skips it and lists this message as the reason."""


class RefusedItemError(CorruptItemError):
    """A file refused on safety grounds: it escapes its folder, is too large, or is a link."""


@dataclass(frozen=True)
class Skipped:
    """A file an import left out, and why."""

    name: str
    reason: str


class NothingImportedError(DatasetError):
    """An import found no usable file; carries the skipped list so the user sees every reason."""

    def __init__(self, message: str, skipped: list[Skipped]) -> None:
        super().__init__(message)
        self.skipped = skipped
