"""The DiffusionBrush on a real store with a real tiny generator: a new version holding the old items
plus marked generated pictures, reproducible by seed, refused for foreign labels, kept out of
validation, and the `datasets augment` command."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from canvascraft.cli import app
from canvascraft.errors import DatasetError
from canvascraft.recipe.starters import STARTER_RECIPES
from canvascraft.services.datasets import add_generated, import_path, item_bytes, open_version
from canvascraft.training.data import item_split, load_split, validation_members
from tests.test_pages import open_page

GENERATOR = "shapes-maker@champion"
LABELS = ["checker", "circle", "square", "stripes", "triangle"]


@pytest.mark.usefixtures("flow")
def test_a_new_version_holds_the_old_items_and_marked_generated_ones() -> None:
    before = open_version("sample-images")

    report = add_generated("sample-images", GENERATOR, 3, seed=5, steps=3)

    assert (report.version, report.from_version) == (before.version.number + 1, before.version.number)
    assert report.per_label == dict.fromkeys(LABELS, 3) and report.added == 15
    after = open_version("sample-images")
    assert after.version.number == report.version and report.item_count == len(after.items)
    old = {(i.name, i.sha256, i.label) for i in before.items}
    assert old <= {(i.name, i.sha256, i.label) for i in after.items}
    made = [i for i in after.items if i.is_generated]
    assert len(made) == 15 and len(after.items) == len(before.items) + 15
    assert sorted(i.generated["seed"] for i in made) == sorted([5, 6, 7] * 5)  # type: ignore[index]
    assert {i.generated["generator"] for i in made} == {GENERATOR}  # type: ignore[index]
    assert {i.label for i in made} == set(LABELS)
    assert all(i.name.startswith("generated/shapes-maker_champion/") for i in made)
    picture = Image.open(io.BytesIO(item_bytes(made[0].sha256)))
    assert picture.format == "PNG" and made[0].format == "PNG"
    # the version it came from is untouched
    assert open_version("sample-images", before.version.number) == before


@pytest.mark.usefixtures("flow")
def test_the_same_seed_adds_the_same_bytes() -> None:
    add_generated("sample-images", GENERATOR, 2, labels=["circle"], seed=11, steps=3)
    first = {i.name: i.sha256 for i in open_version("sample-images").items if i.is_generated}
    add_generated("sample-images", GENERATOR, 2, labels=["circle"], seed=11, steps=3)
    second = {i.name: i.sha256 for i in open_version("sample-images").items if i.is_generated}

    assert first == second and len(first) == 2
    assert sorted(first) == [f"generated/shapes-maker_champion/circle-{s}.png" for s in (11, 12)]


@pytest.mark.usefixtures("flow")
def test_a_generator_whose_labels_the_dataset_lacks_is_refused(tmp_path: Path) -> None:
    for label in ("cat", "dog"):
        (tmp_path / "pets" / label).mkdir(parents=True)
        for k in range(2):
            pixels = np.random.default_rng(k).integers(0, 255, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "pets" / label / f"{k}.png")
    import_path(tmp_path / "pets", "pets")

    with pytest.raises(DatasetError) as refused:
        add_generated("pets", GENERATOR, 2)

    message = str(refused.value)
    assert "checker, circle, square, stripes, triangle" in message and "cat, dog" in message
    assert open_version("pets").version.number == 1  # nothing written
    with pytest.raises(DatasetError, match="1 to 500"):
        add_generated("sample-images", GENERATOR, 501)


@pytest.mark.usefixtures("flow")
def test_validation_of_the_new_version_is_the_old_ones_and_holds_no_generated_item() -> None:
    old = open_version("sample-images").version.number
    new = add_generated("sample-images", GENERATOR, 4, seed=1, steps=3).version

    def members(version: int) -> list[tuple[str, str, str | None]]:
        return [(m.name, m.label, m.sha256) for m in validation_members("sample-images", version=version)]

    assert members(new) == members(old) and members(old)
    assert not any(name.startswith("generated/") for name, _, _ in members(new))
    view = open_version("sample-images", new)
    train, val, classes = item_split(view, 0.2, 0, None)
    assert {i for i, item in enumerate(view.items) if item.is_generated} <= set(train)
    assert not any(view.items[i].is_generated for i in val) and classes == LABELS
    # a quick trial run on a subset keeps a share of the generated items, still all in training
    train, val, _ = item_split(view, 0.2, 0, 40)
    assert any(view.items[i].is_generated for i in train) and not any(view.items[i].is_generated for i in val)
    recipe = next(r for r in STARTER_RECIPES if r.name == "image-starter")
    split = load_split("sample-images", recipe, version=new)
    assert len(split.train) == len([i for i in view.items if i.label]) - len(split.val)


@pytest.mark.usefixtures("flow")
def test_the_augment_command_prints_the_new_version_and_its_counts() -> None:
    runner = CliRunner()
    old = open_version("sample-images").version.number

    done = runner.invoke(
        app, ["datasets", "augment", "sample-images", "--generator", GENERATOR, "--per-label", "2",
              "--label", "square", "--seed", "3", "--steps", "2"],
    )  # fmt: skip

    assert done.exit_code == 0, done.output
    total = len(open_version("sample-images").items)
    assert done.output.strip() == (
        f"added 2 generated picture(s) to sample-images v{old + 1} (from v{old}): square 2; "
        f"{total} items in this version"
    )
    refused = runner.invoke(app, ["datasets", "augment", "sample-images", "--generator", GENERATOR,
                                  "--per-label", "2", "--label", "hexagon"])  # fmt: skip
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines() == [
        "error: shapes-maker@champion makes no label hexagon; its labels: " + ", ".join(LABELS)
    ]


@pytest.mark.usefixtures("flow")
def test_the_data_page_panel_adds_generated_pictures() -> None:
    old = open_version("sample-images").version.number
    app = open_page("pages/data.py", dataset="sample-images")

    picker = next(s for s in app.selectbox if s.label == "Generator")
    assert picker.options == ["shapes-maker@champion", "shapes-maker/1"]  # the registered generators
    picker.set_value(GENERATOR)
    next(n for n in app.number_input if n.label == "Pictures per label").set_value(1)
    next(n for n in app.number_input if n.label == "Sampling steps").set_value(2)
    next(b for b in app.button if b.label == "Add generated pictures").click()
    app.run()

    assert not app.exception, [e.message for e in app.exception]
    assert any(f"version {old + 1} (from v{old})" in s.value for s in app.success), [
        s.value for s in app.success
    ]
    assert sum(i.is_generated for i in open_version("sample-images").items) == 5


@pytest.mark.usefixtures("flow")
def test_browse_marks_generated_pictures_and_can_show_only_them() -> None:
    version = add_generated("sample-images", GENERATOR, 1, seed=3, steps=2).version
    app = open_page("pages/data.py", dataset="sample-images", version=str(version))

    app.segmented_control(key="data_origin").set_value("generated").run()
    assert any(c.value == "Showing 5 of 5 items" for c in app.caption), [c.value for c in app.caption]
    marks = sorted(c.value for c in app.caption if c.value.startswith(":material/auto_awesome:"))
    assert marks == sorted(f":material/auto_awesome: generated by {GENERATOR}, seed 3" for _ in range(5))
    app.segmented_control(key="data_origin").set_value("imported").run()
    assert not [c for c in app.caption if c.value.startswith(":material/auto_awesome:")]
