"""CanvasCraft ML Studio: the router and frame. Pages live in ``pages/``, logic in ``canvascraft/``."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from canvascraft.services.people import acting_as
from canvascraft.services.workspace import prepare, start_background, workspace_path
from components.signin import person_box, signed_in_person

# A file of our own: a ``:material/…:`` page icon makes the browser fetch its picture from Google's font
# servers, and the studio sends no traffic beyond the machine it is served from.
ICON = Path(__file__).parent / "components" / "assets" / "studio-icon.png"
st.set_page_config(page_title="CanvasCraft ML Studio", page_icon=str(ICON), layout="wide")


@st.cache_resource(show_spinner="Preparing the workspace (first start imports the sample data)…")
def prepared_workspace(workspace: str) -> str:
    """Migrations and first-run sample data, once per workspace per server process."""
    prepare()
    return workspace


@st.cache_resource
def background(workspace: str) -> object:
    """The scheduler that moves the job queue on, once per server process, outliving every session."""
    return start_background()


prepared_workspace(workspace_path())
background(workspace_path())

# A share link (``/?share=TOKEN``) opens its one view read only, before any sign-in and with no way
# into the rest of the studio: this branch draws it (or "This link is not valid") and ends the run.
if "share" in st.query_params:
    from components.shared_view import render as render_shared_view

    render_shared_view(st.query_params["share"])
    st.stop()

# With a login configured, a visitor who has not signed in sees the sign-in screen and nothing else.
person = signed_in_person()
with acting_as(person):
    person_box(person)
    pages = [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True, url_path="home"),
        st.Page("pages/data.py", title="Data", icon=":material/photo_library:", url_path="data"),
        st.Page("pages/brushes.py", title="Brushes", icon=":material/brush:", url_path="brushes"),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
        st.Page("pages/gallery.py", title="Gallery", icon=":material/collections:", url_path="gallery"),
        st.Page("pages/drift.py", title="Drift", icon=":material/monitoring:", url_path="drift"),
    ]
    if person.allows("admin"):
        pages.append(
            st.Page("pages/admin.py", title="Admin", icon=":material/admin_panel_settings:", url_path="admin")
        )
    st.navigation(pages).run()
