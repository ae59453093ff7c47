"""Prometheus metrics: the collector over real rows, a locked database, and a real Prometheus scraping."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from canvascraft.config import get_settings
from canvascraft.jobs.pool import JobPool
from canvascraft.observability.metrics import RequestMetrics, StudioCollector, metrics_app, read_engine
from canvascraft.store.migrate import upgrade
from canvascraft.store.models import Alert, AlertDelivery, DriftCheck, DriftMetric, Job, utcnow
from canvascraft.store.session import engine_for
from tests.local_servers import HOST, PROMETHEUS, free_port, get_json, scraped_by_prometheus


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one scrape as ``{(name, sorted labels): value}``."""
    found = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def collector_registry() -> tuple[CollectorRegistry, StudioCollector]:
    registry = CollectorRegistry(auto_describe=False)
    collector = StudioCollector()
    registry.register(collector)
    return registry, collector


def add_rows(url: str) -> None:
    """Known rows: jobs in three states with known times, a finished drift check, two deliveries."""
    now = utcnow()
    jobs = [
        {"kind": "sleep", "spec": {}, "state": "queued", "created_at": now, "started_at": None,
         "finished_at": None},
        {"kind": "sleep", "spec": {}, "state": "running", "created_at": now - timedelta(seconds=10),
         "started_at": now - timedelta(seconds=7), "finished_at": None},
        {"kind": "train", "spec": {}, "state": "succeeded", "created_at": now - timedelta(seconds=100),
         "started_at": now - timedelta(seconds=98), "finished_at": now - timedelta(seconds=58)},
    ]  # fmt: skip
    with engine_for(url).begin() as connection:
        connection.execute(insert(Job), jobs)  # one key set for all rows: executemany takes the first's
        for number, drifted in ((1, False), (2, True)):
            connection.execute(insert(DriftCheck).values(
                id=number, model_name="shapes", model_ref="shapes@champion", trigger="manual",
                state="done", drifted=drifted, created_at=now, sentences=[], skipped=[], detail={},
            ))  # fmt: skip
            connection.execute(insert(DriftMetric).values(
                check_id=number, feature="brightness", metric="psi", value=0.1 * number, threshold=0.15,
                drifted=drifted,
            ))  # fmt: skip
        connection.execute(insert(DriftCheck).values(
            id=3, model_name="shapes", model_ref="shapes@champion", trigger="manual", state="failed",
            created_at=now, sentences=[], skipped=[], detail={},
        ))  # fmt: skip
        connection.execute(insert(Alert).values(
            id=1, event="drift_detected", model_name="shapes", correlation_id="c1", title="t", body="b",
            payload={}, created_at=now,
        ))  # fmt: skip
        for target, state in (("http://127.0.0.1:9/a", "delivered"), ("http://127.0.0.1:9/b", "dead")):
            connection.execute(insert(AlertDelivery).values(
                alert_id=1, channel="webhook", target=target, state=state, attempts=1, next_attempt_at=now,
            ))  # fmt: skip


