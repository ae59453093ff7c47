"""A model's retrains (the Drift page shows them): each with its state in words; a retrain waiting for
approval shows the current and the candidate version side by side on the same items (the held-back new
items and the old validation items, each with its own figures), with Approve and Reject; "Retrain now"
starts one by hand, after saying so when it would only train again on the data the model already
learned (and offering to label the newest check's files first).

While a retrain trains or compares, the panel is a fragment that redraws itself every ``follow_every``
seconds (nothing calls the page back: it reads the retrain rows); when the last one leaves those states
the whole page redraws once, so the timer stops and a waiting retrain's Approve and Reject appear.

Everything is done by ``canvascraft.services.retrain``; this module only reads widgets and renders.
Widget keys start with ``retrain-`` and carry the model name, so two models' panels never share state.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from canvascraft.errors import CanvasCraftError
from canvascraft.services import retrain as retrains
from components.roles import may, needs
from components.text import plain

LIST_LIMIT = 20
SIDE_ITEMS = 12


def _key(model_name: str, what: str) -> str:
    return f"retrain-{what}-{model_name}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def render_retrains(model_name: str, alias: str = "champion") -> None:
    """The model's retrains, the approval view of a pending one, and the Retrain now button, live."""
    st.markdown("**Retraining**")
    every = retrains.follow_every(retrains.list_retrains(model_name, limit=LIST_LIMIT))
    st.fragment(run_every=every)(_panel)(model_name, alias, every is not None)


def _panel(model_name: str, alias: str, was_following: bool) -> None:
    views = retrains.list_retrains(model_name, limit=LIST_LIMIT)
    if was_following and retrains.follow_every(views) is None:
        st.rerun()  # the last active retrain just ended: redraw the page without the timer
    busy = next((v for v in views if v.state in retrains.IN_FLIGHT), None)
    aliases = sorted({v.alias for v in views} | {alias})
    left, right = st.columns([3, 1])
    chosen = left.selectbox("Alias to retrain", aliases, key=_key(model_name, "alias"))
    if right.button(
        "Retrain now",
        key=_key(model_name, "now"),
        disabled=busy is not None or not may("artist"),
        help="Train the version the alias points at again, on the dataset's latest version, and compare."
        if busy is None
        else f"Retrain {busy.id} is {retrains.STATE_WORDS[busy.state]}.",
    ):
        try:
            advice = retrains.retrain_advice(f"{model_name}@{chosen}")
        except CanvasCraftError as error:
            st.error(plain(error))
        else:
            if advice.same_data:
                st.session_state[_key(model_name, "advice")] = advice
            else:
                _start(model_name, chosen, "requested on the Drift page")
    advice = st.session_state.get(_key(model_name, "advice"))
    if isinstance(advice, retrains.RetrainAdvice):
        _same_data(model_name, chosen, advice)
    if not views:
        st.caption(
            "No retrains yet. Turn on **Retrain automatically** in the alerts below, or press Retrain now."
        )
        return
    for view in views:
        if view.pending:
            _render_pending(view)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Retrain": v.id,
                    "Started": v.created_at.strftime("%Y-%m-%d %H:%M"),
                    "Why": v.reason,
                    "Current": f"v{v.base_version}",
                    "Candidate": f"v{v.candidate_version}" if v.candidate_version is not None else "–",
                    "Trained on": f"{v.dataset} v{v.dataset_version}" if v.dataset else "–",
                    "Current · old items": _percent(v.base_metric),
                    "Candidate · old items": _percent(v.candidate_metric),
                    "Current · new items": _percent(v.new_base_metric),
                    "Candidate · new items": _percent(v.new_candidate_metric),
                    "State": v.words,
                }
                for v in views
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def _start(model_name: str, alias: str, reason: str) -> None:
    try:
        started = retrains.request_retrain(f"{model_name}@{alias}", reason)
    except CanvasCraftError as error:
        st.error(plain(error))
    else:
        st.session_state.pop(_key(model_name, "advice"), None)
        st.success(f"Retrain {started} started: training a candidate on the latest data.")
        st.rerun()


