"""One exception tree for the studio.

Every message says what was wrong and what to do about it; pages, the CLI and the API show
``str(error)`` as it is, so the wording here is the user-facing wording. Every exception the studio
raises on purpose is defined here::

    CanvasCraftError
    ├── ConfigError                 a setting or the workspace cannot be used as given
    ├── StoreError                  the studio database could not be written (nothing half written)
    │   ├── StoreBusyError          another program held it locked past the busy timeout and retries
    │   └── StoreFullError          the disk holding it (or the workspace's checkpoints) is full
    ├── UnknownNameError (KeyError) a registry has nothing by that name; says the closest names (NotFound)
    ├── RecipeError                 a recipe or brush setting is invalid (every problem, with its place)
    │   └── UnknownRecipeError      no recipe has that name (NotFound)
    ├── TrainingError               a run cannot go ahead (settings, nothing to resume, unusable data)
    ├── JobError                    a job action cannot go ahead
    │   ├── UnknownJobError         no job has that id (NotFound)
    │   ├── JobBusyError            the job is still queued or running (Conflict)
    │   └── IllegalTransitionError  a state change the job state machine does not allow (Conflict)
    ├── DatasetError                a dataset action cannot go ahead
    │   ├── UnknownDatasetError     no dataset has that name (NotFound)
    │   ├── CorruptItemError        one file cannot be imported (the import skips and lists it)
    │   │   └── RefusedItemError    a file refused on safety grounds (escapes, too large, a link)
    │   └── NothingImportedError    an import found no usable file (carries every reason)
    ├── GalleryError                a gallery query cannot run as given
    │   └── RunNotFoundError        the run id names no run of the studio (NotFound)
    ├── ModelError                  a registry action or a model load cannot go ahead
    │   └── UnknownModelError       no such model, version or alias (NotFound)
    ├── UnreadableFileError         a file given to a model cannot be read or prepared
    ├── DriftError                  a drift check cannot be computed as asked
    │   └── UnknownDriftError       no such check, or the model is not watched (NotFound)
    ├── AlertError                  alert settings or an alert action cannot be used as given
    │   └── UnknownAlertError       no alert has that id (NotFound)
    ├── RetrainError                a retrain cannot start or be decided
    ├── DeliveryError               one alert delivery failed (kept as its last error; retried later)
    ├── UploadTooLarge              an HTTP upload over the studio's size limit
    ├── TokenError                  an API token cannot be created or revoked as asked
    │   └── UnknownTokenError       no token has that id (NotFound)
    ├── PeopleError                 a sign-in or a role change cannot go ahead (a bad role, no subject)
    │   └── UnknownPersonError      nobody with that subject has signed in (NotFound)
    ├── AuditError                  the audit log cannot be read as asked (a bad limit)
    ├── ShareLinkError              a share link cannot be made, revoked or keyed as asked
    │   ├── UnknownShareLinkError   no share link has that id (NotFound)
    │   └── LinkNotValid            a share link that was tampered with, has expired or was revoked
    └── AccessError                 an API request is not let in: TokenRefused (401), ScopeTooLow (403)
        ├── RoleTooLow              the person's role does not cover the action (HTTP 403)
        └── TooManyFailures         too many refused tokens from one address lately (HTTP 429)

    Cancelled (BaseException)       SIGTERM reached a job process: not an error, a stop request

Two marks cut across the tree, so the API answers with the right status without reading messages:
``NotFound`` (an id or name that names nothing: 404) and ``Conflict`` (the thing exists but its state
refuses the action: 409). ``AccessError`` (``TokenRefused`` 401, ``ScopeTooLow`` 403) is the API's own:
a bearer token that is missing, unknown, revoked or expired, or one whose scope is too low.
"""

from __future__ import annotations

from dataclasses import dataclass


class CanvasCraftError(Exception):
    """Base of every error the studio raises on purpose; anything else is a bug."""


class NotFound(CanvasCraftError):
    """Mark: the id or name given names nothing (a job, dataset, recipe, run, model, check, alert)."""


class Conflict(CanvasCraftError):
    """Mark: what was named exists, but its state refuses the action (a job still running, a finished
    job asked to change state)."""


class AccessError(CanvasCraftError):
    """An API request cannot be let in; the message says which token to create or send."""


class TokenRefused(AccessError):
    """No bearer token, or one that is unknown, revoked or expired (HTTP 401)."""


class ScopeTooLow(AccessError):
    """A valid token whose scope does not cover the action (HTTP 403)."""


class RoleTooLow(AccessError):
    """The acting person's role (viewer < artist < admin) does not cover the action (HTTP 403)."""


class TooManyFailures(AccessError):
    """One client address sent too many refused tokens in the last minute (HTTP 429); ``retry_after``
    is how many seconds until it may try again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuditError(CanvasCraftError):
    """The audit log cannot be read as asked (a limit out of range)."""


class UploadTooLarge(CanvasCraftError):
    """An HTTP upload over the studio's size limit (``CANVASCRAFT_MAX_UPLOAD_MB``; HTTP 413)."""


class TokenError(CanvasCraftError):
    """An API token cannot be created or revoked as asked (a bad scope, name or expiry)."""


