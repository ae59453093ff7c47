"""Moving between Drift views: the URL (``?model=&check=&feature=``) is the state, as in the Gallery."""

from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st

from canvascraft.share.links import DriftState, link, to_params

NOTICES = "drift_notices"
FLASH = "drift_flash"


def go(state: DriftState, notice: str | None = None) -> None:
    """Show ``state``: write it to the URL and rerun; ``notice`` is shown on the next run."""
    if notice:
        notify(notice)
    st.query_params.clear()
    st.query_params.update(to_params(state))
    st.rerun()


def share_box(state: DriftState) -> None:
    """The view's link with a copy button: a model name and a check id, never a path."""
    address = urlsplit(st.context.url or "http://localhost:8501/drift")
    base = f"{address.scheme}://{address.netloc}{address.path.rpartition('/')[0]}"
    with st.popover("Copy link", icon=":material/link:"):
        st.caption("Anyone with access to this studio opens exactly this check with it.")
        st.code(link(base, state), language=None, wrap_lines=True)


def notify(notice: str) -> None:
    """A warning about the link, kept until a page run completes (see ``components.gallery_nav``)."""
    notices: list[str] = st.session_state.setdefault(NOTICES, [])
    if notice not in notices:
        notices.append(notice)


def show_notices() -> None:
    for notice in st.session_state.get(NOTICES, []):
        st.warning(notice, icon=":material/link_off:")
    if FLASH in st.session_state:
        st.success(st.session_state.pop(FLASH), icon=":material/check_circle:")


def clear_notices() -> None:
    st.session_state.pop(NOTICES, None)


def flash(message: str) -> None:
    """A confirmation shown once on the next run (after an action that moves the URL on)."""
    st.session_state[FLASH] = message
