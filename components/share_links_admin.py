"""Share links for the Admin page: every link with what it opens, who made it and until when, and a
Revoke button on each one that still opens. ``render()`` draws the section."""

from __future__ import annotations

import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services.links import ShareLinkInfo, list_links, revoke_link
from components.text import plain

STATE_BADGES = {"active": "green", "expired": "gray", "revoked": "red"}


def render() -> None:
    st.subheader("Share links", anchor=False)
    st.caption(
        "Each link opens one view read only for anyone who has it, without an account, until it expires. "
        "Revoke one to stop it now; whoever opens it then sees “This link is not valid”."
    )
    found = list_links()
    if not found:
        st.info("No share links yet: **Copy link** → **Make a share link** on a run, comparison, model, "
                "Try result or drift check makes one.", icon=":material/link:")  # fmt: skip
        return
    for link in found:
        _row(link)


def _row(link: ShareLinkInfo) -> None:
    with st.container(border=True):
        what, state, action = st.columns([5, 1, 1], vertical_alignment="center")
        what.markdown(f"**{plain(link.what)}**")
        until = (
            f"{'expired' if link.state == 'expired' else 'opens until'} {link.expires_at:%Y-%m-%d %H:%M} UTC"
        )
        revoked = f" · revoked {link.revoked_at:%Y-%m-%d %H:%M} UTC" if link.revoked_at else ""
        what.caption(
            f"#{link.id} · made by {plain(link.created_by_name)} on {link.created_at:%Y-%m-%d %H:%M} UTC · "
            f"{until}{revoked}"
        )
        state.badge(link.state, color=STATE_BADGES[link.state])
        if link.state == "active" and action.button(
            "Revoke", key=f"share_link_revoke_{link.id}", icon=":material/link_off:"
        ):
            try:
                revoke_link(link.id)
            except CanvasCraftError as error:
                st.error(plain(error), icon=":material/error:")
            else:
                st.rerun()
