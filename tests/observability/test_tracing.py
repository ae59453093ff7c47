"""Traces leave for an OpenTelemetry collector only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` names one: a
real job process exports its span, in the trace of the chain it was queued in, to a local OTLP/HTTP
receiver on 127.0.0.1 (the outside world's collector, faked as a real server)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from canvascraft.jobs.pool import JobPool
from canvascraft.jobs.states import JobState
from canvascraft.observability.logs import correlation, current_traceparent
from canvascraft.store.migrate import upgrade
from tests.jobs.helpers import finished, wait_for
from tests.local_servers import HOST, free_port


@contextmanager
def otlp_receiver() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    """An OTLP/HTTP endpoint keeping every export request it is sent (``POST /v1/traces``)."""
    received: list[ExportTraceServiceRequest] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/v1/traces":
                received.append(ExportTraceServiceRequest.FromString(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((HOST, free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_a_job_process_exports_its_span_in_the_chains_trace(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade()
    with otlp_receiver() as (endpoint, received):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        pool = JobPool(max_concurrent=1)
        with correlation(step="test chain") as chain:
            trace_id = (current_traceparent() or "").split("-")[1]
            job_id = pool.submit("sleep", {"seconds": 0.1})
        job = wait_for(pool, job_id, finished, timeout=60)
        assert job.state == JobState.SUCCEEDED, job.error_tail

    spans = [
        (resource.resource, span)
        for request in received
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]

    def service(resource: Any) -> str:
        return {a.key: a.value.string_value for a in resource.attributes}["service.name"]

    # (this process's own span of the chain may be sent too, if its tracing started with the endpoint)
    ours = [span for resource, span in spans if service(resource) == "canvascraft-job"]
    assert [span.name for span in ours] == [f"job {job_id}"], [span.name for _, span in spans]
    span = ours[0]
    assert span.trace_id.hex() == trace_id, "the job's span continues the chain's trace"
    attributes = {a.key: a.value for a in span.attributes}
    assert attributes["canvascraft.job_id"].int_value == job_id
    assert chain in {a.value.string_value for a in span.attributes}
