"""The Brushes page through AppTest: editor built from the schema, live preview, errors, save."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from canvascraft.services.recipes import list_recipes, load_recipe

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_brushes(dataset: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.query_params["dataset"] = dataset
    app.switch_page("pages/brushes.py")
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def card_titles(app: AppTest) -> list[str]:
    return [t.label for t in app.toggle if t.key and t.key.startswith("brushes_on_")]


def preview_images(app: AppTest) -> list[str]:
    """The preview's image sources (media URLs change when the pixels change)."""
    return [image.proto.imgs[0].url for image in app.get("image")]


def widget(app: AppTest, step: int, param: str):
    uid = app.session_state["brushes_working"]["steps"][step]["uid"]
    return app.slider(key=f"brushes_p_{uid}_{param}")


@pytest.mark.parametrize(
    ("dataset", "starter"),
    [
        ("sample-images", "image-starter"),
        ("sample-audio", "audio-starter"),
        ("sample-table", "table-starter"),
    ],
)
def test_each_modality_opens_its_starter_with_a_preview(
    sample_workspace: Path, dataset: str, starter: str
) -> None:
    app = open_brushes(dataset)
    assert app.selectbox(key="recipe").value == starter
    assert len(card_titles(app)) == len(load_recipe(starter).brushes)
    assert not app.error
    if dataset == "sample-images":
        assert len(app.get("image")) == 3 * (1 + 4)  # 3 items, original + 4 variants each
    elif dataset == "sample-audio":
        assert len(app.get("audio")) == 1 + 3  # original + 3 variants, each playable
    else:
        assert len(app.get("plotly_chart")) == 4  # before/after histograms of the first 4 columns


def test_dragging_a_slider_changes_the_preview(sample_workspace: Path) -> None:
    app = open_brushes("sample-images")
    before = preview_images(app)
    crop = next(
        i
        for i, s in enumerate(app.session_state["brushes_working"]["steps"])
        if s["brush"] == "random_resized_crop"
    )
    widget(app, crop, "scale").set_value((0.05, 0.1)).run()
    after = preview_images(app)
    assert after[0] == before[0]  # the original is untouched
    assert after[1:5] != before[1:5]  # its variants now show small crops
    assert app.session_state["brushes_working"]["steps"][crop]["params"]["scale"] == [0.05, 0.1]


def test_same_seed_same_grid_and_reroll_changes_it(sample_workspace: Path) -> None:
    first = preview_images(open_brushes("sample-images"))
    again = open_brushes("sample-images")
    assert preview_images(again) == first
    again.button[[b.label for b in again.button].index("Reroll")].click().run()
    assert preview_images(again) != first


def test_adding_removing_and_reordering_brushes(sample_workspace: Path) -> None:
    app = open_brushes("sample-images")
    count = len(card_titles(app))
    app.selectbox(key="brushes_add_choice").set_value("grayscale").run()
    app.button[[b.label for b in app.button].index("Add")].click().run()
    titles = card_titles(app)
    assert len(titles) == count + 1 and titles[-2] == f"**{count}. grayscale**"  # before normalize
    uid = app.session_state["brushes_working"]["steps"][-2]["uid"]
    app.button(key=f"brushes_up_{uid}").click().run()
    assert card_titles(app)[-3] == f"**{count - 1}. grayscale**"
    app.button(key=f"brushes_rm_{uid}").click().run()
    assert len(card_titles(app)) == count


def test_invalid_setting_shows_the_recipe_error_on_its_brush(sample_workspace: Path) -> None:
    app = open_brushes("sample-table")
    app.selectbox(key="brushes_add_choice").set_value("minmax_scale").run()
    app.button[[b.label for b in app.button].index("Add")].click().run()
    last = len(app.session_state["brushes_working"]["steps"]) - 1
    widget(app, last, "feature_range").set_value((0.5, 0.5)).run()
    assert not app.exception
    messages = [e.value for e in app.error]
    assert any(m.startswith(f"brushes[{last}].feature_range:") for m in messages), messages
    assert any("Fix the settings" in w.value for w in app.warning)


def test_save_makes_a_new_version_and_export_offers_yaml(sample_workspace: Path) -> None:
    app = open_brushes("sample-images")
    app.text_input(key="brushes_name").set_value("my-soft-crops").run()
    crop = next(
        i
        for i, s in enumerate(app.session_state["brushes_working"]["steps"])
        if s["brush"] == "random_resized_crop"
    )
    widget(app, crop, "scale").set_value((0.3, 0.9)).run()
    app.button[[b.label for b in app.button].index("Save")].click().run()
    assert any("Saved **my-soft-crops** version 1" in s.value for s in app.success)
    saved = load_recipe("my-soft-crops")
    assert saved.brushes[crop].params["scale"] == [0.3, 0.9]
    assert "my-soft-crops" in {r.name for r in list_recipes()}
    app.button[[b.label for b in app.button].index("Save")].click().run()
    assert any("No changes since **my-soft-crops** version 1" in s.value for s in app.success)