def _same_data(model_name: str, alias: str, advice: retrains.RetrainAdvice) -> None:
    """Retrain now on the version the model already learned: say it plainly, offer labelling first."""
    from components.label_and_add import open_view

    with st.container(border=True):
        st.warning(
            f"Retraining now trains again on **{plain(advice.dataset)} v{advice.latest_version}**, the same "
            "data the current version learned, so it learns nothing new and the candidate will score like "
            "the current one. Label the new files and add them to the dataset first; the retrain then "
            "trains on them and is also measured on held-back new items.",
            icon=":material/info:",
        )
        label, anyway, cancel = st.columns([2, 1.3, 1])
        if advice.unlabelled_check is not None and label.button(
            f"Label and add check #{advice.unlabelled_check}'s {advice.unlabelled_items} items",
            key=_key(model_name, "label"), type="primary", icon=":material/new_label:", width="stretch",
        ):  # fmt: skip
            st.session_state.pop(_key(model_name, "advice"), None)
            open_view(advice.unlabelled_check)
            st.rerun()
        if advice.unlabelled_check is None:
            label.caption("No check of new files waits to be labelled: drop the new files into the watched "
                          "folder and run a check, or import them labelled on the Data page.")  # fmt: skip
        if anyway.button("Retrain anyway", key=_key(model_name, "anyway"), width="stretch"):
            _start(model_name, alias, "requested on the Drift page, on the same data")
        if cancel.button("Cancel", key=_key(model_name, "cancel"), width="stretch"):
            st.session_state.pop(_key(model_name, "advice"), None)
            st.rerun()


def _render_pending(view: retrains.RetrainView) -> None:
    """The two versions on the same items, and the decision."""
    compared = retrains.side_by_side(view.id, limit=SIDE_ITEMS)
    with st.container(border=True):
        data = f" of {plain(view.dataset)} v{view.dataset_version}" if view.dataset else ""
        st.markdown(
            f"**Retrain {view.id} of {view.ref} is waiting for your approval.** Both versions predicted the "
            f"same {view.n_items} validation items{data}: {view.n_new} held-back new items and "
            f"{view.n_old} old validation items, counted apart."
        )
        sets = [("Old validation items", view.base_metric, view.candidate_metric)]
        if view.n_new:
            sets.insert(0, ("New items (held back, never trained on)", view.new_base_metric,
                            view.new_candidate_metric))  # fmt: skip
        for column, (title, base, candidate) in zip(st.columns(len(sets)), sets, strict=True):
            with column:
                _figures(view, title, base, candidate)
        if view.n_new:
            better = retrains.is_better(
                view.candidate_metric, view.base_metric,
                new_candidate=view.new_candidate_metric, new_base=view.new_base_metric,
            )  # fmt: skip
            st.caption(
                "The decision counts each set half, and the candidate may lose at most "
                f"{retrains.OLD_DROP_LIMIT:.0%} on the old items: by that rule the candidate is "
                + ("**better**." if better else "**not better**.")
            )
        if compared.new_items:
            st.markdown("**New items**")
            _items(compared.new_items)
        if compared.items:
            st.markdown("**Old validation items**")
            _items(compared.items)
        approve, reject = st.columns(2)
        decides = may("admin")
        if approve.button(
            "Approve: move the alias", key=f"retrain-approve-{view.id}", type="primary", disabled=not decides
        ):
            _decide(retrains.approve, view.id)
        if reject.button(
            "Reject: keep the current version", key=f"retrain-reject-{view.id}", disabled=not decides
        ):
            _decide(retrains.reject, view.id)
        needs("admin", "Approving or rejecting a retrain")


def _figures(view: retrains.RetrainView, title: str, base: float | None, candidate: float | None) -> None:
    st.caption(title)
    left, right = st.columns(2)
    left.metric(f"Current: version {view.base_version}", _percent(base))
    right.metric(
        f"Candidate: version {view.candidate_version}",
        _percent(candidate),
        delta=None if base is None or candidate is None else f"{candidate - base:+.1%}",
    )


def _items(items: list[retrains.SideItem], per_row: int = 3) -> None:
    """Cards a few to a row (table rows one to a row, for their columns): the item, then the current
    version's guess and the candidate's."""
    per_row = 1 if any(item.row is not None for item in items) else per_row
    for start in range(0, len(items), per_row):
        for column, item in zip(st.columns(per_row), items[start : start + per_row], strict=False):
            with column:
                _card(item)


def _card(item: retrains.SideItem) -> None:
    with st.container(border=True):
        title = item.name or (item.sha256 or "")[:12] or f"row {item.index}"
        st.caption(f"{title} · true label: {plain(item.label)}")
        if item.image is not None:
            st.image(item.image, width=96)
        elif item.audio is not None:
            st.audio(item.audio)
        elif item.row is not None:
            st.dataframe(pd.DataFrame([item.row]), hide_index=True)
        st.markdown(
            "Current: "
            + _verdict(item.base_predicted, item.base_probability, item.base_correct)
            + "  \nCandidate: "
            + _verdict(item.candidate_predicted, item.candidate_probability, item.candidate_correct)
        )


def _verdict(predicted: str, probability: float, correct: bool) -> str:
    mark = "✅" if correct else "❌"
    return f"{mark} {predicted} ({probability:.0%})"


def _decide(action: Callable[[int], retrains.RetrainView], retrain_id: int) -> None:
    try:
        decided = action(retrain_id)
    except CanvasCraftError as error:
        st.error(plain(error))
    else:
        st.success(f"Retrain {decided.id}: {decided.words}.")
        st.rerun()
