"""Starters that suit the data and the too-little-data warning: the sizing rule on real pictures, the
service, and the launch form through AppTest (the suggestion saved and picked; the warning before launch).

The small real pictures are scikit-learn's bundled handwritten digits (8×8, one file per digit) and its
bundled sample photographs (427×640), written as PNG files and imported as a user would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from canvascraft.data.reads import item_bytes, open_version
from canvascraft.modalities import get_modality
from canvascraft.recipe.compose import compose
from canvascraft.recipe.spec import validate_recipe
from canvascraft.recipe.starters import STRONG_FROM, fit_image_starter, fitted_side
from canvascraft.services.datasets import import_path
from canvascraft.services.jobs import data_amount
from canvascraft.services.recipes import list_recipes, load_recipe, save_suggested_starter, suggest_starter
from canvascraft.training.amount import MIN_TRAIN_PER_CLASS

APP = str(Path(__file__).resolve().parent.parent / "app.py")
NAMES = ("zero", "one", "two")


def write_digits(folder: Path, per_class: dict[str, int]) -> Path:
    """Real handwritten digits (scikit-learn's bundled set), 8×8 grey PNGs, one folder per digit."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    for number, name in enumerate(NAMES):
        (folder / name).mkdir(parents=True)
        images = digits.images[digits.target == number][: per_class[name]]
        for index, image in enumerate(images):
            pixels = (image * (255 / 16)).round().astype(np.uint8)
            Image.fromarray(pixels, mode="L").save(folder / name / f"{name}-{index:03d}.png")
    return folder


def photo_sides() -> list[int]:
    from sklearn.datasets import load_sample_images

    return [min(image.shape[:2]) for image in load_sample_images().images]


def test_the_fitted_side_is_the_median_smaller_side_clamped_and_a_multiple_of_8(tmp_path: Path) -> None:
    folder = write_digits(tmp_path / "digits", dict.fromkeys(NAMES, 5))
    sides = [min(Image.open(path).size) for path in folder.rglob("*.png")]
    assert set(sides) == {8}
    assert fitted_side(sides) == 16  # never upscaled to 64; 16 is the smallest a small CNN reads
    assert fitted_side(photo_sides()) == 128  # 427 px photographs: the largest the starter makes
    assert fitted_side([64] * 24) == 64  # the sample pictures keep their size
    assert fitted_side([28, 28, 28]) == 32 and fitted_side([20, 21, 100]) == 24  # halves round up
    assert fitted_side([30, 60, 200, 20]) == 48  # median of an even count: (30 + 60) / 2 = 45 → 48
    with pytest.raises(ValueError):
        fitted_side([])


def test_augmentation_strength_follows_the_smallest_class() -> None:
    few = fit_image_starter("digits", [(8, 8)] * 120, dict.fromkeys(NAMES, 40))
    many = fit_image_starter("photos", [(427, 640)] * 900, dict.fromkeys(NAMES, STRONG_FROM))
    assert few.based_on == "image-starter" and few.caution == ""
    assert "horizontal_flip" not in {step.brush for step in few.recipe.brushes}
    assert many.based_on == "image-strong" and "mirrors" in many.caution
    assert "horizontal_flip" in {step.brush for step in many.recipe.brushes}
    assert few.because == "items are 8×8; 40 per class"
    mixed = fit_image_starter("mixed", [(30, 40), (60, 60), (200, 90)], {"a": 2, "b": 5})
    assert mixed.because == "items' smaller side is 60 px (median); 2–5 per class"
    assert mixed.fitted == "at 64 px"


def test_the_suggested_starter_resizes_real_digits_to_16_px(sample_workspace: Path, tmp_path: Path) -> None:
    import_path(write_digits(tmp_path / "digits", dict.fromkeys(NAMES, 40)), "digits")
    suggestion = suggest_starter("digits")
    assert suggestion is not None and not suggestion.saved and not suggestion.same_as_base
    assert suggestion.sentence() == (
        "Suggested for this dataset: image-starter at 16 px (items are 8×8; 40 per class)"
    )
    saved = save_suggested_starter("digits")
    assert (saved.name, saved.version) == ("digits-starter", 1)
    assert suggest_starter("digits").saved  # type: ignore[union-attr]
    assert save_suggested_starter("digits").new_version is False  # unchanged data: no new version
    recipe = validate_recipe(load_recipe("digits-starter"))
    view = open_version("digits")
    sample = get_modality("image").decode(item_bytes(view.items[0].sha256))
    assert tuple(sample.shape[1:]) == (8, 8)
    for stage in ("train", "eval"):
        assert tuple(compose(recipe, stage).apply(sample, seed=3).shape) == (3, 16, 16)


def test_the_amount_check_names_the_classes_under_the_floor(sample_workspace: Path, tmp_path: Path) -> None:
    import_path(write_digits(tmp_path / "few", {"zero": 12, "one": 20, "two": 40}), "few-digits")
    amount = data_amount("few-digits")
    assert amount.counts == {"zero": 10, "one": 16, "two": 32}  # the training split: 80% of each class
    assert amount.short == [("zero", 10), ("one", 16)]
    assert amount.problem() == (
        f"Too little data to train well: 2 of 3 classes have fewer than {MIN_TRAIN_PER_CLASS} training "
        "items (zero 10, one 16)."
    )
    assert "import them as a new version" in amount.sentence("few-digits-starter")
    assert data_amount("few-digits", max_items=36).counts == {"zero": 5, "one": 8, "two": 16}  # a limit too
    assert data_amount("few-digits", val_fraction=0.05).counts["one"] == 19


# The launch form


def open_train() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.switch_page("pages/train.py")
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def texts(app: AppTest) -> list[str]:
    return [element.value for element in [*app.markdown, *app.caption]]


def test_the_form_starts_small_pictures_from_the_starter_sized_to_them(
    sample_workspace: Path, tmp_path: Path
) -> None:
    """The default a user launches with is the fitted starter, saved so it can be opened and edited;
    the plain one stays a pick away, with the way back to the fitted one."""
    import_path(write_digits(tmp_path / "digits", dict.fromkeys(NAMES, 40)), "digits")
    app = open_train()
    app.selectbox(key="train_dataset").set_value("digits").run()
    expected = "Suggested for this dataset: image-starter at 16 px (items are 8×8; 40 per class)"
    assert any(expected in text for text in texts(app))
    assert app.selectbox(key="train_recipe_image_image-cnn").value == "digits-starter"
    assert any("In use: digits-starter" in text for text in texts(app))
    assert not app.warning  # 32 training items per class: enough
    recipe = validate_recipe(load_recipe("digits-starter"))
    assert [s.params["size"] for s in recipe.brushes if "size" in s.params] == [16, 16]

    app.selectbox(key="train_recipe_image_image-cnn").set_value("image-starter").run()
    app.button(key="train_use_suggestion").click().run()
    assert not app.exception and not app.error
    assert app.selectbox(key="train_recipe_image_image-cnn").value == "digits-starter"
    assert load_recipe("digits-starter") == recipe, "opening the form again saved no new version"


def test_plain_pictures_keep_the_plain_starter(sample_workspace: Path) -> None:
    app = open_train()
    app.selectbox(key="train_dataset").set_value("sample-images").run()
    assert app.selectbox(key="train_recipe_image_image-cnn").value == "image-starter"
    assert "sample-images-starter" not in {r.name for r in list_recipes()}


def test_the_form_warns_before_launch_when_classes_are_too_small(
    sample_workspace: Path, tmp_path: Path
) -> None:
    import_path(write_digits(tmp_path / "few", {"zero": 12, "one": 20, "two": 40}), "few-digits")
    app = open_train()
    app.selectbox(key="train_dataset").set_value("few-digits").run()
    (warning,) = app.warning
    assert "2 of 3 classes have fewer than 20 training items (zero 10, one 16)" in warning.value
    assert "baseline" in warning.value
    assert app.selectbox(key="train_recipe_image_image-cnn").value == "few-digits-starter", "gentle and sized"

    app.selectbox(key="train_dataset").set_value("sample-table").run()
    assert not app.warning  # 57 or more training rows in every class
