"""The command line that opens the workspace's runs in MLflow's own UI (``canvascraft mlflow-ui``).

It is built here rather than in the CLI so the tests start exactly the server a user gets: MLflow's
application served read-only on loopback by ``canvascraft.tracking.ui_server`` (one process, no artifact
proxy, writes refused). The server reads the workspace's tracking database; the studio's runs keep their
artifacts under ``file://`` locations in the workspace, which the server reads in place.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping

from canvascraft.tracking.ui_server import check_host

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
STOP_GRACE_S = 10.0
"""How long a stopped server may take to close its connections before it is killed."""
ANY_ADDRESS = ("0.0.0.0", "::", "")
JOB_EXECUTION = "MLFLOW_SERVER_ENABLE_JOB_EXECUTION"
"""MLflow's server starts about seven Huey worker processes for GenAI jobs (judges, trace archival) that
the studio's runs never use; they stay off unless the user turned them on themselves."""


def ui_url(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
    """The address to open in a browser; a server bound to every interface is reached on loopback."""
    shown = "127.0.0.1" if host in ANY_ADDRESS else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def ui_command(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> list[str]:
    """The read-only UI server on the configured tracking store, with this interpreter's MLflow;
    a host other than loopback is refused here, before anything starts."""
    check_host(host)
    return [sys.executable, "-m", "canvascraft.tracking.ui_server", host, str(port)]


def run_ui(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> int:
    """Serve until the server ends or this process is stopped; returns the server's exit code.

    The server runs in its own process group, and SIGTERM, SIGINT or SIGHUP here stops the whole
    group, so no server process outlives the command and its port is free again."""
    process = subprocess.Popen(ui_command(host, port), env=ui_env(), start_new_session=True)

    def stop(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        try:
            return process.wait()
        except BaseException:
            stop(signal.SIGTERM, None)
            raise
        finally:
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def ui_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server's environment: the caller's, with MLflow's job runners off unless set explicitly."""
    env = dict(os.environ if base is None else base)
    env.setdefault(JOB_EXECUTION, "false")
    return env
