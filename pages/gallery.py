"""Gallery: every run, checkpoint and model; compare runs, register models, try them; share any view."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from canvascraft.share.links import GalleryState, parse
from components.gallery_compare import compare_view
from components.gallery_models import models_view, try_view
from components.gallery_runs import run_view, runs_grid
from components.view_nav import clear_notices, go, notify, share_box, show_notices

SECTIONS = {"Runs": "runs", "Models": "models", "Try a model": "try"}

st.title("Gallery")
state = parse(st.query_params.to_dict())
if state.view == "runs" and state.model is not None:
    state = replace(state, view="models")  # a hand-made link naming a model means that model's page
for problem in state.problems:
    notify(f"This link was changed or is out of date: {problem}.")
show_notices()

section = next(
    label
    for label, view in SECTIONS.items()
    if view == {"run": "runs", "compare": "runs"}.get(state.view, state.view)
)
nav, share = st.columns([5, 1], vertical_alignment="center")
picked = nav.segmented_control("Section", list(SECTIONS), default=section, label_visibility="collapsed")
with share:
    share_box(state)
if picked is not None and picked != section:
    go(GalleryState(view=SECTIONS[picked]))

if state.view == "run":
    run_view(state)
elif state.view == "compare":
    compare_view(state)
elif state.view == "models":
    models_view(state)
elif state.view == "try":
    try_view(state)
else:
    runs_grid(state)
clear_notices()  # reached only when no view moved on to another URL: the messages were seen
