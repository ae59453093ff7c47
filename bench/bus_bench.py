"""Event bus throughput and alert latency: ``python bench/bus_bench.py [--events N] [--alerts K]``.

Throughput: ``--events`` prebuilt events published through an ``EventBus`` to 3 trivial subscribers
(two for every event, one for ``DriftDetected`` only, so dispatch by type is exercised), against the
baseline of a plain loop calling the 3 callbacks directly; also with each event built in the loop
(what a producer pays). Interleaved and repeated; best of ``--repeat``.

Latency: in a temporary workspace (SQLite), the model's alert settings point a webhook at an HTTP
receiver on 127.0.0.1; ``--alerts`` ``DriftDetected`` events go through the real default wiring (alert
log row → outbox row → webhook POST), timed from ``publish`` to the receiver holding the request.
Baseline: the same receiver hit by a direct ``httpx`` POST (the network and server alone).

Targets: ≥ 10,000 events/s in process; alert delivered within 1 s of detection.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy
from timing import run_interleaved

from canvascraft.config import get_settings
from canvascraft.events import DriftDetected, Event, EventBus, TrainingFailed

THROUGHPUT_TARGET = 10_000
LATENCY_TARGET_S = 1.0
HOST = "127.0.0.1"


def describe_machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"machine   {platform.system()} {platform.machine()}, {cores} cores usable\n"
        f"software  Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
        f"SQLite {sqlite3.sqlite_version}, httpx {httpx.__version__}"
    )


def drift(number: int) -> DriftDetected:
    return DriftDetected(
        model_name="paints",
        model_ref="paints@champion",
        model_version=3,
        check_id=number,
        drifted_features=("hue",),
        sentences=("hue moved up by 0.4 standard deviations",),
        link=f"http://localhost:8501/drift?model=paints&check={number}",
    )


def mixed_events(count: int) -> list[Event]:
    """Three drift events to one training failure, so the type filter matters."""
    return [
        drift(n) if n % 4 else TrainingFailed(job_id=n, reason="exit code 1", dataset="d", trainer="t")
        for n in range(count)
    ]


def throughput(count: int, repeat: int) -> None:
    events = mixed_events(count)
    counts = [0, 0, 0]

    def first(event: Event) -> None:
        counts[0] += 1

    def second(event: Event) -> None:
        counts[1] += 1

    def drift_only(event: Event) -> None:
        counts[2] += 1

    bus = EventBus()
    bus.subscribe(first)
    bus.subscribe(second)
    bus.subscribe(drift_only, DriftDetected)
    publish = bus.publish

    def timed(loop: Callable[[], None]) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            loop()
            return time.perf_counter() - start

        return run

    def through_bus() -> None:
        for event in events:
            publish(event)

    def direct() -> None:
        for event in events:
            first(event)
            second(event)
            if isinstance(event, DriftDetected):
                drift_only(event)

    def built_and_published() -> None:
        for n in range(count):
            publish(drift(n))

    results = run_interleaved(
        {"bus": timed(through_bus), "direct": timed(direct), "build+bus": timed(built_and_published)},
        repeat=repeat,
    )
    best = {name: count / min(times) for name, times in results.items()}
    print(f"\nthroughput: {count:,} events (3 of 4 DriftDetected) to 3 subscribers, best of {repeat}")
    print(f"  bus.publish                    {best['bus']:>12,.0f} events/s")
    print(f"  direct calls (baseline)        {best['direct']:>12,.0f} events/s  "
          f"(the bus costs {best['direct'] / best['bus']:.1f}× a plain loop)")  # fmt: skip
    print(f"  event built + bus.publish      {best['build+bus']:>12,.0f} events/s")
    met = "met" if best["bus"] >= THROUGHPUT_TARGET else "MISSED"
    print(f"  target ≥ {THROUGHPUT_TARGET:,} events/s: {met}")


class Arrivals:
    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.condition = threading.Condition()

    def wait(self, correlation_id: str, timeout: float = 10.0) -> float:
        with self.condition:
            self.condition.wait_for(lambda: correlation_id in self.times, timeout)
            return self.times[correlation_id]


@contextmanager
def receiver() -> Iterator[tuple[str, Arrivals]]:
    arrivals = Arrivals()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrived = time.perf_counter()
            key = self.headers.get("X-CanvasCraft-Correlation-Id", "")
            with arrivals.condition:
                arrivals.times[key] = arrived
                arrivals.condition.notify_all()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}/hook", arrivals
    finally:
        server.shutdown()
        server.server_close()


def latency(alerts: int) -> None:
    from canvascraft.events import publish
    from canvascraft.services.alerts import list_alerts, save_alert_settings
    from canvascraft.store.migrate import upgrade

    upgrade()
    with receiver() as (url, arrivals):
        save_alert_settings("paints", webhook_url=url)
        ours: list[float] = []
        for number in range(alerts + 1):
            event = drift(number)
            start = time.perf_counter()
            failures = publish(event)
            assert failures == [], failures
            took = arrivals.wait(event.correlation_id) - start
            if number:  # the first one pays imports and the engine's first connection
                ours.append(took)
        direct: list[float] = []
        with httpx.Client() as client:
            for number in range(alerts):
                key = f"direct-{number}"
                start = time.perf_counter()
                client.post(url, json={"n": number}, headers={"X-CanvasCraft-Correlation-Id": key})
                direct.append(arrivals.wait(key) - start)
    delivered = sum(
        1 for a in list_alerts("paints", alerts + 1) for d in a.deliveries if d.state == "delivered"
    )
    assert delivered == alerts + 1, f"only {delivered} of {alerts + 1} alerts delivered"
    print(f"\nlatency: DriftDetected → alert log → outbox → webhook receiver on {HOST}, {alerts} alerts")
    print(f"  publish → receiver holds it    median {statistics.median(ours) * 1000:7.1f} ms   "
          f"max {max(ours) * 1000:7.1f} ms")  # fmt: skip
    print(f"  direct httpx POST (baseline)   median {statistics.median(direct) * 1000:7.1f} ms   "
          f"max {max(direct) * 1000:7.1f} ms")  # fmt: skip
    met = "met" if max(ours) <= LATENCY_TARGET_S else "MISSED"
    print(f"  target ≤ {LATENCY_TARGET_S:g} s from detection to delivery (every alert): {met}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--alerts", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(describe_machine())
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    throughput(args.events, args.repeat)
    with tempfile.TemporaryDirectory(prefix="bus-bench-") as tmp:
        for name in [n for n in os.environ if n.startswith("CANVASCRAFT_")]:
            del os.environ[name]
        os.environ["CANVASCRAFT_WORKSPACE"] = str(Path(tmp) / "workspace")
        get_settings.cache_clear()
        latency(args.alerts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
