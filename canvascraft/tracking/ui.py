"""The command line that opens the workspace's runs in MLflow's own UI (``canvascraft mlflow-ui``).

It is built here rather than in the CLI so the tests start exactly the server a user gets. The server
reads the workspace's tracking database; the studio's runs keep their artifacts under ``file://``
locations in the workspace, which the server reads directly, and anything created from the UI goes
through the server's artifact proxy into the same root, never into ``./mlartifacts`` wherever the
command was started.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from canvascraft.config import get_settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
DEFAULT_WORKERS = 1
"""One user on one machine: MLflow's default of 4 workers would hold four copies of MLflow in memory."""
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


def ui_command(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, workers: int = DEFAULT_WORKERS
) -> list[str]:
    """``mlflow server`` on the configured tracking store, with this interpreter's MLflow."""
    settings = get_settings()
    return [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", settings.tracking_uri,
        "--registry-store-uri", settings.tracking_uri,
        "--artifacts-destination", settings.artifact_root.as_uri(),
        "--host", host,
        "--port", str(port),
        "--workers", str(workers),
    ]  # fmt: skip


def ui_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server's environment: the caller's, with MLflow's job runners off unless set explicitly."""
    env = dict(os.environ if base is None else base)
    env.setdefault(JOB_EXECUTION, "false")
    return env
