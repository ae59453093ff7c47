"""Moving between views of a page whose URL is its state (Gallery, Drift): every move goes through the
query string, so every view is a share link."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services.links import can_make_links, create_link, default_expiry, scoped
from canvascraft.services.workspace import studio_link_base
from canvascraft.share.links import DriftState, GalleryState, link, to_params
from components.text import plain

NOTICES = "view_notices"
FLASH = "view_flash"


PAGE_FILES = {GalleryState: "pages/gallery.py", DriftState: "pages/drift.py"}


def follow(state: GalleryState | DriftState) -> None:
    """A button's ``on_click``: write ``state`` to the URL in one go; the rerun the click makes anyway
    shows it. (A rerun asked for from the callback ended that run before the new query reached the
    browser: opening a run left ``/gallery`` in the address bar.)"""
    st.query_params.from_dict(to_params(state))


def go(state: GalleryState | DriftState, notice: str | None = None) -> None:
    """Show ``state`` from the page's body: ``st.switch_page`` to the same page with the state's
    query, Streamlit's own move that lets the new query reach the browser before it reruns (a plain
    rerun could drop it, and the Models tab kept ``?view=compare…``). ``notice`` is shown on the
    next run, so a message about a link that was replaced (a model that is gone) is not lost."""
    if notice:
        notify(notice)
    st.switch_page(PAGE_FILES[type(state)], query_params=to_params(state))


def name_in_url(state: GalleryState | DriftState) -> None:
    """Put a default the view picked (the first model) into the URL without a rerun, so a reload or
    a bookmark reopens what is on screen even after something that sorts first is added."""
    params = to_params(state)
    if params != st.query_params.to_dict():
        st.query_params.from_dict(params)


def index_from_link(param: str, options: Sequence[object], parse: Callable[[str], object] = str) -> int:
    """The option the link names (its index), else the first, for a picker whose key is ``param``: a
    widget bound to the query leaves its default out of the URL, so ``/data`` would reopen whichever
    dataset sorts first after the next import. Once the picker has a value of its own (a choice, or
    what an action opened) that value wins, and an index beside it would only draw Streamlit's warning
    about a value set two ways. The page writes what is on screen back with ``st.query_params``."""
    if param in st.session_state:
        return 0
    try:
        return options.index(parse(st.query_params[param]))
    except (KeyError, ValueError):
        return 0


def share_box(state: GalleryState | DriftState) -> None:
    """The view's link, with a copy button: it carries ids and filter values, never paths."""
    seen = None
    if st.context.url:
        address = urlsplit(st.context.url)
        # Everything before the page's own path segment, so a studio served under a prefix keeps it.
        seen = f"{address.scheme}://{address.netloc}{address.path.rpartition('/')[0]}"
    base = studio_link_base(seen)
    with st.popover("Copy link", icon=":material/link:"):
        st.caption("Anyone with access to this studio opens exactly this view with it.")
        st.code(link(base, state), language=None, wrap_lines=True)
        _signed_link(state, base)


def _signed_link(state: GalleryState | DriftState, base: str) -> None:
    """A signed link for someone without an account: this one view, read only, until it expires or is
    revoked (Admin → Share links, or ``canvascraft link revoke``). Made only when asked, so merely
    opening the popover leaves no link behind."""
    try:
        view, _ = scoped(state)
    except CanvasCraftError:
        return  # the grid with filters, a list: shared inside the studio only
    if not can_make_links():
        return
    made_key = f"share_link_{view}_{sorted(to_params(state).items())}"
    with st.form(f"{made_key}_form", border=False):
        expires = st.text_input(
            "Share outside the studio, for", value=default_expiry(),
            help="How long the link opens: 7d, 12h or 90m. Revoke it sooner in Admin → Share links.",
        )  # fmt: skip
        if st.form_submit_button("Make a share link", icon=":material/share:"):
            try:
                made, url = create_link(state, expires.strip(), base_url=base)
            except CanvasCraftError as error:
                st.error(plain(error), icon=":material/error:")
            else:
                st.session_state[made_key] = (url, made.info.id, made.info.expires_at)
    if made_key in st.session_state:
        url, link_id, expires_at = st.session_state[made_key]
        st.caption(
            f"Share link {link_id}: opens this view read only for anyone who has it, without an account, "
            f"until {expires_at:%Y-%m-%d %H:%M} UTC."
        )
        st.code(url, language=None, wrap_lines=True)


def notify(notice: str) -> None:
    """Keep a message about the link until a run of the page completes: a view that rewrites the URL
    on its first run (picking a default model or item) reruns before the user could read it."""
    notices: list[str] = st.session_state.setdefault(NOTICES, [])
    if notice not in notices:
        notices.append(notice)


def show_notices() -> None:
    """The messages kept by ``notify`` and a confirmation left by ``flash``; ``clear_notices`` ends the
    notices' life when the page run completes."""
    for notice in st.session_state.get(NOTICES, []):
        st.warning(plain(notice), icon=":material/link_off:")
    if FLASH in st.session_state:
        st.success(st.session_state.pop(FLASH), icon=":material/check_circle:")


def clear_notices() -> None:
    st.session_state.pop(NOTICES, None)


def flash(message: str) -> None:
    """A confirmation shown once on the next run (after an action that moves the URL on)."""
    st.session_state[FLASH] = message
