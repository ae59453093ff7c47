"""Widgets built from declared ``Param``s: brush settings and trainer hyperparameters share them, so
a new brush or trainer gets its controls without UI code of its own."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from canvascraft.services.brushes import Param


def nice_step(low: float, high: float) -> float:
    """A round slider step giving about 100 to 1,000 positions (1 for 0–255, 0.01 for 0–1)."""
    return float(10 ** math.floor(math.log10((high - low) / 100))) if high > low else 1.0


def typed_step(default: float) -> float:
    """A number-input step in the default's own order of magnitude (1e-3 for a learning rate of 3e-3)."""
    return float(10 ** math.floor(math.log10(abs(default)))) if default else 0.01


def param_widget(
    param: Param, key: str, columns: list[str] | tuple[str, ...] = (), *, sliders: bool = True
) -> Any:
    """One control for one parameter, chosen by its kind and bounds; returns the value set.

    ``sliders=False`` types numbers instead: hyperparameters such as a learning rate span orders of
    magnitude that a linear slider cannot reach."""
    label, help_text = param.name.replace("_", " "), param.help
    bounded = param.minimum is not None and param.maximum is not None
    if param.kind == "bool":
        return st.toggle(label, key=key, help=help_text)
    if param.kind == "choice":
        return st.selectbox(label, list(param.choices or ()), key=key, help=help_text)
    if param.kind == "columns":
        keywords = [c for c in (param.choices or ()) if c not in columns]
        picked = st.multiselect(label, keywords + list(columns), key=key, help=help_text)
        return picked[0] if len(picked) == 1 and picked[0] in keywords else picked
    if param.kind in ("float_range", "int_range") and bounded:
        integer = param.kind == "int_range"
        step = 1 if integer else nice_step(param.minimum, param.maximum)  # type: ignore[arg-type]
        cast = int if integer else float
        low, high = cast(param.minimum), cast(param.maximum)  # type: ignore[arg-type]
        return list(st.slider(label, low, high, key=key, step=step, help=help_text))
    if param.kind in ("float_range", "int_range"):
        left, right = st.columns(2)
        low = left.number_input(f"{label} (low)", key=f"{key}_low", help=help_text)
        high = right.number_input(f"{label} (high)", key=f"{key}_high", help=help_text)
        return [low, high]
    if not sliders and param.kind in ("int", "float"):
        integer = param.kind == "int"
        cast = int if integer else float
        return cast(
            st.number_input(
                label,
                min_value=None if param.minimum is None else cast(param.minimum),
                max_value=None if param.maximum is None else cast(param.maximum),
                step=1 if integer else typed_step(float(param.default)),
                format=None if integer else "%g",
                key=key,
                help=help_text,
            )
        )
    if param.kind == "int":
        if bounded and param.maximum - param.minimum <= 1000:  # type: ignore[operator]
            return st.slider(label, int(param.minimum), int(param.maximum), key=key, help=help_text)  # type: ignore[arg-type]
        return int(st.number_input(label, step=1, key=key, help=help_text))
    if bounded:
        step = nice_step(param.minimum, param.maximum)  # type: ignore[arg-type]
        return st.slider(
            label, float(param.minimum), float(param.maximum), key=key, step=step, help=help_text
        )  # type: ignore[arg-type]
    return st.number_input(label, key=key, help=help_text)


def seed_param(param: Param, key: str, value: Any) -> None:
    """Give a widget its starting value once; afterwards the widget's own state is the truth."""
    if param.kind in ("float_range", "int_range") and not (
        param.minimum is not None and param.maximum is not None
    ):
        st.session_state.setdefault(f"{key}_low", value[0])
        st.session_state.setdefault(f"{key}_high", value[1])
    elif param.kind == "columns":
        st.session_state.setdefault(key, [value] if isinstance(value, str) else list(value))
    elif param.kind in ("float_range", "int_range"):
        st.session_state.setdefault(key, tuple(value))
    else:
        st.session_state.setdefault(key, value)
