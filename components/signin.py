"""The frame's part of logins: the sign-in screen, the signed-in person, their name in the sidebar.

Without an ``[auth]`` section in Streamlit's secrets the studio is the embedded default: no login, and
everyone is the local admin. With one, a visitor who has not signed in sees only the sign-in screen
(the run stops before the navigation exists, so no page, link or widget of the studio is reachable);
after ``st.login`` the person comes from ``st.user``'s claims through ``services.people.signed_in``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from canvascraft.services import people
from components.text import plain

PERSON_KEY = "canvascraft_person"
"""The session's person, for the work that runs outside the frame's ``acting_as`` (fragment reruns)."""


def auth_section() -> Mapping[str, Any]:
    """Streamlit's ``[auth]`` secrets section ({} when there are no secrets or no such section)."""
    if not st.secrets.load_if_toml_exists():
        return {}
    section = st.secrets.get("auth")
    return dict(section) if section else {}


def session_person() -> people.Person | None:
    """The person this script thread's session signed in as (None outside a page run)."""
    if get_script_run_ctx() is None:
        return None
    return st.session_state.get(PERSON_KEY)


def signed_in_person() -> people.Person:
    """The person this run acts for; shows the sign-in screen and stops the run when the studio has a
    login and nobody has signed in."""
    if not people.login_setup(auth_section()).configured:
        return people.LOCAL
    people.set_person_lookup(session_person)
    if not st.user.get("is_logged_in"):
        st.session_state[PERSON_KEY] = people.SIGNED_OUT
        sign_in_screen()
        st.stop()
    person = people.signed_in(st.user.to_dict())
    st.session_state[PERSON_KEY] = person
    return person


def sign_in_screen() -> None:
    """A plain screen: the studio's name, one button."""
    _, middle, _ = st.columns([1, 2, 1])
    with middle, st.container(border=True):
        st.title("CanvasCraft ML Studio")
        st.markdown("This studio is shared: sign in with your organisation's account to continue.")
        if st.button("Sign in", type="primary", icon=":material/login:"):
            st.login()
        st.caption("Your role (viewer, artist or admin) comes from your groups; an admin can change it.")


def person_box(person: people.Person) -> None:
    """The signed-in person's name and role in the sidebar, with Log out (nothing for the local user)."""
    if person.subject == people.LOCAL.subject:
        return
    with st.sidebar:
        st.markdown(f"**{plain(person.name)}** · {person.role}")
        if person.email and person.email != person.name:
            st.caption(plain(person.email))
        if st.button("Log out", icon=":material/logout:", key="log_out"):
            st.logout()
