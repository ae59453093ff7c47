"""Signed share links opened through the studio's frame (AppTest): one view, read only, nothing else;
a tampered, expired or revoked link shows only "This link is not valid"; Copy link makes one; the
Admin page's list revokes one.

Works on a private copy of the session's tiny trained runs (``tests/conftest.py``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from canvascraft.gallery.detail import run_detail
from canvascraft.gallery.registry import register
from canvascraft.services import links
from canvascraft.services.people import LOCAL
from canvascraft.share import signed
from canvascraft.share.links import GalleryState
from canvascraft.store.models import utcnow
from tests.conftest import TrainedTemplate

APP = str(Path(__file__).resolve().parent.parent / "app.py")
BASE = "http://studio.test:8501"
ACTIONS = ("Register", "← All runs", "Open", "Set alias", "Try this model", "Compare", "Save description",
           "Generate", "Apply filters", "Make a share link", "Copy link")  # fmt: skip
Runs = dict[str, str]


@pytest.fixture
def runs(trained_runs_workspace: TrainedTemplate) -> Runs:
    return trained_runs_workspace.run_ids


def open_share(token: str, **more: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.context["url"] = f"{BASE}/"
    app.query_params["share"] = token
    for name, value in more.items():
        app.query_params[name] = value
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def everything_said(app: AppTest) -> str:
    parts = [*app.title, *app.header, *app.subheader, *app.markdown, *app.caption, *app.info, *app.error,
             *app.warning, *app.success]  # fmt: skip
    return "\n".join(str(p.value) for p in parts)


def labels(app: AppTest) -> set[str]:
    return {b.label for b in app.button} | {b.label for b in app.get("download_button")}


def assert_not_valid(app: AppTest) -> None:
    assert [t.value for t in app.title] == ["This link is not valid"]
    assert [m.value for m in app.markdown] == [signed.NOT_VALID_HELP]
    assert "expired or been revoked" in signed.NOT_VALID_HELP and "new one" in signed.NOT_VALID_HELP
    assert not labels(app) and not app.get("selectbox") and not app.get("page_link") and not app.code
    assert not app.subheader and not app.caption and not app.get("plotly_chart")


def test_a_run_link_opens_that_run_read_only_and_nothing_else(runs: Runs) -> None:
    made, _ = links.create_link(GalleryState(view="run", run=runs["table"]))
    other = run_detail(runs["image"]).card.name
    app = open_share(made.token)
    said = everything_said(app)
    assert app.title[0].value == "A training run"
    assert run_detail(runs["table"]).card.name in [s.value for s in app.subheader]
    assert "Shared with you read only" in said and other not in said
    assert not labels(app) & set(ACTIONS), labels(app)
    assert not app.get("page_link") and not app.get("form")
    # Other query parameters are not a way to other runs: the link's own state is what opens.
    edited = open_share(made.token, view="run", run=runs["image"], runs=f"{runs['image']},{runs['audio']}")
    assert [s.value for s in edited.subheader] == [s.value for s in app.subheader]
    assert other not in everything_said(edited)


def test_comparison_model_and_try_links_open_read_only(runs: Runs) -> None:
    register(runs["table"], "paints", alias="champion")
    compare, _ = links.create_link(GalleryState(view="compare", runs=(runs["table"], runs["median"])))
    app = open_share(compare.token)
    assert "Comparing 2 runs" in everything_said(app) and not labels(app) & set(ACTIONS)
    model, _ = links.create_link(GalleryState(view="models", model="paints", version="1"))
    app = open_share(model.token)
    assert "Model paints" in everything_said(app)
    assert not labels(app) & set(ACTIONS) and not [s for s in app.selectbox if s.label == "model"]
    tried, _ = links.create_link(GalleryState(view="try", model="paints", version="champion"))
    app = open_share(tried.token)
    assert "Try paints version 1" in everything_said(app) and not app.get("file_uploader")


@pytest.mark.parametrize("spoil", ["tampered", "expired", "revoked", "garbage"])
def test_a_link_that_is_not_valid_shows_that_and_nothing_else(runs: Runs, spoil: str) -> None:
    state = GalleryState(view="run", run=runs["table"])
    if spoil == "expired":
        token = signed.create_link(state, LOCAL, "1d", now=utcnow() - timedelta(days=2)).token
    else:
        token = links.create_link(state)[0].token
    if spoil == "tampered":
        middle = len(token) // 2
        token = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    elif spoil == "revoked":
        links.revoke_link(signed.open_link(token).link_id)
    elif spoil == "garbage":
        token = "x"
    assert_not_valid(open_share(token))


def test_copy_link_makes_a_signed_link_and_admin_revokes_it(runs: Runs) -> None:
    app = AppTest.from_file(APP, default_timeout=120)
    app.context["url"] = f"{BASE}/gallery"
    app.query_params["view"], app.query_params["run"] = "run", runs["table"]
    app.switch_page("pages/gallery.py")
    app.run()
    assert [c.value for c in app.code if "share=" in c.value] == []  # opening the popover makes no link
    (expires,) = [t for t in app.text_input if t.label == "Share outside the studio, for"]
    assert expires.value == "30d"
    expires.set_value("7d")
    next(b for b in app.button if b.label == "Make a share link").click()
    app.run()
    (url,) = [c.value for c in app.code if "?share=" in c.value]
    assert url.startswith(f"{BASE}/?share=") and runs["table"] not in url
    assert any("until" in c.value for c in app.caption)
    token = url.partition("share=")[2]
    assert open_share(token).title[0].value == "A training run"
    (made,) = links.list_links()
    assert made.expires_at - made.created_at == timedelta(days=7) and made.created_by_name == "local user"

    def admin() -> None:
        from components.share_links_admin import render

        render()

    panel = AppTest.from_function(admin, default_timeout=60)
    panel.run()
    assert f"run {runs['table']}" in everything_said(panel)
    next(b for b in panel.button if b.label == "Revoke").click()
    panel.run()
    assert not [b for b in panel.button if b.label == "Revoke"]
    assert links.list_links()[0].state == "revoked"
    assert_not_valid(open_share(token))


def test_the_runs_grid_offers_no_share_link(runs: Runs) -> None:
    app = AppTest.from_file(APP, default_timeout=120)
    app.context["url"] = f"{BASE}/gallery"
    app.switch_page("pages/gallery.py")
    app.run()
    assert not [b for b in app.button if b.label == "Make a share link"]
    assert [c.value for c in app.code if c.value.startswith(BASE)]  # the in-studio link stays
