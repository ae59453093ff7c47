"""Share links: round trips, and tampered values reported instead of failing."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from canvascraft.share.links import GalleryState, link, parse, to_params

RUN_A, RUN_B = "a" * 32, "0123456789abcdef" * 2


def test_a_comparison_link_round_trips() -> None:
    state = GalleryState(view="compare", runs=(RUN_A, RUN_B), dataset="sample-images", metric="val_accuracy",
                         low=0.5, sort="val_f1", page=3)  # fmt: skip
    url = link("http://localhost:8501/", state)
    assert url.startswith("http://localhost:8501/gallery?view=compare&runs=")
    again = parse(dict(parse_qsl(urlsplit(url).query)))
    assert again == state and again.problems == ()


def test_tampered_values_are_dropped_and_explained() -> None:
    state = parse({"view": "run", "run": "../../etc/passwd", "page": "-4", "dataset": "x' OR '1'='1"})
    assert state.view == "runs" and state.run is None and state.page == 1 and state.dataset is None
    assert "the link's run is not a valid run id; it was ignored" in state.problems
    assert any("page" in p for p in state.problems) and any("dataset" in p for p in state.problems)
    assert parse({"view": "compare", "runs": RUN_A}).problems[-1] == (
        "a comparison needs at least two runs; showing all runs"
    )
    assert parse({"view": "nonsense"}).view == "runs"


def test_paths_never_survive_into_a_state() -> None:
    state = parse({"item": "/etc/passwd", "model": "../m", "version": "1; drop"})
    assert (state.item, state.model, state.version) == (None, None, None) and len(state.problems) == 3


@given(
    st.dictionaries(
        st.sampled_from(["view", "run", "runs", "page", "low", "model", "item", "tag"]), st.text()
    )
)
def test_any_query_parses_to_a_showable_state(params: dict[str, str]) -> None:
    state = parse(params)
    assert state.view in ("runs", "run", "compare", "models", "try")
    assert parse(to_params(state)) == state  # what a page writes back reads the same


def test_the_cli_prints_signed_links_that_carry_no_ids(workspace: object, monkeypatch: object) -> None:
    from typer.testing import CliRunner

    from canvascraft.cli import app
    from canvascraft.config import get_settings
    from canvascraft.share.signed import open_link

    monkeypatch.setenv("CANVASCRAFT_STUDIO_URL", "http://studio.local:8501")  # type: ignore[attr-defined]
    get_settings.cache_clear()
    runner = CliRunner()
    shown = runner.invoke(app, ["link", "compare", RUN_A, RUN_B])
    assert shown.exit_code == 0, shown.output
    url = shown.stdout.strip()
    assert url.startswith("http://studio.local:8501/?share=") and RUN_A not in url and RUN_B not in url
    assert open_link(url.partition("share=")[2]).state == GalleryState(view="compare", runs=(RUN_A, RUN_B))
    refused = runner.invoke(app, ["link", "run", "../../etc/passwd"])
    assert refused.exit_code == 1 and "does not exist (not a run id)" in refused.stderr
    model = runner.invoke(app, ["link", "model", "paints", "--version", "champion"]).stdout.strip()
    assert open_link(model.partition("share=")[2]).state == GalleryState(
        view="models", model="paints", version="champion"
    )
    bad = runner.invoke(app, ["link", "model", "../paints"])
    assert bad.exit_code == 1 and "the link's model is not a valid model name" in bad.stderr
