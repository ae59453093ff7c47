"""The launch form: dataset, recipe, trainer, hyperparameters, split and pins, then one button.

Plain widgets rather than ``st.form``: the recipes, trainers and validation items offered depend on the
dataset chosen, so the form must react as the user picks.
"""

from __future__ import annotations

import uuid
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services.datasets import list_datasets
from canvascraft.services.jobs import (
    DEVICES,
    MAX_PINNED,
    TrainerInfo,
    data_amount,
    estimate_time,
    job_is_active,
    launch_key,
    launch_training,
    trainer_catalog,
    validation_items,
)
from canvascraft.services.recipes import (
    StarterSuggestion,
    default_recipe,
    recipe_names,
    save_suggested_starter,
    suggest_starter,
)
from components.params import param_widget, seed_param
from components.text import plain

PREFIX = "train_"
LOOP_FIRST = ("epochs", "batch_size", "learning_rate")


@dataclass(frozen=True)
class Setup:
    """What a training job or a study runs on: the dataset, a recipe and a trainer of its modality."""

    dataset: str
    modality: str
    recipe: str
    trainer: TrainerInfo
    #: The starter fitted to the dataset, when the trainer starts from the modality's plain starter.
    suggestion: StarterSuggestion | None = None


def pick_setup(prefix: str) -> Setup | None:
    """Dataset, recipe and trainer pickers (recipes and trainers follow the dataset's modality); shared
    by the launch and tune forms, each with its own key ``prefix``. ``None`` when nothing can be picked."""
    datasets = list_datasets()
    if not datasets:
        st.info("Import a dataset on the Data page first.")
        return None
    dataset = st.selectbox("Dataset", [d.name for d in datasets], key=f"{prefix}dataset")
    modality = next(d.modality for d in datasets if d.name == dataset)
    trainers = {t.name: t for t in trainer_catalog(modality)}
    trainer = st.selectbox(
        "Trainer",
        list(trainers),
        key=f"{prefix}trainer_{modality}",
        format_func=lambda name: f"{name} — {trainers[name].summary}",
    )
    starter = trainers[trainer].starter
    # Where nothing can be fitted it stays the plain starter; the suggestion below the picker says why.
    with suppress(CanvasCraftError):
        starter = default_recipe(dataset, starter)
    recipes = recipe_names(modality, first=starter)
    if not recipes:
        st.warning(f"No {modality} recipe yet: make one on the Brushes page.")
        return None
    recipe_key = f"{prefix}recipe_{modality}_{trainer}"
    recipe = st.selectbox(
        "Recipe", recipes, key=recipe_key,
        help=f"Its latest saved version is used; {trainers[trainer].starter} is made for this trainer.",
    )  # fmt: skip
    suggestion = None
    if trainers[trainer].starter == f"{modality}-starter":  # a generator's own starter is not fitted
        suggestion = _suggested_starter(prefix, dataset, recipe, recipe_key)
    return Setup(dataset, modality, recipe, trainers[trainer], suggestion)


def _suggested_starter(prefix: str, dataset: str, recipe: str, recipe_key: str) -> StarterSuggestion | None:
    """The starter fitted to the dataset under the recipe picker, with one button that saves it as
    ``<dataset>-starter`` and picks it (or picks it, once saved)."""
    try:
        suggestion = suggest_starter(dataset)
    except CanvasCraftError as error:
        st.caption(f":material/info: {plain(error)}")
        return None
    if suggestion is None:
        return None
    if suggestion.same_as_base:
        st.caption(f":material/check_circle: {plain(suggestion.sentence())}")
        return suggestion
    in_use = suggestion.saved and recipe == suggestion.name
    with st.container(border=True, key=f"{prefix}suggestion"):
        st.markdown(f":material/auto_fix_high: {plain(suggestion.sentence())}")
        if suggestion.caution:
            st.caption(plain(suggestion.caution))
        if in_use:
            st.caption(f":material/check: In use: {plain(suggestion.name)}.")
        else:
            label = f"Use {suggestion.name}" if suggestion.saved else f"Save as {suggestion.name} and use it"
            st.button(
                label, key=f"{prefix}use_suggestion", icon=":material/playlist_add_check:",
                on_click=_use_suggestion, args=(prefix, dataset, recipe_key),
            )  # fmt: skip
        if error := st.session_state.pop(f"{prefix}suggestion_error", None):
            st.error(plain(error), icon=":material/error:")
    return suggestion


def _use_suggestion(prefix: str, dataset: str, recipe_key: str) -> None:
    """Button callback: runs before the rerun, so the picker can be set to the saved recipe. Saving a
    recipe that is already saved as it is writes nothing."""
    try:
        saved = save_suggested_starter(dataset)
    except CanvasCraftError as error:
        st.session_state[f"{prefix}suggestion_error"] = str(error)
        return
    st.session_state[recipe_key] = saved.name


