"""The tune form: what to search and over what ranges, the sampler, the budget, then one button.

The search space is one editable table (a row per hyperparameter or brush parameter the recipe and trainer
offer, with the defaults from their declared bounds) rather than a widget per parameter: an image recipe
offers dozens, and a table keeps them comparable at a glance. The service checks the edited space whole
and names every bad range, so the form only turns cells back into values.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from canvascraft.errors import CanvasCraftError, TrainingError
from canvascraft.services.tuning import (
    MAX_PARALLEL,
    MAX_TRIALS,
    SAMPLERS,
    TRIAL_EPOCHS,
    SearchParam,
    search_candidates,
    start_study,
    tuning_metrics,
)
from components.params import param_widget, seed_param
from components.text import plain
from components.train_form import pick_setup

PREFIX = "train_tune_"
SPACE_HELP = (
    "Tick what the study varies and set each range. `hyper.*` are the trainer's hyperparameters; "
    "`brush.<step>.<brush>.<param>` is a setting of the recipe's step `<step>` (counted from 0). A range may "
    "widen up to the bounds shown; for a choice, list the values to try, separated by commas."
)
SAMPLER_HELP = "  \n".join(
    f"**{label.split(':')[0]}**:{label.split(':', 1)[1]}" for label in SAMPLERS.values()
)


def tune_form() -> str | None:
    """Draw the form; returns the new study's name when the user started one."""
    setup = pick_setup(PREFIX)
    if setup is None:
        return None
    trainer = setup.trainer
    try:
        candidates = search_candidates(setup.recipe, trainer.name)
    except CanvasCraftError as error:
        st.error(plain(error), icon=":material/error:")
        return None
    st.markdown("**Search space**", help=SPACE_HELP)
    edited = st.data_editor(
        space_frame(candidates),
        key=f"{PREFIX}space_{setup.recipe}_{trainer.name}",
        hide_index=True,
        num_rows="fixed",
        placeholder="",
        disabled=["parameter", "bounds", "about"],
        height=min(38 + 35 * len(candidates), 390),
        column_config=SPACE_COLUMNS,
    )
    left, right = st.columns(2)
    sampler = left.selectbox(
        "sampler", list(SAMPLERS), key=f"{PREFIX}sampler", format_func=lambda s: SAMPLERS[s].split(":")[0],
        help=SAMPLER_HELP,
    )  # fmt: skip
    metrics = tuning_metrics(trainer.name)
    metric = right.selectbox(
        "metric", list(metrics), key=f"{PREFIX}metric", format_func=lambda m: f"{m} ({metrics[m]})",
        help="What each trial is scored by: its best epoch on the validation split.",
    )  # fmt: skip
    trials_column, parallel_column, epochs_column = st.columns(3)
    trials = trials_column.number_input(
        "trials", 1, MAX_TRIALS, 6, key=f"{PREFIX}trials", help="How many settings the study tries."
    )
    parallel = parallel_column.number_input(
        "parallel", 1, MAX_PARALLEL, 2, key=f"{PREFIX}parallel",
        help="Trials that train at once, each in its own process; they share this machine's cores.",
    )  # fmt: skip
    epochs_param = next(p for p in trainer.params if p.name == "epochs")
    epochs_key = f"{PREFIX}epochs_{trainer.name}"
    seed_param(epochs_param, epochs_key, min(TRIAL_EPOCHS, epochs_param.default))
    with epochs_column:
        epochs = param_widget(epochs_param, epochs_key, sliders=False)
    limit_column, name_column = st.columns(2)
    max_items = limit_column.number_input(
        "item limit (0: all)", 0, None, 0, key=f"{PREFIX}max_items",
        help="Every trial trains on the same seeded, balanced subset: a quick study first.",
    )  # fmt: skip
    name = name_column.text_input(
        "study name", key=f"{PREFIX}name", placeholder=f"{setup.recipe}-{trainer.name}-N",
        help="Optional; letters, digits, '-', '_' and '.'. Left empty, the next free number is used.",
    )  # fmt: skip
    if not st.button("Start study", type="primary", icon=":material/science:", width="stretch"):
        return None
    try:
        study, _driver = start_study(
            setup.dataset, setup.recipe, trainer.name, edited_space(edited, candidates), trials=int(trials),
            parallel=int(parallel), sampler=sampler, metric=metric, epochs=int(epochs),
            max_items=int(max_items) or None, name=name.strip() or None,
        )  # fmt: skip
    except CanvasCraftError as error:
        st.error(plain(error), icon=":material/error:")
        return None
    return study


SPACE_COLUMNS: dict[str, Any] = {
    "search": st.column_config.CheckboxColumn(width=70, pinned=True, help="Searched when ticked."),
    "parameter": st.column_config.TextColumn(width=200, pinned=True, help=SPACE_HELP),
    "low": st.column_config.NumberColumn(width=60, format="%g", help="Low end of the range."),
    "high": st.column_config.NumberColumn(width=60, format="%g", help="High end of the range."),
    "log": st.column_config.CheckboxColumn(
        width=40, help="Sample on a log scale: for ranges that span orders of magnitude (low end above 0)."
    ),
    "choices": st.column_config.TextColumn(
        width=120, help="Choices only: the values to try, comma-separated."
    ),
    "bounds": st.column_config.TextColumn(width=110, help="The declared bounds a range may widen to."),
    "about": st.column_config.TextColumn(width=260, help="What the parameter does."),
}


def space_frame(candidates: list[SearchParam]) -> pd.DataFrame:
    """One editable row per candidate, ticked where the defaults search it."""
    return pd.DataFrame(
        [
            {
                "search": p.enabled,
                "parameter": p.name,
                "low": p.low,
                "high": p.high,
                "log": p.log,
                "choices": ", ".join(str(c) for c in p.choices) if p.choices is not None else None,
                "bounds": _bounds(p),
                "about": p.help,
            }
            for p in candidates
        ],
        columns=list(SPACE_COLUMNS),
    ).astype({"low": "float64", "high": "float64"})


def _bounds(param: SearchParam) -> str:
    if param.kind == "choice":
        return "choice"
    return f"{param.kind} {param.minimum:g} … {param.maximum:g}"


def edited_space(frame: pd.DataFrame, candidates: list[SearchParam]) -> list[SearchParam]:
    """The table's rows back as ``SearchParam``s (the service checks the ranges and names what is wrong).

    Choices typed as text map back to the declared values they spell (``True`` for a tick box); an
    unknown word stays as typed, so the service's message lists what may be chosen."""
    by_name = {c.name: c for c in candidates}
    space: list[SearchParam] = []
    for row in frame.to_dict("records"):
        known = by_name[row["parameter"]]
        enabled = bool(row["search"])
        if known.kind == "choice":
            spelled = {str(c): c for c in known.choices or ()}
            words = [w.strip() for w in str(row["choices"] or "").split(",") if w.strip()]
            choices = tuple(spelled.get(word, word) for word in words)
            space.append(replace(known, enabled=enabled, choices=choices))
            continue
        low, high = _number(row["low"]), _number(row["high"])
        if enabled and known.kind == "int":
            for value in (low, high):
                if value is not None and not float(value).is_integer():
                    raise TrainingError(f"{known.name}: the range needs whole numbers, got {value:g}")
            low, high = (None if v is None else int(v) for v in (low, high))
        space.append(replace(known, enabled=enabled, low=low, high=high, log=bool(row["log"])))
    return space


def _number(value: Any) -> float | None:
    """An emptied cell comes back as NaN or None; the service then says the range is incomplete."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)
