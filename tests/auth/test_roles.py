"""Roles from the identity provider's claim, the people table, roles set by admins (in the service and
the CLI), and the checks of the ``[auth]`` section and the address the studio is bound to."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from canvascraft.auth.login import check_binding, claimed_role
from canvascraft.auth.throttle import WindowLimit
from canvascraft.cli import app
from canvascraft.config import get_settings, parse_role_map
from canvascraft.errors import ConfigError, PeopleError, RoleTooLow, UnknownPersonError
from canvascraft.services import people
from canvascraft.services.workspace import prepare

AUTH = {
    "redirect_uri": "https://studio.example.org/oauth2callback",
    "cookie_secret": "x" * 40,
    "client_id": "studio",
    "client_secret": "s3cret",
    "server_metadata_url": "https://id.example.org/.well-known/openid-configuration",
}


@pytest.fixture
def role_map(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANVASCRAFT_ROLE_MAP", "studio-admins=admin, artists=artist")
    monkeypatch.delenv("CANVASCRAFT_ROLE_CLAIM", raising=False)
    monkeypatch.delenv("CANVASCRAFT_DEFAULT_ROLE", raising=False)
    get_settings.cache_clear()


@pytest.fixture
def ready(workspace: Path, role_map: None) -> Path:
    prepare(with_samples=False)
    return workspace


def test_the_highest_role_a_group_maps_to_wins_and_others_are_viewers(role_map: None) -> None:
    assert claimed_role({"groups": ["staff", "artists"]}) == "artist"
    assert claimed_role({"groups": ["artists", "studio-admins"]}) == "admin"
    assert claimed_role({"groups": "artists studio-admins"}) == "admin"  # one string, as some send it
    assert claimed_role({"groups": ["staff"]}) == "viewer"
    assert claimed_role({}) == "viewer"


def test_the_role_claim_and_the_default_role_are_settings(
    role_map: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANVASCRAFT_ROLE_CLAIM", "roles")
    monkeypatch.setenv("CANVASCRAFT_DEFAULT_ROLE", "artist")
    get_settings.cache_clear()
    assert claimed_role({"groups": ["studio-admins"], "roles": "studio-admins"}) == "admin"
    assert claimed_role({"groups": ["studio-admins"]}) == "artist"


def test_a_role_map_naming_no_role_is_refused_with_the_roles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANVASCRAFT_ROLE_MAP", "artists=artsy")
    get_settings.cache_clear()
    with pytest.raises(
        ConfigError, match=r"CANVASCRAFT_ROLE_MAP.*unknown role 'artsy', choose one of viewer"
    ):
        get_settings()
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="is not VALUE=ROLE"):
        parse_role_map("artists")


def test_an_admin_set_role_overrides_the_claim_until_cleared(ready: Path) -> None:
    claims = {"sub": "ada", "name": "Ada Lovelace", "email": "ada@example.org", "groups": ["artists"]}
    assert people.signed_in(claims).role == "artist"
    assert people.set_role("ada", "viewer").role == "viewer"
    ada = people.signed_in(claims)
    assert (ada.name, ada.email, ada.role) == ("Ada Lovelace", "ada@example.org", "viewer")
    people.set_role("ada", None)
    assert people.signed_in(claims).role == "artist"
    (row,) = people.list_people()
    assert (row.subject, row.claim_role, row.set_role, row.role) == ("ada", "artist", None, "artist")


def test_setting_a_role_needs_an_admin(ready: Path) -> None:
    viewer = people.signed_in({"sub": "vic", "name": "Vic"})
    with (
        people.acting_as(viewer),
        pytest.raises(RoleTooLow, match="Vic is a viewer and cannot set people's roles"),
    ):
        people.set_role("vic", "admin")
    assert people.list_people()[0].role == "viewer"


def test_bad_role_changes_say_what_to_do(ready: Path) -> None:
    people.signed_in({"sub": "ada", "groups": ["artists"]})
    with pytest.raises(PeopleError, match="unknown role 'boss': choose one of viewer, artist, admin"):
        people.set_role("ada", "boss")
    with pytest.raises(UnknownPersonError, match="nobody with subject 'bob' has signed in"):
        people.set_role("bob", "artist")
    with pytest.raises(PeopleError, match="without a `sub` claim"):
        people.signed_in({"name": "No One"})


def test_the_cli_lists_people_and_sets_a_role(ready: Path) -> None:
    people.signed_in({"sub": "ada", "name": "Ada Lovelace", "groups": ["artists"]})
    runner = CliRunner()
    listed = runner.invoke(app, ["people", "list"])
    assert listed.exit_code == 0, listed.output
    assert "artist  claim" in listed.output and "Ada Lovelace" in listed.output
    made = runner.invoke(app, ["people", "set-role", "ada", "admin"])
    assert made.exit_code == 0, made.output
    assert made.output.strip() == "Ada Lovelace (ada) is admin (set here)"
    back = runner.invoke(app, ["people", "set-role", "ada", "claim"])
    assert back.output.strip() == "Ada Lovelace (ada) is artist (from their groups)"
    wrong = runner.invoke(app, ["people", "set-role", "bob", "admin"])
    assert wrong.exit_code == 1 and "nobody with subject 'bob'" in wrong.output


def test_localhost_needs_no_login_and_any_other_address_does() -> None:
    for address in ("localhost", "127.0.0.1", "::1"):
        assert check_binding(address, None) == []
    with pytest.raises(ConfigError, match="bound to every interface"):  # Streamlit's default: all
        check_binding(None, None)
    with pytest.raises(ConfigError, match=r"bound to 0\.0\.0\.0, beyond this machine") as refused:
        check_binding("0.0.0.0", {})
    assert "[auth]" in str(refused.value) and "server_metadata_url" in str(refused.value)
    assert check_binding("0.0.0.0", AUTH) == []  # https redirect: nothing to warn about


def test_an_http_redirect_outside_localhost_is_warned_about() -> None:
    (warning,) = check_binding("0.0.0.0", {**AUTH, "redirect_uri": "http://studio.lan:8501/oauth2callback"})
    assert "is http" in warning and "https" in warning
    assert check_binding("127.0.0.1", {**AUTH, "redirect_uri": "http://localhost:8501/oauth2callback"}) == []


def test_sign_in_attempts_past_the_limit_wait_for_the_window() -> None:
    now = [0.0]
    limiter = WindowLimit(3, 60, clock=lambda: now[0])
    assert [limiter.attempt("10.0.0.1") for _ in range(2)] == [None, None]
    limiter.failed("10.0.0.1")
    assert limiter.attempt("10.0.0.1") == 60
    assert limiter.attempt("10.0.0.2") is None  # another address has its own count
    now[0] = 61
    assert limiter.attempt("10.0.0.1") is None


def test_the_studio_command_names_a_secrets_file_that_is_not_there(workspace: Path) -> None:
    refused = CliRunner().invoke(app, ["studio", "--address", "0.0.0.0", "--secrets", "nowhere.toml"])
    assert refused.exit_code == 1
    assert "--secrets nowhere.toml: no such file" in refused.output
