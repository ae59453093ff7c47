"""The Admin page's People section: who signed in, the role their groups give, and the role an admin
sets (which wins)."""

from __future__ import annotations

import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services import people
from components.text import plain

FROM_CLAIM = "from their groups"
"""The role choice that clears an admin's role: the provider's claim decides again."""
SAVED_KEY = "role_saved"
REFUSED_KEY = "role_refused"


def people_section() -> None:
    st.subheader("People")
    everyone = people.list_people()
    if not everyone:
        st.info("Nobody has signed in yet. People appear here after their first sign-in.")
        return
    rows = [
        {"Name": p.name, "Email": p.email or "", "Role": p.role, "From groups": p.claim_role,
         "Set by an admin": p.set_role or "", "Last seen (UTC)": f"{p.last_seen:%Y-%m-%d %H:%M}",
         "Subject": p.subject}
        for p in everyone
    ]  # fmt: skip
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
    )
    by_subject = {p.subject: p for p in everyone}
    subject = st.selectbox(
        "Person", list(by_subject), format_func=lambda s: f"{by_subject[s].name} ({s})", key="role_person"
    )
    choices = [FROM_CLAIM, *people.ROLES]
    role = st.radio("Role", choices, index=choices.index(by_subject[subject].set_role or FROM_CLAIM),
                    horizontal=True, key=f"role_of_{subject}")  # fmt: skip
    st.button("Save role", type="primary", key="save_role", on_click=_save_role,
              args=(subject, None if role == FROM_CLAIM else role))  # fmt: skip
    if saved := st.session_state.pop(SAVED_KEY, None):
        st.success(saved)
    if refused := st.session_state.pop(REFUSED_KEY, None):
        st.error(refused)


def _save_role(subject: str, role: str | None) -> None:
    """Before the rerun draws the table, so it shows the new role."""
    try:
        saved = people.set_role(subject, role)
    except CanvasCraftError as error:
        st.session_state[REFUSED_KEY] = plain(error)
    else:
        st.session_state[SAVED_KEY] = f"{plain(saved.name)} is now {saved.role}, from their next page on."
