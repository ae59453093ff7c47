"""The Admin page's **Audit log** section: every change with who made it and when, filterable by
action and person, newest first. Admins only; anyone else sees one line saying so."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from canvascraft.services.audit import audit_actions, list_audit
from components.roles import needs

EVERY_ACTION = "every action"
LIMITS = (50, 200, 1000)


def render() -> None:
    """The filter row and the table."""
    st.subheader("Audit log", anchor=False)
    if not needs("admin", "The audit log"):
        return
    actions = audit_actions()
    groups = sorted({a.split(".")[0] + "." for a in actions if "." in a})
    left, middle, right = st.columns([2, 2, 1], vertical_alignment="bottom")
    action = left.selectbox(
        "Action", [EVERY_ACTION, *groups, *actions], key="audit_action",
        format_func=lambda a: f"{a}*" if a.endswith(".") else a,
        help="One action, or a group: model.* is every change to the model registry.",
    )  # fmt: skip
    who = middle.text_input("Who", key="audit_who", placeholder="a name or subject")
    limit = right.selectbox("Show", LIMITS, key="audit_limit", format_func=lambda n: f"latest {n}")
    entries = list_audit(action=None if action == EVERY_ACTION else action, who=who, limit=limit)
    if not entries:
        st.caption("No changes recorded" + ("" if action == EVERY_ACTION else f" for {action}") + " yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {"when": e.at, "who": e.name, "role": e.role, "action": e.action, "target": e.target}
                for e in entries
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={"when": st.column_config.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm:ss")},
        key="audit_table",
    )
