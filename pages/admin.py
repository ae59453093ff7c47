"""Admin: what only admins change, one section each. Listed in the navigation for admins only; every
action is refused by its service for anyone else anyway."""

from __future__ import annotations

import streamlit as st

from canvascraft.services.people import current_person
from components import audit_log, share_links_admin
from components.people_admin import people_section

st.title("Admin")
if not current_person().allows("admin"):
    st.error("This page is for the studio's admins.")
    st.stop()
people_section()
share_links_admin.render()
audit_log.render()
