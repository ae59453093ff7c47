"""Brushes: stack brushes into a recipe and watch what they do to your own data, live."""

from __future__ import annotations

import random

import streamlit as st

from canvascraft.errors import CanvasCraftError, RecipeError
from canvascraft.services.brushes import (
    brush_catalog,
    check_recipe,
    preview_audio,
    preview_dataset_table,
    preview_item_images,
    preview_uploaded_image,
    sample_items,
    to_yaml,
)
from canvascraft.services.datasets import item_bytes, list_datasets, open_version, upload_types
from canvascraft.services.recipes import import_recipe_text, load_recipe, recipe_names, save_recipe
from components.brush_editor import WORKING, load_into_editor, recipe_editor, show_errors, working_recipe
from components.recipe_preview import audio_preview, image_preview, table_preview
from components.roles import may, needs
from components.text import plain
from components.view_nav import flash, index_from_link, show_notices

st.title("Brushes")
st.markdown(
    "Stack brushes into a recipe and see what they do to your data. Training applies the same recipe."
)

datasets = list_datasets()
if not datasets:
    st.info("Import a dataset on the Data page first.")
    st.stop()
OPEN = "brushes_open"  # the recipe a save under a new name or an import opened: the picker shows it next


def _dataset_changed() -> None:
    """Another modality has other recipes: start from that modality's first one."""
    st.query_params.pop("recipe", None)
    st.session_state.pop("recipe", None)


def _open_in_picker(name: str, message: str) -> None:
    """Show ``name`` in the "Start from recipe" picker (drawn above, so on the next run) and confirm."""
    st.session_state[OPEN] = name
    flash(message)
    st.rerun()


show_notices()
pick_dataset, pick_recipe, load_column = st.columns([2, 2, 1], vertical_alignment="bottom")
names = [d.name for d in datasets]
dataset = pick_dataset.selectbox(
    "Preview on dataset", names, index=index_from_link("dataset", names), key="dataset",
    on_change=_dataset_changed,
)  # fmt: skip
modality = next(d.modality for d in datasets if d.name == dataset)
recipes = recipe_names(modality)
if st.session_state.get(OPEN) in recipes:
    st.session_state["recipe"] = st.session_state.pop(OPEN)
source = pick_recipe.selectbox(
    "Start from recipe", recipes, index=index_from_link("recipe", recipes), key="recipe"
)
# What is on screen is always in the address bar, so a reload or a bookmark reopens it.
if st.query_params.get("dataset") != dataset or st.query_params.get("recipe") != source:
    st.query_params.from_dict({"dataset": dataset, **({"recipe": source} if source else {})})
if load_column.button("Load", width="stretch") or (
    source and (WORKING not in st.session_state or st.session_state[WORKING]["modality"] != modality)
):
    load_into_editor(load_recipe(source))
if WORKING not in st.session_state:
    st.info(f"No {modality} recipe saved yet; start one below.")
    st.session_state[WORKING] = {"name": f"my-{modality}-recipe", "modality": modality, "seed": 0,
                                 "description": "", "steps": []}  # fmt: skip


def _reroll() -> None:
    """A new seed, into the Seed box itself (set before the box is drawn, so the browser shows it and
    typing it back later gives the same draw)."""
    seed = random.randrange(2**31)
    st.session_state[WORKING]["seed"] = seed
    st.session_state["brushes_seed"] = seed


working = st.session_state[WORKING]
# The name and seed fields sit below what uses them (the header, the recipe the preview runs): read
# their latest values first, so a rename or a typed seed shows on this run, not the next.
if "brushes_name" in st.session_state:
    working["name"] = st.session_state["brushes_name"]
if st.session_state.get("brushes_seed") is not None:
    working["seed"] = int(st.session_state["brushes_seed"])
catalog = {b.name: b for b in brush_catalog(modality)}
view = open_version(dataset)
columns = [c["name"] for c in (view.items[0].columns or [])] if modality == "table" and view.items else []

editor, shown = st.columns([5, 6], gap="large")
with editor:
    st.subheader(f"Recipe · {working['name']}")
    slots = recipe_editor(catalog, columns)
recipe, errors = check_recipe(working_recipe())
with editor:
    show_errors(errors, slots)

