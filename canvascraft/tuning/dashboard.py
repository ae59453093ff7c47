"""The command line that opens the workspace's studies in ``optuna-dashboard`` (``canvascraft studies
dashboard``).

Studies live in Optuna's own RDB storage precisely so Optuna's dashboard can read them: no export, the
dashboard opens the same database the driver and the trials write, live. It is built here rather than
in the CLI so the tests start exactly the server a user gets.

``optuna-dashboard`` is a console script only (its package has no ``__main__``), so the script installed
beside this interpreter is used, never another environment's. The dashboard opens an RDB storage without
creating its tables, so ``serve_dashboard`` creates them first: a fresh workspace shows an empty list
instead of a server error. The dashboard has no login and can rename and delete studies and tell trials,
so it binds to loopback only: another address is refused before anything starts.
"""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path

from canvascraft.config import check_loopback, get_settings
from canvascraft.errors import ConfigError
from canvascraft.tracking.ui import ui_url

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
SCRIPT = "optuna-dashboard"
STOP_GRACE_S = 10.0
"""After Ctrl+C the server gets this long to close its workers before it is killed."""


def dashboard_url(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
    """The address to open in a browser (loopback when bound to every interface)."""
    return ui_url(host, port)


def dashboard_script() -> str:
    """The ``optuna-dashboard`` script of this interpreter's environment, else the one on ``PATH``."""
    beside = Path(sysconfig.get_path("scripts")) / SCRIPT
    if beside.is_file():
        return str(beside)
    found = shutil.which(SCRIPT)
    if found is None:
        raise ConfigError(
            "optuna-dashboard is not installed; install the pinned requirements "
            "(`pip install -r requirements.txt`)"
        )
    return found


def dashboard_command(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> list[str]:
    """``optuna-dashboard`` on the workspace's study storage, bound to ``host:port`` (loopback only)."""
    check_loopback(host, "optuna-dashboard", "rename and delete studies and tell their trials")
    return [dashboard_script(), get_settings().optuna_url, "--host", host, "--port", str(port)]


def serve_dashboard(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> int:
    """Print the URL, then serve the dashboard until it exits or Ctrl+C; returns its exit code
    (0 after Ctrl+C, which is how a user ends it)."""
    from canvascraft.tuning.studies import storage

    command = dashboard_command(host, port)  # fails clearly before anything is printed or created
    settings = get_settings()
    if settings.optuna_url.startswith("sqlite:///"):
        # SQLite will not create the folder its file lives in.
        Path(settings.optuna_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    storage()  # creates Optuna's tables in a fresh workspace; the dashboard only opens them
    print(
        f"Optuna dashboard for {settings.workspace}: {dashboard_url(host, port)}  (Ctrl+C stops it)",
        flush=True,
    )
    process = subprocess.Popen(command)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # Ctrl+C from a terminal reached the server too; make sure it and its workers are gone.
        process.terminate()
        try:
            process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return 0