class UnknownTokenError(TokenError, NotFound):
    """No API token has that id."""


class PeopleError(CanvasCraftError):
    """A sign-in cannot be recorded, or a role cannot be set as asked (an unknown role, no subject)."""


class UnknownPersonError(PeopleError, NotFound):
    """Nobody with that subject has signed in to this studio."""


class ShareLinkError(CanvasCraftError):
    """A share link cannot be made, revoked or keyed as asked."""


class UnknownShareLinkError(ShareLinkError, NotFound):
    """No share link has that id."""


class LinkNotValid(ShareLinkError):
    """A share link that does not open: its signature does not check, it expired or it was revoked.
    Which one is logged, never shown: the page says the same plain words for all three."""


class ConfigError(CanvasCraftError):
    """A setting or the workspace cannot be used as given."""


class StoreError(CanvasCraftError):
    """The studio database refused a write; the transaction was rolled back, so nothing is half written."""


class StoreBusyError(StoreError):
    """Another program held the database locked longer than the busy timeout and every retry."""


class StoreFullError(StoreError):
    """The disk (or quota) holding the database or a job's checkpoints is full; the message names the
    folder to free and says to resume the job after (nothing was half written)."""


class UnknownNameError(NotFound, KeyError):
    """A registry (brushes, trainers, job kinds, channels…) has nothing called that; the message names
    the closest known names. Also a ``KeyError``, so a lookup behaves like a mapping's."""

    def __str__(self) -> str:
        # KeyError's own str() quotes its argument, which would put quotes around the whole sentence.
        return str(self.args[0]) if self.args else ""


class RecipeError(CanvasCraftError):
    """A recipe or brush setting is invalid; ``errors`` lists every problem with its place."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class UnknownRecipeError(RecipeError, NotFound):
    """No recipe has that name."""


class TrainingError(CanvasCraftError):
    """A training run cannot go ahead (bad hyperparameters, nothing to resume, unusable data)."""


class JobError(CanvasCraftError):
    """A job operation cannot go ahead (unknown job, bad kind, or a state change that is not allowed)."""


class UnknownJobError(JobError, NotFound):
    """No job has that id."""


class JobBusyError(JobError, Conflict):
    """The job is still queued or running, so it cannot be resumed yet."""


class IllegalTransitionError(JobError, Conflict):
    """A state change outside the job state machine; refusing it keeps a finished job's record final."""

    def __init__(self, job_id: int | None, current: str, target: str, allowed: str) -> None:
        who = f"Job {job_id}" if job_id is not None else "A job"
        super().__init__(
            f"{who} cannot go from '{current}' to '{target}'; from '{current}' it may go to {allowed}."
        )
        self.job_id = job_id
        self.current = current
        self.target = target


class DatasetError(CanvasCraftError):
    """A dataset operation cannot go ahead (unknown name, nothing importable, wrong modality)."""


class UnknownDatasetError(DatasetError, NotFound):
    """No dataset has that name."""


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


class GalleryError(CanvasCraftError):
    """A gallery query cannot run as given (a bad filter value, page token or run id)."""


class RunNotFoundError(GalleryError, NotFound):
    """The run id names no run of the studio's experiment."""


class ModelError(CanvasCraftError):
    """A model registry action cannot go ahead (unknown name, alias or version, a run without a model),
    or a version's files cannot be loaded safely (damaged, or holding anything that could run code)."""


class ExportError(ModelError):
    """A version cannot be exported as asked: a recipe step with no export, a kind of model with none,
    or an output folder that is not empty; the message names the step or folder and what to do."""


class UnknownModelError(ModelError, NotFound):
    """No registered model has that name, or it has no such version or alias."""


class UnreadableFileError(CanvasCraftError):
    """A file given to a model cannot be read or prepared; the message says why and what to do."""


class DriftError(CanvasCraftError):
    """A drift check cannot be computed as asked (a column with no usable values, mismatched shapes, an
    unknown metric or a threshold out of range); the message names the column or setting to fix."""


class UnknownDriftError(DriftError, NotFound):
    """No drift check has that id, or the model is not watched."""


class AlertError(CanvasCraftError):
    """Alert settings or an alert action cannot be used as given (a bad webhook URL or email address, an
    unknown event name, an unknown alert); the message names the field and what to change."""


class UnknownAlertError(AlertError, NotFound):
    """No alert has that id."""


class RetrainError(CanvasCraftError):
    """A retrain cannot start or be decided (no alias in the reference, one already in flight, a retrain
    that is not waiting for approval)."""


class DeliveryError(CanvasCraftError):
    """A send failed; the message (``HTTP 500 from https://…``, ``connection refused``) is kept as the
    delivery's ``last_error`` and shown on the page, and the outbox retries later: after its backoff, or
    after ``retry_after_s`` when the endpoint asked for longer (HTTP 429/503 with ``Retry-After``)."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Cancelled(BaseException):
    """SIGTERM arrived: the pool asked this job to stop. A ``BaseException``, so the job's own
    ``except Exception`` blocks let it through while ``finally`` and ``except BaseException`` clean up."""
