"""Signing in to a shared studio: a real OpenID Connect provider on 127.0.0.1, the studio served with
``[auth]`` secrets pointing at it, and real Chromium through the whole login and logout; the studio
refusing to be served beyond this machine without a login."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from canvascraft.services import people
from tests.oidc_provider import auth_secrets, oidc_provider
from tests.studio_server import ROOT, chromium_page, screenshot, serve_studio

ADA = ("ada", {"name": "Ada Lovelace", "email": "ada@example.org", "groups": ["staff", "artists"]})
GRACE = ("grace", {"name": "Grace Hopper", "email": "grace@example.org", "groups": ["studio-admins"]})
ROLE_MAP = "studio-admins=admin,artists=artist"


@pytest.fixture
def signed_studio(sample_workspace: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The studio with a login through the provider; yields its address and its log file."""
    with oidc_provider([ADA, GRACE]) as provider:
        secrets_file = auth_secrets(tmp_path, provider)
        env = {"CANVASCRAFT_ROLE_MAP": ROLE_MAP, "CANVASCRAFT_SIGNIN_ATTEMPTS": "6"}
        args = [f"--secrets.files={secrets_file}"]
        with serve_studio(sample_workspace, tmp_path / "studio.log", args=args, env=env) as url:
            yield url, sample_workspace / "logs" / "studio.jsonl"


def wait_for_app(page: object) -> None:
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)


def log_messages(log: Path) -> list[str]:
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return [json.loads(line).get("message", "") for line in lines if line.startswith("{")]


def sign_in_as(page: object, url: str, subject: str) -> None:
    """From the sign-in screen through the provider's own page, back to the studio."""
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**")
    page.get_by_role("button", name=subject, exact=True).click()
    page.wait_for_url(f"{url}/**")
    wait_for_app(page)


@pytest.mark.browser
@pytest.mark.timeout(600)  # one studio start (torch, MLflow) on a busy machine, then four sign-ins
def test_people_sign_in_see_their_name_and_role_and_log_out(signed_studio: tuple[str, Path]) -> None:
    url, log = signed_studio
    with chromium_page() as page:
        page.goto(url)
        wait_for_app(page)
        page.get_by_role("button", name="Sign in").wait_for()
        # Nothing of the studio before signing in: no navigation, no page.
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
        assert page.get_by_text("Datasets").count() == 0
        screenshot(page, "sign-in")

        # Refused at the provider: back on the sign-in screen, logged with the provider's error.
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/oauth2/authorize**")
        page.get_by_role("button", name="Deny").click()
        page.wait_for_url(f"{url}/**")
        wait_for_app(page)
        page.get_by_role("button", name="Sign in").wait_for()
        assert "sign-in failed from 127.0.0.1: access_denied" in log_messages(log)

        sign_in_as(page, url, "ada")
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text("Ada Lovelace").wait_for()
        assert "artist" in sidebar.inner_text()
        navigation = page.locator('[data-testid="stSidebarNav"]').inner_text()
        assert "Home" in navigation and "Admin" not in navigation  # an artist is no admin
        page.get_by_text("sample-images").first.wait_for()
        screenshot(page, "signed-in-artist")

        page.get_by_role("button", name="Log out").click()
        page.get_by_role("button", name="End session").click()  # the provider's end-session form
        page.wait_for_url(f"{url}/**")
        wait_for_app(page)
        page.get_by_role("button", name="Sign in").wait_for()
        assert page.get_by_text("Ada Lovelace").count() == 0

        sign_in_as(page, url, "grace")
        page.locator('[data-testid="stSidebar"]').get_by_text("Grace Hopper").wait_for()
        page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Admin").click()
        page.get_by_role("heading", name="People").wait_for()
        wait_for_app(page)
        page.locator('[data-testid="stDataFrame"]').wait_for()
        page.get_by_text("from their groups").wait_for()  # the role choices
        page.wait_for_timeout(1000)  # the table draws on a canvas after it is attached
        screenshot(page, "admin-people")

    # Both are remembered with the roles their groups gave.
    roles = {p.subject: (p.name, p.role, p.set_role) for p in people.list_people()}
    assert roles == {"ada": ("Ada Lovelace", "artist", None), "grace": ("Grace Hopper", "admin", None)}
    messages = log_messages(log)
    assert sum(m.startswith("sign-in completed from 127.0.0.1") for m in messages) == 2
    assert sum(m.startswith("sign-in failed") for m in messages) == 1  # the return from signing out is none

    # Three sign-ins started and one failed, of six allowed: two more starts, then 429.
    no_redirects = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())
    answers = []
    for _ in range(3):
        try:
            with no_redirects.open(f"{url}/auth/login?provider=x", timeout=30) as response:
                answers.append(response.status)
        except urllib.error.HTTPError as error:
            answers.append(error.code)
    assert answers == [302, 302, 429]
    assert any(m.startswith("sign-in refused for 127.0.0.1: too many attempts") for m in log_messages(log))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_the_studio_refuses_an_address_beyond_this_machine_without_a_login(workspace: Path) -> None:
    started = subprocess.run(
        [sys.executable, "-m", "components.launcher", "run", str(ROOT / "app.py"), "--server.port=1",
         "--server.address=0.0.0.0", f"--secrets.files={workspace / 'none.toml'}"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert started.returncode == 1
    assert "bound to 0.0.0.0, beyond this machine, and no sign-in is configured" in started.stderr
    assert "[auth]\nredirect_uri = " in started.stderr and "server_metadata_url" in started.stderr
    assert "Traceback" not in started.stderr


def test_the_studio_refuses_an_auth_section_that_cannot_work(workspace: Path, tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text('[auth]\nredirect_uri = "https://studio.example.org/"\ncookie_secret = "short"\n')
    env_address = {"STREAMLIT_SERVER_ADDRESS": "0.0.0.0"}
    started = subprocess.run(
        [sys.executable, "-m", "components.launcher", "run", str(ROOT / "app.py"), "--server.port=1",
         f"--secrets.files={secrets_file}"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env={**os.environ, **env_address},
    )  # fmt: skip
    assert started.returncode == 1
    assert "client_id is missing" in started.stderr
    assert "must end with /oauth2callback" in started.stderr
    assert "cookie_secret has 5 characters" in started.stderr


def test_xsrf_protection_stays_on() -> None:
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["address"] == "localhost"  # the embedded default: this machine, no login
