"""Logs that tell one story: JSON lines from every process, tied together by a correlation id.

A chain of work (drift found → alert → retrain → training job → new version) runs in several places:
the server's request, the scheduler's thread, the bus's observers, a job process started seconds later
by whichever pool ticks. ``correlation()`` opens a step of such a chain: it sets the correlation id in a
contextvar (which the log lines, the events published in it and the jobs queued in it pick up) and an
OpenTelemetry span (whose W3C ``traceparent`` a job process continues). A job queued inside one keeps
both in its spec (``TRACE_KEY``), because the pool that launches it may tick in another thread or
process; the pool passes them to the job's process as ``TRACEPARENT`` and ``CANVASCRAFT_CORRELATION_ID``
and ``run_job`` reopens the context there. Filtering the log on one id then shows the whole chain.

``configure_logging(component)`` sends this process's log records, as one JSON object per line
(``time``, ``level``, ``logger``, ``message``, ``correlation_id``, ``job_id``, ``trace_id``, …), to
the studio log file (``CANVASCRAFT_LOG_FILE``, default ``<workspace>/logs/studio.jsonl``), which every
process appends to, and to stderr as ``CANVASCRAFT_LOG_FORMAT`` says (json or text). A job process's
stderr is its user-facing log file (``jobs/<id>.log``), so there it stays text and only warnings and
errors, as before.

Traces leave the machine only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (OTLP over HTTP); otherwise
spans only carry ids.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from opentelemetry import baggage, propagate, trace
from opentelemetry import context as otel_context

from canvascraft.config import get_settings

Component = Literal["server", "scheduler", "job", "cli"]
CORRELATION_ENV = "CANVASCRAFT_CORRELATION_ID"
TRACEPARENT_ENV = "TRACEPARENT"
"""W3C trace context of the step that queued a job, as the OpenTelemetry convention for env vars names it."""
BAGGAGE_KEY = "canvascraft.correlation_id"
TRACE_KEY = "trace"
"""The job spec key holding ``{"correlation_id", "traceparent"}`` of the context it was queued in."""
OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACER_NAME = "canvascraft"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(correlation)s] %(message)s"

_correlation: ContextVar[str | None] = ContextVar("canvascraft_correlation_id", default=None)
_job: ContextVar[int | None] = ContextVar("canvascraft_job_id", default=None)
_component: str = ""
_handlers: list[logging.Handler] = []
_lock = threading.Lock()
_tracing_ready = False


def new_correlation_id() -> str:
    """The same form as an event's own id (``canvascraft.events.types``): 32 hex digits."""
    return uuid.uuid4().hex


def current_correlation_id() -> str | None:
    """The id of the chain this code runs in, None outside any."""
    return _correlation.get()


def current_job_id() -> int | None:
    return _job.get()


@contextmanager
def correlation(
    correlation_id: str | None = None,
    *,
    step: str = "canvascraft",
    job_id: int | None = None,
    traceparent: str | None = None,
) -> Iterator[str]:
    """Run the block as one step of a chain: ``correlation_id`` (default: the current one, else a new
    one), an OpenTelemetry span named ``step`` (a child of ``traceparent`` when given, else of the
    current span) and, when given, the job the block works for. Yields the correlation id."""
    chain = correlation_id or current_correlation_id() or new_correlation_id()
    parent = otel_context.get_current()
    if traceparent:
        parent = propagate.extract({"traceparent": traceparent}, context=parent)
    token = otel_context.attach(baggage.set_baggage(BAGGAGE_KEY, chain, context=parent))
    chain_token = _correlation.set(chain)
    job_token = _job.set(job_id) if job_id is not None else None
    try:
        attributes: dict[str, Any] = {BAGGAGE_KEY: chain}
        if job_id is not None:
            attributes["canvascraft.job_id"] = job_id
        with _tracer().start_as_current_span(step, attributes=attributes):
            yield chain
    finally:
        if job_token is not None:
            _job.reset(job_token)
        _correlation.reset(chain_token)
        otel_context.detach(token)


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, None when there is no valid one."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def trace_for_job() -> dict[str, str] | None:
    """What a job queued now keeps in its spec under ``TRACE_KEY``; None outside any chain."""
    chain = current_correlation_id()
    if chain is None:
        return None
    trace_info = {"correlation_id": chain}
    if (parent := current_traceparent()) is not None:
        trace_info["traceparent"] = parent
    return trace_info


def job_environment(spec: Mapping[str, Any]) -> dict[str, str]:
    """The variables that carry a job's chain into its process. Empty values for a job queued outside
    any chain, so it does not inherit the chain of whatever process launches it."""
    trace_info = spec.get(TRACE_KEY) if isinstance(spec.get(TRACE_KEY), Mapping) else {}
    return {
        CORRELATION_ENV: str(trace_info.get("correlation_id") or ""),
        TRACEPARENT_ENV: str(trace_info.get("traceparent") or ""),
    }


@contextmanager
def _in_chain(
    chain: str | None, traceparent: str | None, job_id: int | None, step: str
) -> Iterator[str | None]:
    """A job's work inside its chain when it has one; a job outside any chain joins none (it must not
    inherit the chain of whatever process runs it) but its log lines still name the job."""
    if not chain:
        job_token = _job.set(job_id)
        try:
            yield None
        finally:
            _job.reset(job_token)
        return
    with correlation(chain, step=step, job_id=job_id, traceparent=traceparent or None) as found:
        yield found