def test_a_brush_that_fails_on_the_data_names_itself_on_its_card(sample_workspace: Path) -> None:
    app = open_brushes("sample-images")
    app.selectbox(key="brushes_add_choice").set_value("solarize").run()
    app.button[[b.label for b in app.button].index("Add")].click().run()
    added = app.session_state["brushes_working"]["steps"][-2]  # new brushes go before normalize
    app.button(key=f"brushes_down_{added['uid']}").click().run()  # moved after it on purpose
    last = len(app.session_state["brushes_working"]["steps"]) - 1
    widget(app, last, "p").set_value(1.0).run()  # after normalize, the image is float: solarize cannot run
    assert not app.exception
    messages = [e.value for e in app.error]
    assert any(m.startswith(f"brushes[{last}]: solarize could not be applied") for m in messages), messages
    assert any("keep normalize as the last brush" in m for m in messages)


def test_picking_items_previews_exactly_those(sample_workspace: Path) -> None:
    app = open_brushes("sample-images")
    picker = app.multiselect(key="brushes_items")
    assert [i.label for i in picker.value] == ["checker", "circle", "square"]  # spread over the labels
    picker.set_value(picker.value[:1]).run()
    assert len(app.get("image")) == 1 + 4
    assert [c.value for c in app.caption if c.value.endswith(".png")] == [picker.value[0].name]


def test_a_new_brush_goes_before_the_final_normalize(sample_workspace: Path) -> None:
    """Added after ``normalize``, a rotation worked on centred floats and filled its corners grey."""
    app = open_brushes("sample-images")
    steps = app.session_state["brushes_working"]["steps"]
    assert steps[-1]["brush"] == "normalize"
    count = len(steps)
    app.selectbox(key="brushes_add_choice").set_value("rotation").run()
    app.button[[b.label for b in app.button].index("Add")].click().run()
    titles = card_titles(app)
    assert titles[-2:] == [f"**{count}. rotation**", f"**{count + 1}. normalize**"]
    assert not app.error, [e.value for e in app.error]


def test_reroll_shows_the_seed_it_drew_and_a_typed_seed_brings_a_draw_back(sample_workspace: Path) -> None:
    app = open_brushes("sample-images")
    app.number_input(key="brushes_seed").set_value(5).run()
    liked = preview_images(app)
    app.button[[b.label for b in app.button].index("Reroll")].click().run()
    drawn = app.session_state["brushes_working"]["seed"]
    assert drawn != 5 and app.number_input(key="brushes_seed").value == drawn  # in the box
    assert f"Previewed with seed **{drawn}**." in [c.value for c in app.caption]
    assert preview_images(app) != liked
    app.number_input(key="brushes_seed").set_value(5).run()
    assert preview_images(app) == liked and app.session_state["brushes_working"]["seed"] == 5


def test_the_header_names_the_recipe_saved_under_a_new_name(sample_workspace: Path) -> None:
    app = open_brushes("sample-images")
    app.text_input(key="brushes_name").set_value("my-new-name")
    app.button[[b.label for b in app.button].index("Save")].click().run()  # typed, then Save: one run
    assert any("Saved **my-new-name** version 1" in s.value for s in app.success)
    assert app.subheader[0].value == "Recipe · my-new-name"


def test_the_preview_says_its_variants_are_shown_before_normalize(sample_workspace: Path) -> None:
    """normalize's output is the numbers the model reads; the grid shows the picture just before it."""
    app = open_brushes("sample-images")
    note = "shown before normalize, which turns pixels into the numbers the model reads"
    assert any(note in c.value for c in app.caption)
    steps = app.session_state["brushes_working"]["steps"]
    assert steps[-1]["brush"] == "normalize"
    app.toggle(key=f"brushes_on_{steps[-1]['uid']}").set_value(False).run()
    assert not app.exception and not any(note in c.value for c in app.caption)


def query(app: AppTest) -> dict[str, str]:
    return {key: (value[-1] if isinstance(value, list) else value) for key, value in app.query_params.items()}


def test_the_address_bar_names_the_dataset_and_recipe_on_screen_even_the_defaults(
    sample_workspace: Path,
) -> None:
    """A bookmark of the page as first shown reopens it, even after a dataset that sorts first exists."""
    app = AppTest.from_file(APP, default_timeout=120)
    app.switch_page("pages/brushes.py")
    app.run()
    first = app.selectbox(key="dataset").value
    assert query(app) == {"dataset": first, "recipe": app.selectbox(key="recipe").value}


def test_a_link_naming_a_recipe_opens_it_in_the_picker_and_the_editor(sample_workspace: Path) -> None:
    app = open_brushes("sample-images")
    app.text_input(key="brushes_name").set_value("aaa-first")
    app.button[[b.label for b in app.button].index("Save")].click().run()
    linked = AppTest.from_file(APP, default_timeout=120)
    linked.query_params.update(dataset="sample-images", recipe="image-starter")
    linked.switch_page("pages/brushes.py")
    linked.run()
    assert not linked.exception
    assert linked.selectbox(key="recipe").value == "image-starter"
    assert linked.session_state["brushes_working"]["name"] == "image-starter"


def test_saving_under_a_new_name_shows_that_recipe_in_the_picker_and_the_link(sample_workspace: Path) -> None:
    app = open_brushes("sample-images")
    app.text_input(key="brushes_name").set_value("my-soft-crops")
    app.button[[b.label for b in app.button].index("Save")].click().run()
    assert not app.exception
    assert any("Saved **my-soft-crops** version 1" in s.value for s in app.success)
    assert app.selectbox(key="recipe").value == "my-soft-crops"
    assert query(app)["recipe"] == "my-soft-crops"
    app.run()
    assert app.session_state["brushes_working"]["name"] == "my-soft-crops", "the editor keeps the recipe"
