"""The DiffusionBrush panel: add a generator's pictures to a new version of the shown image dataset."""

from __future__ import annotations

import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services.datasets import MAX_PER_LABEL, add_generated
from canvascraft.services.gallery import registered_generators
from components.text import plain

RESULT_KEY = "data_last_augment"


def diffusion_brush_form(dataset: str) -> None:
    """A form naming a generator and how many pictures per label; the result stays shown after rerun."""
    st.markdown("**DiffusionBrush** · add generated pictures to a new version")
    st.caption(
        "Generated items are marked with their generator and seed, always train and never validate, "
        "so runs on the new version validate on the same items as before."
    )
    with st.form("data_augment", border=True):
        choices = registered_generators()
        generator = st.selectbox(
            "Generator", choices, index=0 if choices else None, accept_new_options=True,
            placeholder="MODEL@ALIAS or an image-flow run id",
            help="A registered generator, or type the id of a finished image-flow run.",
        ) or ""  # fmt: skip
        count_col, seed_col, steps_col = st.columns(3)
        per_label = count_col.number_input("Pictures per label", 1, MAX_PER_LABEL, 20)
        seed = seed_col.number_input("First seed", 0, 2**31 - 1, 0)
        steps = steps_col.number_input("Sampling steps", 1, 500, 20)
        submitted = st.form_submit_button("Add generated pictures", icon=":material/brush:")
    if submitted:
        if not generator.strip():
            st.warning("Name a generator first (a registered MODEL@ALIAS or an image-flow run id).")
        else:
            try:
                with st.spinner("Generating…"):
                    report = add_generated(
                        dataset, generator.strip(), int(per_label), seed=int(seed), steps=int(steps)
                    )
                st.session_state[RESULT_KEY] = ("ok", report)
            except CanvasCraftError as error:
                st.session_state[RESULT_KEY] = ("error", error)
    result = st.session_state.get(RESULT_KEY)
    if result is None:
        return
    kind, value = result
    if kind == "ok":
        counts = ", ".join(f"{plain(label)} {n}" for label, n in value.per_label.items())
        st.success(
            f"Added {value.added} generated picture(s) to **{plain(value.dataset)}** version "
            f"{value.version} (from v{value.from_version}): {counts}; {value.item_count} items."
        )
    else:
        st.error(plain(value))