def job_context(spec: Mapping[str, Any], job_id: int, step: str) -> AbstractContextManager[str | None]:
    """Reopen the chain a job was queued in (its spec's ``TRACE_KEY``), for the pool's own work on it
    (launch, end-of-job hook)."""
    environment = job_environment(spec)
    return _in_chain(environment[CORRELATION_ENV], environment[TRACEPARENT_ENV], job_id, step)


def process_context(job_id: int | None = None, step: str = "job") -> AbstractContextManager[str | None]:
    """In a job process: the chain its pool passed in the environment (``job_environment``)."""
    return _in_chain(os.environ.get(CORRELATION_ENV), os.environ.get(TRACEPARENT_ENV), job_id, step)


# --- tracing ----------------------------------------------------------------------------------------------


def _tracer() -> trace.Tracer:
    configure_tracing()
    return trace.get_tracer(TRACER_NAME)


def configure_tracing(component: str | None = None) -> None:
    """Install the SDK's tracer provider once per process, so spans have ids to propagate; spans are
    exported (OTLP over HTTP) only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set."""
    global _tracing_ready
    if _tracing_ready:
        return
    with _lock:
        if _tracing_ready:
            return
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider

        service = f"canvascraft-{component or _component or 'studio'}"
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        if os.environ.get(OTLP_ENDPOINT_ENV):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        _tracing_ready = True


def flush_traces(timeout_ms: int = 5000) -> None:
    """Send the spans still queued for export: a job process ends with ``os._exit``, which skips the
    exit hook the SDK would flush them in."""
    provider = trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    if force_flush is not None:
        force_flush(timeout_ms)


# --- log lines ---------------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line. ``correlation_id`` and ``job_id`` come from the context the record was
    made in; ``trace_id``/``span_id`` from the current OpenTelemetry span when it is valid."""

    def __init__(self, component: str = "") -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": getattr(record, "correlation_id", None) or current_correlation_id(),
            "job_id": getattr(record, "job_id", None) or current_job_id(),
            "component": self.component,
            "pid": record.process,
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            line["trace_id"] = format(span.trace_id, "032x")
            line["span_id"] = format(span.span_id, "016x")
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class _AppendHandler(logging.Handler):
    """Appends each line with one ``write`` on an ``O_APPEND`` descriptor, so lines from the server and
    every job process sharing the file never interleave mid-line."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            os.write(self._fd, (self.format(record) + "\n").encode("utf-8", errors="replace"))
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        with suppress(OSError):
            os.close(self._fd)
        super().close()


def log_file() -> Path:
    """Where every studio process appends its JSON log lines."""
    settings = get_settings()
    return settings.log_file or settings.workspace / "logs" / "studio.jsonl"


CHATTY_LOGGERS = ("apscheduler", "httpx", "httpcore", "urllib3", "alembic.runtime.migration")
"""Libraries that log each routine step at INFO (APScheduler two lines per pool tick, every second):
kept to warnings, so the studio log holds the studio's story and does not grow by megabytes a day."""


def configure_logging(component: Component, *, level: int = logging.INFO) -> list[logging.Handler]:
    """Route this process's log records to the studio log file (JSON) and to stderr, once per process
    (a second call replaces the first's handlers). ``job``: stderr is the job's own log, so it keeps
    text and warnings only, as an unconfigured process printed them, and the root logger's other
    handlers go (the process is the job's alone). Returns the handlers added."""
    global _component
    settings = get_settings()
    reset_logging()
    _component = component
    configure_tracing(component)
    file_handler: logging.Handler = _AppendHandler(log_file())
    file_handler.setFormatter(JsonFormatter(component))
    stderr = logging.StreamHandler(sys.stderr)
    if component == "job":
        stderr.setLevel(logging.WARNING)
        stderr.setFormatter(logging.Formatter("%(message)s"))
    elif settings.log_format == "json":
        stderr.setFormatter(JsonFormatter(component))
    else:
        stderr.setFormatter(logging.Formatter(TEXT_FORMAT))
        stderr.addFilter(_CorrelationField())
    root = logging.getLogger()
    with _lock:
        if component == "job":  # a handler a library added in the warm server would print INFO lines
            for inherited in list(root.handlers):  # into the job's own log
                root.removeHandler(inherited)
        for handler in (file_handler, stderr):
            root.addHandler(handler)
            _handlers.append(handler)
        if root.level > level or root.level == logging.NOTSET:
            root.setLevel(level)
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    return [file_handler, stderr]


class _CorrelationField(logging.Filter):
    """Gives text lines the correlation id too, so ``grep ID`` works on a text console as well."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation = current_correlation_id() or "-"
        return True


def reset_logging() -> None:
    """Remove and close the handlers ``configure_logging`` added (tests; a reconfiguration)."""
    root = logging.getLogger()
    with _lock:
        while _handlers:
            handler = _handlers.pop()
            root.removeHandler(handler)
            handler.close()
