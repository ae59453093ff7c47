"""The frame with a login (AppTest seeds ``st.user`` and the ``[auth]`` secrets): the sign-in screen,
the signed-in person acting, the Admin page for admins only, and an admin setting a role there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from canvascraft.config import get_settings
from canvascraft.services import people
from canvascraft.services.audit import list_audit
from tests.auth.test_roles import AUTH

APP = str(Path(__file__).resolve().parent.parent / "app.py")
ADMIN_PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "admin.py")
GRACE = {"is_logged_in": True, "sub": "grace", "name": "Grace Hopper", "groups": ["studio-admins"]}
VIC = {"is_logged_in": True, "sub": "vic", "name": "Vic Viewer", "email": "vic@example.org", "groups": []}


@pytest.fixture
def login(sample_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CANVASCRAFT_ROLE_MAP", "studio-admins=admin,artists=artist")
    get_settings.cache_clear()
    yield sample_workspace
    people.set_person_lookup(None)


def studio(user: dict[str, Any], page: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.secrets["auth"] = AUTH
    app.user = user
    app.run()
    if page is not None:
        app.switch_page(page).run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def test_a_visitor_who_has_not_signed_in_sees_the_sign_in_screen_only(login: Path) -> None:
    app = studio({"is_logged_in": False})
    assert [b.label for b in app.button] == ["Sign in"]
    assert not app.metric and not app.sidebar.markdown  # nothing of the studio: no page ran


def test_a_viewer_sees_their_name_and_role_and_no_admin_page(login: Path) -> None:
    app = studio(VIC)
    assert "**Vic Viewer** · viewer" in [m.value for m in app.sidebar.markdown]
    assert "Log out" in [b.label for b in app.sidebar.button]
    assert [m.label for m in app.metric][:1] == ["Datasets"]
    with pytest.raises(ValueError, match="registered"):
        app.switch_page("pages/admin.py")


def test_an_admin_sets_a_persons_role_on_the_admin_page(login: Path) -> None:
    people.signed_in({k: v for k, v in VIC.items() if k != "is_logged_in"})
    app = studio(GRACE, "pages/admin.py")
    assert app.title[0].value == "Admin"
    assert [s.value for s in app.subheader] == ["People", "Share links", "Audit log"]
    app.selectbox(key="role_person").select("vic").run()
    app.radio(key="role_of_vic").set_value("artist").run()
    app.button(key="save_role").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert [s.value for s in app.success] == ["Vic Viewer is now artist, from their next page on."]
    roles = {p.subject: (p.role, p.set_role) for p in people.list_people()}
    assert roles == {"vic": ("artist", "artist"), "grace": ("admin", None)}
    (change,) = list_audit(action="person.role")  # the audit log names who changed whose role
    assert (change.subject, change.target) == ("grace", "vic")
    # Vic's next page acts with the role the admin set, whatever their groups say.
    assert "**Vic Viewer** · artist" in [m.value for m in studio(VIC).sidebar.markdown]


def test_the_admin_page_refuses_anyone_but_an_admin(login: Path) -> None:
    def admin_page_as_viewer(page: str) -> None:
        import runpy

        from canvascraft.services.people import Person, acting_as

        with acting_as(Person(subject="vic", name="Vic", role="viewer")):
            runpy.run_path(page)

    page = AppTest.from_function(admin_page_as_viewer, args=(ADMIN_PAGE,), default_timeout=60).run()
    assert [e.value for e in page.error] == ["This page is for the studio's admins."]
    assert not page.subheader


def test_a_callback_outside_the_frame_acts_for_the_sessions_person(login: Path) -> None:
    """Callbacks and fragment reruns run without the frame's ``acting_as``: they find the session's
    person through the lookup the frame registers, never the local admin."""

    def viewer_clicks() -> None:
        import streamlit as st

        from canvascraft.errors import RoleTooLow
        from canvascraft.services import people
        from components.signin import PERSON_KEY, session_person

        people.set_person_lookup(session_person)
        st.session_state[PERSON_KEY] = people.Person(subject="vic", name="Vic", role="viewer")

        def promote() -> None:
            try:
                people.set_role("vic", "admin")
            except RoleTooLow as refused:
                st.session_state["said"] = str(refused)

        st.button("Promote", on_click=promote)
        st.write(st.session_state.get("said", ""))

    app = AppTest.from_function(viewer_clicks, default_timeout=60).run()
    app.button[0].click().run()
    assert "Vic is a viewer and cannot set people's roles" in app.markdown[0].value