with shown:
    st.subheader("Preview")
    if modality != "table":  # table brushes draw no randomness
        seed_column, reroll_column = st.columns([3, 1], vertical_alignment="bottom")
        # The box's value lives in session state (set here, by Reroll or by loading a recipe), so the
        # browser shows every new seed; no default beside it.
        st.session_state.setdefault("brushes_seed", working["seed"])
        seed = seed_column.number_input(
            "Seed", 0, 2**31 - 1, None, key="brushes_seed",
            help="The preview's random draws come from this seed: type one to get a draw back, and save "
            "the recipe to keep it.",
        )  # fmt: skip
        working["seed"] = int(seed) if seed is not None else working["seed"]
        reroll_column.button(
            "Reroll", icon=":material/casino:", width="stretch", on_click=_reroll,
            help="Draw a new random seed; it is written into the Seed box",
        )  # fmt: skip
        st.caption(f"Previewed with seed **{working['seed']}**.")
    if recipe is None:
        st.warning("Fix the settings marked in red to see the preview again.")
    else:
        try:
            if modality == "image":
                candidates = sample_items(dataset, 60)
                pick_column, variant_column = st.columns([3, 1])
                chosen = pick_column.multiselect(
                    "Items", candidates, default=candidates[:3], max_selections=6, key="brushes_items",
                    format_func=lambda item: item.name,
                )  # fmt: skip
                variants = variant_column.slider("Variants each", 1, 8, 4, key="brushes_variants")
                upload = st.file_uploader(
                    "Or try one of your own images", type=["png", "jpg", "jpeg", "webp", "bmp"]
                )
                rows = (
                    preview_uploaded_image(recipe, upload.name, upload.getvalue(), variants, recipe.seed)
                    if upload
                    else preview_item_images(recipe, chosen, variants, recipe.seed)
                )
                image_preview(rows)
            elif modality == "audio":
                clips = sample_items(dataset, 12)
                clip_column, variant_column = st.columns(2)
                clip = clip_column.selectbox("Clip", clips, format_func=lambda i: i.name, key="brushes_clip")
                variants = variant_column.slider("Variants", 1, 6, 3, key="brushes_variants")
                upload = st.file_uploader("Or try one of your own clips", type=upload_types("audio"))
                name, data = (
                    (upload.name, upload.getvalue()) if upload else (clip.name, item_bytes(clip.sha256))
                )
                audio_preview(preview_audio(recipe, name, data, variants, recipe.seed))
            else:
                table_preview(preview_dataset_table(recipe, dataset))
        except RecipeError as error:
            st.warning("A brush could not be applied; see the message on its card.")
            with editor:
                show_errors(error.errors, slots)
        except CanvasCraftError as error:
            st.error(plain(error), icon=":material/error:")

with editor, st.container(border=True):
    st.markdown("**Save, share, import**")
    working["name"] = st.text_input("Recipe name", working["name"], key="brushes_name")
    working["description"] = st.text_area(
        "Description", working["description"], key="brushes_description", height=80
    )
    save_column, export_column = st.columns(2)
    if save_column.button(
        "Save", type="primary", icon=":material/save:", disabled=recipe is None or not may("artist"),
        width="stretch",
    ):  # fmt: skip
        recipe, errors = check_recipe(working_recipe())
        if recipe is None:
            st.error("\n\n".join(errors))
        else:
            saved = save_recipe(recipe)
            message = (
                f"Saved **{saved.name}** version {saved.version}."
                if saved.new_version
                else f"No changes since **{saved.name}** version {saved.version}."
            )
            if saved.name != source:
                _open_in_picker(saved.name, message)
            st.success(message)
    if recipe is not None:
        export_column.download_button(
            "Export YAML", to_yaml(recipe), file_name=f"{recipe.name}.yaml", mime="application/yaml",
            icon=":material/download:", width="stretch",
        )  # fmt: skip
    needs("artist", "Saving or importing a recipe")
    uploaded = (
        st.file_uploader("Import a recipe (.yaml)", type=["yaml", "yml"], key="brushes_import")
        if may("artist")
        else None
    )
    if uploaded is not None and st.button("Import and open", icon=":material/upload_file:"):
        try:
            saved = import_recipe_text(uploaded.getvalue().decode("utf-8", errors="replace"))
            load_into_editor(load_recipe(saved.name))
            _open_in_picker(saved.name, f"Imported **{saved.name}** version {saved.version}.")
        except CanvasCraftError as error:
            st.error(plain(error))
