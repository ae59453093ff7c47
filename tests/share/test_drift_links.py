"""Drift share links: a check view round-trips; tampered values are dropped and explained."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from canvascraft.share.links import DriftState, link, parse_drift, to_params


def test_a_check_link_round_trips_on_the_drift_page() -> None:
    state = DriftState(model="paint styles", check=42, feature="thickness_mm")
    url = link("http://localhost:8501/", state)
    assert url == "http://localhost:8501/drift?model=paint+styles&check=42&feature=thickness_mm"
    again = parse_drift(dict(parse_qsl(urlsplit(url).query)))
    assert again == state and again.problems == ()
    assert link("http://studio", DriftState()) == "http://studio/drift"


def test_tampered_values_are_dropped_and_explained() -> None:
    state = parse_drift({"model": "../../etc/passwd", "check": "7; drop table", "feature": "a\x00b"})
    assert (state.model, state.check, state.feature) == (None, None, None)
    assert state.problems == (
        "the link's check is not a valid check id; it was ignored",
        "the link's model is not a valid model name; it was ignored",
        "the link's feature is not a valid feature name; it was ignored",
    )
    assert parse_drift({"check": "0"}).check is None and parse_drift({"check": "-3"}).problems
    assert parse_drift({"check": ["1", "5"]}).check == 5  # the last value wins, as in the gallery


def test_feature_names_from_real_tables_survive() -> None:
    for name in ("hue", "stroke count (n)", "größe", "embedding", "prediction", "a'quote"):
        assert parse_drift(to_params(DriftState(model="m", check=1, feature=name))).feature == name


@given(st.dictionaries(st.sampled_from(["model", "check", "feature", "view"]), st.text()))
def test_any_query_parses_to_a_showable_state(params: dict[str, str]) -> None:
    state = parse_drift(params)
    assert state.check is None or state.check > 0
    assert parse_drift(to_params(state)) == state  # what the page writes back reads the same
