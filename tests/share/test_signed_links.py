"""Signed share links: one view each, expiry, tampering, revocation, key rotation, and the CLI."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.config import get_settings
from canvascraft.errors import LinkNotValid, RoleTooLow, ShareLinkError
from canvascraft.services import links
from canvascraft.services.people import Person, acting_as
from canvascraft.share.links import DriftState, GalleryState
from canvascraft.share.signed import NOT_VALID, open_link
from canvascraft.store.migrate import upgrade
from canvascraft.store.models import utcnow

RUN_A, RUN_B = "a" * 32, "0123456789abcdef" * 2


@pytest.fixture
def studio(workspace: Path) -> Path:
    upgrade()
    return workspace


def test_a_run_link_opens_that_run_and_nothing_else(studio: Path) -> None:
    # A run opened from a filtered grid: the link keeps the run, never the filters or the page.
    made, url = links.create_link(GalleryState(view="run", run=RUN_A, dataset="cats", page=4, tag="x"))
    assert url.startswith(get_settings().link_base + "/?share=") and RUN_A not in url
    shared = open_link(made.token)
    assert shared.view == "run" and shared.state == GalleryState(view="run", run=RUN_A)
    assert made.info.what == f"run {RUN_A}" and made.info.created_by_name == "local user"


def test_each_view_kind_and_what_cannot_be_shared(studio: Path) -> None:
    compare = links.create_link(GalleryState(view="compare", runs=(RUN_A, RUN_B), sort="val_loss"))[0]
    assert open_link(compare.token).state == GalleryState(view="compare", runs=(RUN_A, RUN_B))
    model = links.create_link(GalleryState(view="models", model="cats", version="champion"))[0]
    assert open_link(model.token).view == "model" and model.info.what == "model cats version champion"
    tried = links.create_link(GalleryState(view="try", model="cats", version="2", item="f" * 64))[0]
    assert open_link(tried.token).state == GalleryState(view="try", model="cats", version="2", item="f" * 64)
    drift = links.create_link(DriftState(model="cats", check=7, feature="embedding"))[0]
    assert open_link(drift.token).state == DriftState(model="cats", check=7, feature="embedding")
    for unshareable in (GalleryState(view="runs", dataset="cats"), GalleryState(view="models"),
                        DriftState(model="cats"), GalleryState(view="try", model="cats")):  # fmt: skip
        with pytest.raises(ShareLinkError, match=r"pick one first|open one|opens one check"):
            links.create_link(unshareable)


def test_a_link_expires(studio: Path) -> None:
    made, _ = links.create_link(GalleryState(view="run", run=RUN_A), expires="7d")
    assert made.info.expires_at - made.info.created_at == timedelta(days=7)
    assert open_link(made.token, now=utcnow() + timedelta(days=6)).state.run == RUN_A
    with pytest.raises(LinkNotValid) as refused:
        open_link(made.token, now=utcnow() + timedelta(days=7, seconds=1))
    assert str(refused.value) == NOT_VALID and "expired or been revoked" in NOT_VALID
    default, _ = links.create_link(GalleryState(view="run", run=RUN_A))
    assert default.info.expires_at - default.info.created_at == timedelta(days=30)
    with pytest.raises(ShareLinkError, match="write it as 30d"):
        links.create_link(GalleryState(view="run", run=RUN_A), expires="soon")


def test_a_tampered_link_does_not_open(studio: Path) -> None:
    made, _ = links.create_link(GalleryState(view="run", run=RUN_A))
    assert open_link(made.token)
    for position in (3, len(made.token) // 2, len(made.token) - 2):
        flipped = "A" if made.token[position] != "A" else "B"
        with pytest.raises(LinkNotValid):
            open_link(made.token[:position] + flipped + made.token[position + 1 :])
    with pytest.raises(LinkNotValid):
        open_link("not-a-token-at-all-but-long-enough")


def test_a_revoked_link_does_not_open(studio: Path) -> None:
    made, _ = links.create_link(GalleryState(view="run", run=RUN_A))
    other, _ = links.create_link(GalleryState(view="run", run=RUN_B))
    assert links.revoke_link(made.info.id).state == "revoked"
    with pytest.raises(LinkNotValid):
        open_link(made.token)
    assert open_link(other.token).state.run == RUN_B  # only that one link stopped


def test_keys_rotate_and_old_links_open_until_the_old_keys_are_dropped(studio: Path) -> None:
    before, _ = links.create_link(GalleryState(view="run", run=RUN_A))
    key_file = get_settings().link_keys_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert links.rotate_key() == 2
    after, _ = links.create_link(GalleryState(view="run", run=RUN_B))
    assert open_link(before.token).state.run == RUN_A and open_link(after.token).state.run == RUN_B
    assert links.drop_old_keys() == 1
    assert open_link(after.token).state.run == RUN_B
    with pytest.raises(LinkNotValid):
        open_link(before.token)
    assert (
        stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(json.loads(key_file.read_text())["keys"]) == 1
    )


def test_keys_from_the_setting(studio: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANVASCRAFT_LINK_KEYS", "old-key-0123456789")
    get_settings.cache_clear()
    old, _ = links.create_link(GalleryState(view="run", run=RUN_A))
    monkeypatch.setenv("CANVASCRAFT_LINK_KEYS", "old-key-0123456789, new-key-0123456789")
    get_settings.cache_clear()
    assert open_link(old.token).state.run == RUN_A
    with pytest.raises(ShareLinkError, match="CANVASCRAFT_LINK_KEYS"):
        links.rotate_key()
    monkeypatch.setenv("CANVASCRAFT_LINK_KEYS", "new-key-0123456789")
    get_settings.cache_clear()
    with pytest.raises(LinkNotValid):
        open_link(old.token)
    assert not get_settings().link_keys_file.exists()


def test_who_may_make_and_revoke(studio: Path) -> None:
    viewer = Person(subject="v", name="Vi", role="viewer")
    artist = Person(subject="a", name="Art", role="artist")
    with acting_as(viewer), pytest.raises(RoleTooLow, match="cannot make a share link"):
        links.create_link(GalleryState(view="run", run=RUN_A))
    with acting_as(artist):
        made, _ = links.create_link(GalleryState(view="run", run=RUN_A))
    mine = links.create_link(GalleryState(view="run", run=RUN_B))[0]  # the local admin's
    assert made.info.created_by_subject == "a"
    with acting_as(artist):
        with pytest.raises(RoleTooLow, match="did not make share link"):
            links.revoke_link(mine.info.id)
        assert links.revoke_link(made.info.id).state == "revoked"


def test_the_cli_makes_lists_and_revokes_links(studio: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(app, ["link", "run", RUN_A, "--expires", "7d"])
    assert made.exit_code == 0, made.output
    url = made.output.strip().splitlines()[0]
    assert url.startswith(get_settings().link_base + "/?share=") and RUN_A not in url
    assert "until" in made.output and "canvascraft link revoke 1" in made.output
    assert open_link(url.partition("share=")[2]).state.run == RUN_A
    assert runner.invoke(app, ["link", "compare", RUN_A, RUN_B]).exit_code == 0
    assert runner.invoke(app, ["link", "check", "3"]).exit_code == 0
    listed = runner.invoke(app, ["link", "list"])
    assert (
        listed.exit_code == 0 and f"run {RUN_A}" in listed.output and "comparison of 2 runs" in listed.output
    )
    assert "drift check #3" in listed.output and "active" in listed.output
    revoked = runner.invoke(app, ["link", "revoke", "1"])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    as_json = json.loads(runner.invoke(app, ["link", "list", "--json"]).output)
    assert {row["id"]: row["state"] for row in as_json} == {3: "active", 2: "active", 1: "revoked"}
    with pytest.raises(LinkNotValid):
        open_link(url.partition("share=")[2])
    missing = runner.invoke(app, ["link", "revoke", "99"])
    assert missing.exit_code == 1 and "no such link" in missing.output
    bad = runner.invoke(app, ["link", "run", RUN_A, "--expires", "tomorrow"])
    assert bad.exit_code == 1 and "write it as 30d" in bad.output
    rotated = runner.invoke(app, ["link", "rotate-key"])
    assert rotated.exit_code == 0 and "2 keys" in rotated.output
