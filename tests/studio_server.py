"""Serve the real studio with ``streamlit run`` on 127.0.0.1 and drive it with Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.local_servers import free_port

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
ARTIFACTS = ROOT / "test-artifacts"
STARTUP_S = 180
"""How long a studio may take to answer its health check: minutes on two busy cores, seconds otherwise."""


@contextmanager
def serve_studio(workspace: Path, log_path: Path) -> Iterator[str]:
    """Start ``streamlit run app.py`` on a free port; yields its base URL, stops it afterwards."""
    port = free_port()
    # The served studio runs its own scheduler, as `canvascraft studio` does (tests turn it off in-process).
    env = {
        **os.environ,
        "CANVASCRAFT_WORKSPACE": str(workspace),
        "CANVASCRAFT_POOL_TICK_S": "1",
        "CANVASCRAFT_DRIFT_SCHEDULES": "1",
    }
    command = [
        sys.executable, "-m", "components.launcher", "run", str(ROOT / "app.py"), f"--server.port={port}",
        "--server.address=127.0.0.1", "--server.headless=true", "--browser.gatherUsageStats=false",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + STARTUP_S
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise RuntimeError(f"studio exited early:\n{log_path.read_text()}")
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                        if response.status == 200:
                            break
                except OSError:
                    time.sleep(0.3)
            else:
                raise RuntimeError(f"studio did not answer within {STARTUP_S} s:\n{log_path.read_text()}")
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def chromium_page(width: int = 1400, height: int = 1000) -> Iterator[object]:
    """A fresh headless Chromium page; skips the test when Chromium or Playwright is missing."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(30_000)
            outside: list[str] = []
            page.on("request", lambda request: outside.append(request.url) if leaves(request.url) else None)
            yield page
            assert not outside, f"the page sent requests beyond the studio's machine: {sorted(set(outside))}"
        finally:
            browser.close()


def leaves(url: str) -> bool:
    """A request to anywhere but this machine (the studio sends none: icons, fonts and scripts are its
    own)."""
    host = urllib.parse.urlsplit(url).hostname
    return url.startswith(("http:", "https:", "ws:", "wss:")) and host not in ("127.0.0.1", "localhost")


def screenshot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


@contextmanager
def chromium_browser() -> Iterator[object]:
    """A headless Chromium for tests that need several fresh contexts (a link opened by someone else:
    no cookies, storage or session of the first); skips when Chromium or Playwright is missing."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
