"""May the acting person do this: the one check a page makes before drawing an action's button or
form. The services refuse anyway (``RoleTooLow``); this keeps a viewer from meeting buttons that
would only say no."""

from __future__ import annotations

import streamlit as st

from canvascraft.services.people import allows


def may(role: str) -> bool:
    """Whether the acting person's role covers ``role`` (``artist``, ``admin``), saying nothing."""
    return allows(role)


def needs(role: str, what: str) -> bool:
    """True when the acting person may; otherwise one caption in place of the action (``what``, such
    as "Importing files") saying the role it needs, and False."""
    if allows(role):
        return True
    st.caption(f":material/lock: {what} needs the {role} role.")
    return False