def launch_form() -> int | None:
    """Draw the form; returns the new job's id when the user launched one."""
    setup = pick_setup(PREFIX)
    if setup is None:
        return None
    dataset, recipe, info = setup.dataset, setup.recipe, setup.trainer
    trainer = info.name
    by_name = {p.name: p for p in info.params}
    main = [by_name[name] for name in LOOP_FIRST]
    more = [p for p in info.params if p.name not in LOOP_FIRST]
    hyper: dict[str, Any] = {}
    columns = st.columns(len(main))
    for column, param in zip(columns, main, strict=True):
        key = f"{PREFIX}hp_{trainer}_{param.name}"
        seed_param(param, key, param.default)
        with column:
            hyper[param.name] = param_widget(param, key, sliders=False)
    with st.expander("More settings"):
        grid = st.columns(2)
        for number, param in enumerate(more):
            key = f"{PREFIX}hp_{trainer}_{param.name}"
            seed_param(param, key, param.default)
            with grid[number % 2]:
                hyper[param.name] = param_widget(param, key, sliders=False)
        left, right = st.columns(2)
        val_fraction = left.slider(
            "validation share", 0.05, 0.5, 0.2, 0.05, key=f"{PREFIX}val_fraction",
            help="Share of each class held out to measure the model; never trained on.",
        )  # fmt: skip
        split_seed = right.number_input(
            "split seed", 0, 2**31 - 1, 0, key=f"{PREFIX}split_seed", help="Which items go to validation."
        )
        max_items = left.number_input(
            "item limit (0: all)", 0, None, 0, key=f"{PREFIX}max_items",
            help="Train on a seeded, balanced subset first for a quick trial run.",
        )  # fmt: skip
        device = right.selectbox(
            "device", DEVICES, key=f"{PREFIX}device", help="auto: a CUDA GPU when there is one, else the CPU."
        )
    limit = int(max_items) or None
    try:
        members, defaults = validation_items(dataset, val_fraction, int(split_seed), limit)
    except CanvasCraftError as error:
        st.error(plain(error), icon=":material/error:")
        return None
    names = {m.index: f"{m.name.rsplit('/', 1)[-1]} ({m.label})" for m in members}
    pin_key = f"{PREFIX}pins_{dataset}_{val_fraction}_{split_seed}_{limit}"
    pinned = st.multiselect(
        f"Pinned validation items (up to {MAX_PINNED}): watched epoch by epoch in the filmstrip",
        list(names),
        default=defaults,
        format_func=names.get,
        max_selections=MAX_PINNED,
        key=pin_key,
    )
    _too_little_data(setup, val_fraction, int(split_seed), limit)
    _expected_time(dataset, recipe, trainer, hyper, val_fraction, int(split_seed), limit, device)
    if not st.button("Launch training", type="primary", icon=":material/rocket_launch:", width="stretch"):
        return None
    settings = {"dataset": dataset, "recipe": recipe, "trainer": trainer, "hyper": hyper,
                "val_fraction": val_fraction, "seed": int(split_seed), "max_items": limit,
                "pinned": list(pinned), "device": device}  # fmt: skip
    try:
        job_id = launch_training(
            dataset, recipe, trainer, hyper=hyper, val_fraction=val_fraction, seed=int(split_seed),
            max_items=limit, pinned=list(pinned), device=device, idempotency_key=_launch_key(settings),
        )  # fmt: skip
    except CanvasCraftError as error:
        st.error(plain(error), icon=":material/error:")
        return None
    st.session_state[f"{PREFIX}launched"] = job_id
    return job_id


def _launch_key(settings: dict[str, Any]) -> str:
    """One key per submission of these settings in this session: a double click on Launch (two reruns
    with the button pressed) sends the same key, so the second gets the first job back. The session's
    nonce is renewed once the job it launched has ended, so the same settings can be launched again."""
    nonce_key, launched = f"{PREFIX}launch_nonce", st.session_state.get(f"{PREFIX}launched")
    if launched is not None and not job_is_active(launched):
        st.session_state[nonce_key] = uuid.uuid4().hex
        st.session_state[f"{PREFIX}launched"] = None
    return launch_key("train-form", st.session_state.setdefault(nonce_key, uuid.uuid4().hex), settings)


def _too_little_data(setup: Setup, val_fraction: float, seed: int, limit: int | None) -> None:
    """Before launch: the classes with too few training items for these split settings, and what helps."""
    try:
        amount = data_amount(setup.dataset, val_fraction=val_fraction, seed=seed, max_items=limit)
    except CanvasCraftError:
        return  # the same problem is shown by the pins and the estimate
    if amount.enough:
        return
    suggestion = setup.suggestion
    gentle = None
    if suggestion is not None:
        gentle = suggestion.based_on if suggestion.same_as_base else suggestion.name
    helps = "\n".join(f"- {plain(remedy)}" for remedy in amount.remedies(gentle, picked=setup.recipe))
    st.warning(f"{plain(amount.problem())} What helps:\n{helps}", icon=":material/warning:")


@st.cache_data(max_entries=32, ttl=600, show_spinner="Measuring a few training steps…")
def _measured(
    dataset: str, recipe: str, trainer: str, hyper: dict[str, Any], val_fraction: float, seed: int,
    limit: int | None, device: str,
) -> str:  # fmt: skip
    return estimate_time(
        dataset, recipe, trainer, hyper, val_fraction=val_fraction, seed=seed, max_items=limit, device=device
    ).sentence()


def _expected_time(
    dataset: str, recipe: str, trainer: str, hyper: dict[str, Any], val_fraction: float, seed: int,
    limit: int | None, device: str,
) -> None:  # fmt: skip
    """The expected time, measured on this machine before anything is launched; a setting the trainer
    refuses shows here already."""
    try:
        sentence = _measured(dataset, recipe, trainer, hyper, val_fraction, seed, limit, device)
    except CanvasCraftError as error:
        st.warning(plain(error), icon=":material/warning:")
        return
    st.caption(f":material/schedule: {sentence}")
