"""What a share link (``/?share=TOKEN``) opens: its one view, read only, for someone without an account.

The frame calls :func:`render` before any sign-in and stops after it, so no page of the studio, no
sidebar and no navigation is reachable from here: the only page is this one, hidden. The view is drawn
by the Gallery's and Drift's own components in their ``shared`` form (no actions, no way to another
run), from the state the signed link carries; other query parameters in the address are ignored. A
tampered, expired or revoked link gets one plain sentence and nothing else.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import streamlit as st

from canvascraft.errors import CanvasCraftError, LinkNotValid
from canvascraft.services.drift import get_check
from canvascraft.services.links import NOT_VALID_HELP, NOT_VALID_TITLE, open_link, visitor
from canvascraft.services.people import acting_as
from canvascraft.share.links import DriftState
from components.drift_check_view import check_view, download_report, verdict_block
from components.gallery_compare import compare_view
from components.gallery_models import models_view, try_view
from components.gallery_runs import run_view
from components.text import plain

PATH_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TITLES = {"run": "A training run", "compare": "A comparison of runs", "model": "A model",
          "try": "A model's guesses", "drift": "A drift check"}  # fmt: skip


def render(token: str) -> None:
    """The link's view on the studio's one hidden page (so the sidebar lists no other page)."""

    def shared_view() -> None:
        _show(token)

    pages = [st.Page(shared_view, title="Shared view", default=True)]
    # Opened on a page's address (``/gallery?share=…``): the same view at that path too, so Streamlit
    # shows it there instead of a "page not found" notice over it.
    here = urlsplit(st.context.url or "").path.rstrip("/").rpartition("/")[2]
    if PATH_SEGMENT.match(here):
        pages.append(st.Page(shared_view, title="Shared view", url_path=here))
    st.navigation(pages, position="hidden").run()


def _show(token: str) -> None:
    try:
        shared = open_link(token)
    except LinkNotValid:
        st.title(NOT_VALID_TITLE)
        st.markdown(NOT_VALID_HELP)
        return
    with acting_as(visitor(shared)):
        st.title(TITLES[shared.view])
        st.caption(
            f"Shared with you read only · this link opens until {shared.expires_at:%Y-%m-%d %H:%M} UTC"
        )
        state = shared.state
        if isinstance(state, DriftState):
            _drift(state)
        elif shared.view == "run":
            run_view(state, shared=True)
        elif shared.view == "compare":
            compare_view(state, shared=True)
        elif shared.view == "model":
            models_view(state, shared=True)
        else:
            try_view(state, shared=True)


def _drift(state: DriftState) -> None:
    assert state.check is not None
    try:
        detail = get_check(state.check)
    except CanvasCraftError as error:
        st.error(f"This check cannot be shown: {plain(error)}.", icon=":material/error:")
        return
    if state.model is not None and detail.summary.model_name != state.model:
        st.error(f"This check cannot be shown: it is not a check of {plain(state.model)}.")
        return
    verdict_block(detail, latest=False)
    download_report(detail.summary.id)
    check_view(detail, state, shared=True)
