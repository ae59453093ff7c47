"""Job kinds: what the pool runs for a kind of job, and what happens when such a job ends.

The pool knows no kind by name. Each kind is declared by the package that owns the work (training,
tuning, drift checks) as a ``JobKind`` registered here; ``KIND_MODULES`` lists those declarations by
module name, imported on the first lookup, so this module depends on none of them. A new kind is one
module with a ``register_kind(JobKind(...))`` and a ``python -m`` entry point, plus its name below.

``on_end(job, state)`` runs once per job, in whichever pool records the end (the studio's scheduler,
the CLI's ``--wait``, a study's driver), after the state is final. It does what a job that was killed or
lost could not do for itself, so it must be idempotent (a job that ended on its own has done most of it)
and never raise into the pool: an error is logged and the queue moves on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from canvascraft.config import get_settings
from canvascraft.jobs.states import JobState
from canvascraft.registry import Registry
from canvascraft.store.models import Job
from canvascraft.store.session import disk_full_message, is_disk_full

log = logging.getLogger(__name__)

EndHook = Callable[[Job, JobState], None]

KIND_MODULES = (
    "canvascraft.jobs.sleep",
    "canvascraft.training.kind",
    "canvascraft.tuning.kind",
    "canvascraft.drift.kind",
)
"""Modules whose import registers the studio's job kinds."""


def _nothing(job: Job, state: JobState) -> None:
    """A kind with no bookkeeping of its own."""


@dataclass(frozen=True)
class JobKind:
    """A kind of job: ``entry`` is the module the pool runs as ``python -m <entry> JOB_ID``;
    ``preload`` names modules its jobs import late, which the warm server imports ahead of them."""

    name: str
    entry: str
    summary: str
    on_end: EndHook = _nothing
    preload: tuple[str, ...] = ()
    modality: None = None  # the registry filters by modality; kinds have none


KINDS: Registry[JobKind] = Registry("job kind", KIND_MODULES)  # type: ignore[type-var]


def register_kind(kind: JobKind) -> JobKind:
    """Add ``kind`` (the same name twice is a mistake); returns it, so a module can keep it."""
    return KINDS.register(kind)


def get_kind(name: str) -> JobKind:
    """The kind called ``name``; raises ``UnknownNameError`` naming the closest known kinds."""
    return KINDS.get(name)


def run_end_hook(job: Job, state: JobState) -> None:
    """The job's kind's ``on_end``; a failure is logged, never raised (the pool must move on)."""
    try:
        hook = get_kind(job.kind).on_end
    except KeyError:
        log.warning("job %s is of kind %r, unknown here; nothing to finish", job.id, job.kind)
        return
    try:
        hook(job, state)
    except Exception as error:
        if is_disk_full(error):  # one plain line: the user's fix is space, not a traceback
            log.warning("bookkeeping after %s job %s (%s) could not be written: %s", job.kind, job.id,
                        state.value, disk_full_message(get_settings().workspace.resolve()))  # fmt: skip
            return
        log.exception("bookkeeping after %s job %s (%s) failed", job.kind, job.id, state.value)
