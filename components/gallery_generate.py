"""A generative model in the Gallery: its samples epoch by epoch, and Try as generate (new pictures by
label and seed, downloaded as PNGs or a zip) and walks between two seeds (a GIF and a strip).

``ref`` is what the model is reached by: a run id on a run's page, ``NAME/VERSION`` on Try.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services.gallery import (
    QUALITY_NOTE,
    Picture,
    epoch_samples,
    generate,
    generator_labels,
    pictures_zip,
    quality_figures,
    walk,
)
from components.roles import needs
from components.text import plain

EVERY_LABEL = "(each label in turn)"
COLUMNS = 8


def quality_table(metrics: dict[str, float]) -> None:
    """The finished model's quality figures, each with its floor and what it says."""
    figures = quality_figures(metrics)
    if not figures:
        st.caption("No quality figures: the run ended before its model was measured.")
        return
    st.markdown(f"**Quality of the best model** · {QUALITY_NOTE}")
    st.dataframe(
        pd.DataFrame(
            [{"figure": f"{f.label} {'↓' if f.better == 'lower' else '↑'}", "value": f.shown(),
              "floor": "—" if f.floor is None else f.shown(f.floor), "what it says": f.meaning}
             for f in figures]
        ),
        hide_index=True,
        column_config={"what it says": st.column_config.TextColumn(width="large")},
    )  # fmt: skip
    st.caption("↓ lower is better, ↑ higher is better; the floor is two halves of the real pictures.")


def samples_by_epoch(run_id: str) -> None:
    """The run's samples at the epochs it kept, one at a time on a slider (the last one first)."""
    shown = dict(epoch_samples(run_id))
    if not shown:
        st.info("This run kept no samples (it ended before its first epoch).", icon=":material/info:")
        return
    epochs = sorted(shown)
    st.markdown("**Samples by epoch** · the same noise every epoch: one row per label, one column per seed")
    epoch = epochs[-1]
    if len(epochs) > 1:
        epoch = st.select_slider("epoch", epochs, value=epochs[-1], key=f"gallery_samples_{run_id}")
    st.image(shown[epoch], caption=f"epoch {epoch} of {epochs[-1]}", width=480)


@st.cache_data(max_entries=16, show_spinner="Generating…")
def _generated(ref: str, n: int, label: str | None, seed: int, steps: int, guidance: float) -> list[Picture]:
    return generate(ref, n=n, label=label, seed=seed, steps=steps, guidance=guidance)


@st.cache_data(max_entries=8, show_spinner="Walking…")
def _walked(
    ref: str, label: str | None, start: int, end: int, frames: int, steps: int
) -> tuple[bytes, bytes]:
    return walk(ref, label=label, start=start, end=end, frames=frames, steps=steps)


def generate_view(ref: str, key: str) -> None:
    """Generate pictures and walks with the generator behind ``ref``; ``key`` keeps widgets apart."""
    if not needs("artist", "Generating"):
        return
    try:
        labels = generator_labels(ref)
    except CanvasCraftError as error:
        st.error(plain(error), icon=":material/error:")
        return
    st.caption(
        f"A generator: it makes new pictures of {', '.join(map(plain, labels))}." if labels
        else "A generator trained without labels."
    )  # fmt: skip
    with st.form(f"{key}_generate", border=False):
        top = st.columns([2, 1, 1], vertical_alignment="bottom")
        label = top[0].selectbox(
            "label", [EVERY_LABEL, *labels] if labels else [EVERY_LABEL], format_func=plain,
            help="Pictures of this label; guidance says how strongly they follow it.",
        )  # fmt: skip
        seed = top[1].number_input(
            "first seed", 0, 2**32 - 1, 0, help="The same seed makes the same picture."
        )
        n = top[2].number_input("pictures", 1, 64, 16)
        bottom = st.columns(2)
        steps = bottom[0].slider("sampling steps", 1, 100, 20, help="More steps: finer pictures, slower.")
        guidance = bottom[1].slider(
            "guidance", 0.0, 8.0, 2.0, 0.5, help="1 turns it off; higher follows the label more strictly."
        )
        submitted = st.form_submit_button("Generate", type="primary", icon=":material/auto_awesome:")
    chosen = None if label == EVERY_LABEL else label
    if submitted:
        st.session_state[f"{key}_asked"] = (chosen, int(seed), int(n), int(steps), float(guidance))
    asked = st.session_state.get(f"{key}_asked")
    if asked is not None:
        _show_pictures(ref, key, *asked)
    with st.expander("Walk between two seeds", icon=":material/animation:"):
        _walk_form(ref, key, labels)


def _show_pictures(
    ref: str, key: str, label: str | None, seed: int, n: int, steps: int, guidance: float
) -> None:
    try:
        pictures = _generated(ref, n, label, seed, steps, guidance)
    except CanvasCraftError as error:
        st.error(plain(error), icon=":material/error:")
        return
    for start in range(0, len(pictures), COLUMNS):
        row = st.columns(COLUMNS)
        for column, picture in zip(row, pictures[start : start + COLUMNS], strict=False):
            column.image(picture.png, caption=plain(picture.file_name), width="stretch")
    st.download_button(
        f"Download {len(pictures)} PNG(s) as a zip", pictures_zip(pictures), file_name="generated.zip",
        mime="application/zip", icon=":material/download:", key=f"{key}_zip",
    )  # fmt: skip


def _walk_form(ref: str, key: str, labels: list[str]) -> None:
    with st.form(f"{key}_walk", border=False):
        columns = st.columns(4, vertical_alignment="bottom")
        label = columns[0].selectbox(
            "label", ["(no label)", *labels], format_func=plain, key=f"{key}_walk_label"
        )
        start = columns[1].number_input("from seed", 0, 2**32 - 1, 0, key=f"{key}_walk_from")
        end = columns[2].number_input("to seed", 0, 2**32 - 1, 1, key=f"{key}_walk_to")
        frames = columns[3].number_input("frames", 2, 64, 12, key=f"{key}_walk_frames")
        submitted = st.form_submit_button("Walk", icon=":material/animation:")
    if submitted:
        chosen = None if label == "(no label)" else label
        st.session_state[f"{key}_walked"] = (chosen, int(start), int(end), int(frames))
    asked = st.session_state.get(f"{key}_walked")
    if asked is None:
        st.caption("A walk morphs one seed's picture into another's through the noise between them.")
        return
    chosen, start, end, frames = asked
    try:
        gif, strip = _walked(ref, chosen, start, end, frames, 20)
    except CanvasCraftError as error:
        st.error(plain(error), icon=":material/error:")
        return
    left, right = st.columns([1, 3])
    left.image(gif, caption=f"seed {start} → {end}", width="stretch")
    right.image(strip, caption="every frame", width="stretch")
    buttons = st.columns(2)
    buttons[0].download_button(
        "Download the GIF", gif, file_name=f"walk-{start}-{end}.gif", mime="image/gif", key=f"{key}_gif"
    )
    buttons[1].download_button(
        "Download the strip", strip, file_name=f"walk-{start}-{end}.png", mime="image/png", key=f"{key}_strip"
    )
