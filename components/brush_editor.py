"""The recipe editor: one card per brush, its controls built from the brush's declared parameters.

No brush has UI code of its own: a new registered brush gets its editor from its ``Param`` list.
The working recipe lives in ``st.session_state[WORKING]`` as plain data; widget values are copied
back into it on every run, and validation errors are shown on the card of the brush they name.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import streamlit as st

from canvascraft.services.brushes import BrushInfo, Recipe, insertion_index
from components.params import param_widget, seed_param
from components.text import plain

WORKING = "brushes_working"
STEP_ERROR = re.compile(r"^brushes\[(\d+)\][.:]")
# Widget keys that hold the loaded recipe's values; dropped when another recipe is loaded.
EDITOR_KEYS = ("brushes_p_", "brushes_on_", "brushes_name", "brushes_description", "brushes_seed")


def load_into_editor(recipe: Recipe) -> None:
    """Replace the working recipe (and forget the old cards' widget values)."""
    for key in [k for k in st.session_state if str(k).startswith(EDITOR_KEYS)]:
        del st.session_state[key]
    st.session_state[WORKING] = {
        "name": recipe.name,
        "modality": recipe.modality,
        "seed": recipe.seed,
        "description": recipe.description,
        "steps": [
            {"uid": uuid.uuid4().hex[:8], "brush": s.brush, "enabled": s.enabled, "params": dict(s.params)}
            for s in recipe.brushes
        ],
    }


def working_recipe() -> dict[str, Any]:
    """The editor's recipe as a recipe mapping (what ``validate_recipe`` takes)."""
    working = st.session_state[WORKING]
    return {
        "name": working["name"],
        "modality": working["modality"],
        "seed": working["seed"],
        "description": working["description"],
        "brushes": [
            {"brush": s["brush"], "enabled": s["enabled"], "params": dict(s["params"])}
            for s in working["steps"]
        ],
    }


def _move(index: int, offset: int) -> None:
    steps = st.session_state[WORKING]["steps"]
    target = index + offset
    if 0 <= target < len(steps):
        steps[index], steps[target] = steps[target], steps[index]


def _remove(index: int) -> None:
    del st.session_state[WORKING]["steps"][index]


def _add(catalog: dict[str, BrushInfo]) -> None:
    name = st.session_state.get("brushes_add_choice")
    if name in catalog:
        defaults = {p.name: p.default for p in catalog[name].params}
        steps = st.session_state[WORKING]["steps"]
        steps.insert(
            insertion_index([s["brush"] for s in steps], catalog, name),
            {"uid": uuid.uuid4().hex[:8], "brush": name, "enabled": True, "params": defaults},
        )


def recipe_editor(catalog: dict[str, BrushInfo], columns: list[str]) -> dict[int, Any]:
    """Draw one card per step; returns an error slot per step index for the caller to fill."""
    steps = st.session_state[WORKING]["steps"]
    slots: dict[int, Any] = {}
    if not steps:
        st.info("No brushes yet: add one below.")
    for index, step in enumerate(steps):
        info = catalog.get(step["brush"])
        with st.container(border=True):
            head, up, down, remove = st.columns([7, 1, 1, 1], vertical_alignment="center", gap="small")
            step["enabled"] = head.toggle(
                f"**{index + 1}. {step['brush']}**", value=step["enabled"], key=f"brushes_on_{step['uid']}"
            )
            uid = step["uid"]
            up.button(
                "",
                icon=":material/arrow_upward:",
                key=f"brushes_up_{uid}",
                on_click=_move,
                args=(index, -1),
                help="Move up",
                type="tertiary",
            )
            down.button(
                "",
                icon=":material/arrow_downward:",
                key=f"brushes_down_{uid}",
                on_click=_move,
                args=(index, 1),
                help="Move down",
                type="tertiary",
            )
            remove.button(
                "", icon=":material/delete:", key=f"brushes_rm_{uid}", on_click=_remove, args=(index,),
                help="Remove", type="tertiary",
            )  # fmt: skip
            slots[index] = st.empty()
            if info is None:
                continue
            when = "training only (random)" if info.augments else "always applied"
            st.caption(f"{info.summary} · *{when}*")
            if step["enabled"] and info.params:
                grid = st.columns(2)
                for number, param in enumerate(info.params):
                    key = f"brushes_p_{step['uid']}_{param.name}"
                    seed_param(param, key, step["params"].get(param.name, param.default))
                    # Column pickers hold long names: give them the card's full width.
                    with st.container() if param.kind == "columns" else grid[number % 2]:
                        step["params"][param.name] = param_widget(param, key, columns)
    add_column, button_column = st.columns([4, 1], vertical_alignment="bottom")
    add_column.selectbox(
        "Add a brush",
        list(catalog),
        key="brushes_add_choice",
        format_func=lambda name: f"{name} — {catalog[name].summary}",
    )
    button_column.button("Add", on_click=_add, args=(catalog,), width="stretch")
    return slots


def show_errors(errors: list[str], slots: dict[int, Any]) -> None:
    """Each error on the card of the brush it names; errors about the recipe itself above the preview."""
    by_step: dict[int, list[str]] = {}
    general = []
    for error in errors:
        match = STEP_ERROR.match(error)
        if match and int(match.group(1)) in slots:
            by_step.setdefault(int(match.group(1)), []).append(error)
        else:
            general.append(error)
    for index, messages in by_step.items():
        slots[index].error("\n\n".join(messages), icon=":material/error:")
    for message in general:
        # Recipe errors quote user-given names (the recipe, a clip's file name): shown as text.
        st.error(plain(message), icon=":material/error:")
