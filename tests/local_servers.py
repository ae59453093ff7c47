"""Start a real server (MLflow, optuna-dashboard, a model server) on 127.0.0.1 and talk to it.

One copy of the port, request, wait and stop logic, so every server test starts, reads and cleans up
the same way: all traffic stays on the loopback and no test leaves a server or its workers behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from canvascraft.testing.servers import HOST as HOST
from canvascraft.testing.servers import free_port as free_port

REQUEST_S = 60.0
"""A request's bound: a first model invocation or MLflow search can be slow on a busy machine."""
PROBE_S = 5.0
"""One readiness probe's bound, short so a server that has exited is noticed soon."""
LOG_TAIL = 3000
# No proxy from the environment: every request goes straight to the loopback server.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url: str, endpoint: str, **query: str) -> bytes:
    """The body of ``GET url+endpoint?query``; an error status raises, as ``urllib`` does."""
    address = f"{url}{endpoint}?{urllib.parse.urlencode(query)}" if query else f"{url}{endpoint}"
    with OPENER.open(address, timeout=REQUEST_S) as response:
        return bytes(response.read())


def get_json(url: str, endpoint: str, **query: str) -> Any:
    """``get`` decoded, for the JSON APIs the servers' own pages call."""
    return json.loads(get(url, endpoint, **query))


def post_json(url: str, endpoint: str, body: dict[str, Any]) -> Any:
    """``body`` posted as JSON, the answer decoded."""
    request = urllib.request.Request(
        f"{url}{endpoint}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with OPENER.open(request, timeout=REQUEST_S) as response:
        return json.loads(response.read())


def log_tail(log: Path) -> str:
    """The end of the server's output, which is what explains a failed start."""
    return log.read_text(errors="replace")[-LOG_TAIL:]


def wait_answering(
    url: str, process: subprocess.Popen[bytes], log: Path, path: str = "/", timeout: float = 60.0
) -> None:
    """Until ``path`` answers with a success; fails at once with the server's log if the server exits.

    Servers import a lot before they listen, so the bound is generous; a failure shows why."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server for {url} exited with {process.returncode}:\n{log_tail(log)}")
        try:
            with OPENER.open(f"{url}{path}", timeout=PROBE_S):
                return
        except OSError:  # not listening yet, or an error status while it starts
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the server for {url} did not answer {path} in {timeout:g} s:\n{log_tail(log)}")
        time.sleep(0.3)


def stop(process: subprocess.Popen[bytes], first: signal.Signals = signal.SIGTERM) -> None:
    """The server and every worker it started, with ``first`` (SIGINT is Ctrl+C), then SIGKILL.

    A server in its own session is signalled as a group, so its workers go with it."""
    try:
        own_group = os.getpgid(process.pid) == process.pid
    except ProcessLookupError:  # already reaped; workers it left may still hold its group
        own_group = True
    # A hang guard, not a speed check: a command may give its own server 10 s to close after Ctrl+C
    # (``tuning.dashboard.STOP_GRACE_S``), and a loaded machine stretches that.
    for signum, grace in ((first, 30), (signal.SIGKILL, 15)):
        try:
            if own_group:
                os.killpg(process.pid, signum)
            elif process.poll() is None:
                process.send_signal(signum)
            else:
                break
        except ProcessLookupError:
            break
        try:
            process.wait(grace)
            break
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def started(
    command: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` running in its own session with its output in ``log``; stopped on the way out.

    ``env`` replaces the environment when given (None inherits it)."""
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        stop(process)


PROMETHEUS = shutil.which("prometheus")
"""Debian's Prometheus server (``scripts/test-deps.sh`` installs it as root); None where it is absent."""


def scraped_by_prometheus(target: str, folder: Path, queries: dict[str, str], timeout: float = 30) -> dict:
    """Run a real Prometheus that scrapes ``target`` (``http://host:port``, path ``/metrics``) every
    second, and return each PromQL query's result once every one of them has a series."""
    assert PROMETHEUS is not None
    config = folder / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
        f"  - job_name: canvascraft\n    static_configs:\n      - targets: ['{target.removeprefix('http://')}']\n"
    )
    port = free_port()
    command = [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={folder / 'tsdb'}",
               f"--web.listen-address={HOST}:{port}"]  # fmt: skip
    log = folder / "prometheus.log"
    with started(command, folder, log) as process:
        prometheus = f"http://{HOST}:{port}"
        deadline = time.monotonic() + timeout  # its first scrape comes a few seconds after it starts
        while True:
            assert process.poll() is None, log_tail(log)
            if time.monotonic() > deadline:
                targets = get_json(prometheus, "/api/v1/targets")["data"]["activeTargets"]
                seen = [(t["health"], t["lastError"]) for t in targets]
                raise AssertionError(f"prometheus never got our metrics (targets {seen}):\n{log_tail(log)}")
            time.sleep(0.5)
            try:
                answers = {name: get_json(prometheus, "/api/v1/query", query=promql)
                           for name, promql in queries.items()}  # fmt: skip
            except OSError:  # not listening yet
                continue
            results = {name: list(answer["data"]["result"]) for name, answer in answers.items()}
            if all(results.values()):
                return results