@pytest.fixture(autouse=True)
def three_slots(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A set pool limit: the automatic one imports torch to count GPUs."""
    monkeypatch.setenv("CANVASCRAFT_MAX_CONCURRENT_JOBS", "3")
    get_settings.cache_clear()


def test_collector_reads_jobs_drift_and_deliveries_from_rows(workspace: Path) -> None:
    url = get_settings().db_url
    upgrade(url)
    add_rows(url)
    registry, collector = collector_registry()

    found = samples(registry)

    def value(name: str, **labels: str) -> float | None:
        return found.get((name, tuple(sorted(labels.items()))))

    assert value("canvascraft_jobs", kind="sleep", state="queued") == 1
    assert value("canvascraft_jobs", kind="sleep", state="running") == 1
    assert value("canvascraft_jobs", kind="sleep", state="failed") == 0  # zeros shown, so panels draw
    assert value("canvascraft_jobs", kind="train", state="succeeded") == 1
    assert value("canvascraft_pool_slots_in_use") == 1
    assert value("canvascraft_pool_slots") == 3
    # queue waits 3 s (running) and 2 s (train); run time 40 s for the finished train job
    assert value("canvascraft_job_queue_wait_seconds_bucket", kind="sleep", le="5.0") == 1
    assert value("canvascraft_job_queue_wait_seconds_bucket", kind="sleep", le="2.0") == 0
    assert value("canvascraft_job_queue_wait_seconds_count", kind="train") == 1
    assert value("canvascraft_job_run_seconds_bucket", kind="train", state="succeeded", le="30.0") == 0
    assert value("canvascraft_job_run_seconds_bucket", kind="train", state="succeeded", le="60.0") == 1
    assert value("canvascraft_job_run_seconds_sum", kind="train", state="succeeded") == pytest.approx(40)
    # the latest finished check (2) gives the score; the limit comes with it
    feature = {"model": "shapes", "feature": "brightness", "metric": "psi"}
    assert value("canvascraft_drift_score", **feature) == pytest.approx(0.2)
    assert value("canvascraft_drift_limit", **feature) == pytest.approx(0.15)
    assert value("canvascraft_drift_feature_drifted", **feature) == 1
    assert value("canvascraft_drift_checks", model="shapes", verdict="drifted") == 1
    assert value("canvascraft_drift_checks", model="shapes", verdict="no_drift") == 1
    assert value("canvascraft_drift_checks", model="shapes", verdict="failed") == 1
    assert value("canvascraft_alert_deliveries", channel="webhook", state="delivered") == 1
    assert value("canvascraft_alert_deliveries", channel="webhook", state="dead") == 1
    assert collector.errors == {}


def test_a_locked_database_or_a_missing_table_skips_families_not_the_scrape(workspace: Path) -> None:
    url = get_settings().db_url
    upgrade(url)
    add_rows(url)
    with engine_for(url).begin() as connection:
        connection.execute(text("DROP TABLE alert_deliveries"))
    registry, collector = collector_registry()

    found = samples(registry)
    assert ("canvascraft_jobs", (("kind", "sleep"), ("state", "queued"))) in found
    assert ("canvascraft_scrape_errors_total", (("family", "alert_deliveries"),)) in found
    assert collector.errors == {"alert_deliveries": 1}

    engine_for(url).dispose()  # idle connections would keep the exclusive lock away
    read_engine(url).dispose()
    holder = sqlite3.connect(workspace / "canvascraft.db", isolation_level=None, timeout=10)
    try:  # in WAL mode only an exclusive locking mode keeps readers out
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE jobs SET kind = kind")
        found = samples(registry)
    finally:
        holder.close()

    assert not any(name == "canvascraft_jobs" for name, _ in found)
    assert found[("canvascraft_scrape_errors_total", (("family", "jobs"),))] == 1
    assert found[("canvascraft_scrape_errors_total", (("family", "alert_deliveries"),))] == 2
    assert set(collector.errors) == {"jobs", "pool_slots", "drift", "alert_deliveries", "retrains"}

    found = samples(registry)  # the lock is gone: the families are back
    assert found[("canvascraft_jobs", (("kind", "sleep"), ("state", "queued")))] == 1


async def job_detail(request: Request) -> JSONResponse:
    return JSONResponse({"id": int(request.path_params["job_id"])})


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, in a thread of this process."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.skipif(
    PROMETHEUS is None,
    reason="Debian's prometheus is not installed (scripts/test-deps.sh installs it as root)",
)
def test_a_real_prometheus_scrapes_job_counts_and_api_requests(workspace: Path, tmp_path: Path) -> None:
    upgrade()
    job_id = JobPool().submit("sleep", {"seconds": 0.1})  # queued, never run
    api = Starlette(routes=[Mount("/api/v1", routes=[Route("/jobs/{job_id}", job_detail)])])
    app = Starlette(routes=[Route("/metrics", metrics_app()), Mount("/", app=api)])
    with served(RequestMetrics(app)) as studio:
        assert get_json(studio, f"/api/v1/jobs/{job_id}") == {"id": job_id}
        found = scraped_by_prometheus(studio, tmp_path, {
            "jobs": 'canvascraft_jobs{kind="sleep",state="queued"}',
            "requests": 'canvascraft_api_requests_total{route="/api/v1/jobs/{job_id}"}',
        })  # fmt: skip

    (jobs,), (requests,) = found["jobs"], found["requests"]
    assert jobs["value"][1] == "1" and jobs["metric"]["job"] == "canvascraft"
    assert requests["metric"]["status"] == "200" and requests["value"][1] == "1"


ROOT = Path(__file__).resolve().parents[2]
PROMTOOL = shutil.which("promtool")


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "canvascraft.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_the_dashboard_draws_only_metrics_the_studio_exports(workspace: Path) -> None:
    import optuna

    from canvascraft.tuning.studies import storage

    upgrade()
    add_rows(get_settings().db_url)
    study = optuna.create_study(storage=storage(), study_name="search")
    study.tell(study.ask(), 0.5)
    study.ask()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StudioCollector())
    RequestMetrics(lambda *_: None, registry=registry)  # type: ignore[arg-type, return-value]
    scrape = generate_latest(registry).decode()
    assert 'canvascraft_optuna_trials{state="complete",study="search"} 1.0' in scrape
    assert 'canvascraft_optuna_trials{state="running",study="search"} 1.0' in scrape
    exported = {family.name for family in text_string_to_metric_families(scrape)}
    suffixes = ("_bucket", "_count", "_sum", "_total")
    names = {name for expr in dashboard_expressions() for name in re.findall(r"canvascraft_[a-z_]+", expr)}
    used = {re.sub("|".join(f"{s}$" for s in suffixes), "", name) for name in names}
    assert used - exported == set()
    assert {"canvascraft_jobs", "canvascraft_drift_score", "canvascraft_api_requests"} <= used


@pytest.mark.skipif(PROMTOOL is None, reason="Debian's prometheus (promtool) is not installed")
def test_the_sample_config_and_the_dashboards_queries_are_valid_for_prometheus(tmp_path: Path) -> None:
    assert PROMTOOL is not None
    check = subprocess.run([PROMTOOL, "check", "config", str(ROOT / "deploy" / "prometheus.yml")],
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query{number}", "expr": expr.replace("$kind", ".*").replace("$model", ".*")}
        for number, expr in enumerate(dashboard_expressions())
    ]}]}  # fmt: skip
    path = tmp_path / "rules.yml"
    path.write_text(json.dumps(rules))  # JSON is YAML
    check = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_requests_are_counted_by_route_template_so_stray_paths_add_no_series() -> None:
    import asyncio

    import httpx
    from fastapi import APIRouter, FastAPI

    registry = CollectorRegistry(auto_describe=False)
    api, router = FastAPI(), APIRouter(prefix="/jobs")
    router.add_api_route("/{job_id}", lambda job_id: {"id": job_id})  # type: ignore[arg-type, return-value]
    api.include_router(router)
    static = JSONResponse({"static": True})
    app = Starlette(routes=[Mount("/api/v1", app=api), Mount("/static", app=static)])

    async def requests() -> None:
        transport = httpx.ASGITransport(app=RequestMetrics(app, registry=registry))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://studio") as client:
            for path in ("/api/v1/jobs/1", "/api/v1/jobs/2", "/static/a/b.css", "/nowhere", "/elsewhere"):
                await client.get(path)

    asyncio.run(requests())
    found = samples(registry)
    counted = {dict(labels)["route"]: value for (name, labels), value in found.items()
               if name == "canvascraft_api_requests_total"}  # fmt: skip
    assert counted == {"/api/v1/jobs/{job_id}": 2, "/static/{path}": 1, "unmatched": 2}
    key = (
        "canvascraft_api_request_duration_seconds_count",
        (("method", "GET"), ("route", "/api/v1/jobs/{job_id}")),
    )
    assert found[key] == 2


def test_the_studio_api_is_counted_under_its_full_templates(workspace: Path) -> None:
    """The API's router sits under ``/v1`` inside the ``/api`` mount; both prefixes are in the label."""
    from starlette.middleware import Middleware
    from starlette.testclient import TestClient

    from components.server import extra_routes

    registry = CollectorRegistry(auto_describe=False)
    app = Starlette(routes=extra_routes(), middleware=[Middleware(RequestMetrics, registry=registry)])
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/api/v1/jobs/5").status_code == 401  # no token: the route still matched
        assert client.get("/metrics").status_code == 200
    labels = (("method", "GET"), ("route", "/api/v1/jobs/{job_id}"), ("status", "401"))
    assert samples(registry)[("canvascraft_api_requests_total", labels)] == 1
