"""Every registered modality passes the shipped ``ModalityContract``; the registry answers unknown
names with the known ones, stays cheap to import, and takes a new modality without other changes."""

from __future__ import annotations

import subprocess
import sys
from typing import ClassVar

import pytest

from canvascraft.data.inspect import inspect_item, modality_of
from canvascraft.errors import CorruptItemError, UnknownNameError
from canvascraft.modalities import MODALITY_REGISTRY, ItemInfo, Modality, all_modalities, get_modality
from canvascraft.modalities.files import FileModality
from canvascraft.modalities.registry import register_modality
from canvascraft.recipe.spec import MODALITIES
from canvascraft.testing.modalities import ModalityContract


class TestEveryModality(ModalityContract):
    @pytest.fixture(params=[m.name for m in all_modalities()])
    def modality(self, request: pytest.FixtureRequest) -> Modality:
        return get_modality(request.param)


def test_the_registry_holds_the_modalities_recipes_name() -> None:
    assert [m.name for m in all_modalities()] == list(MODALITIES)


def test_an_unknown_modality_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown modality 'hologram'; known: image, audio, table"):
        get_modality("hologram")
    with pytest.raises(UnknownNameError, match="did you mean image"):
        get_modality("imag")


def test_looking_up_a_modality_imports_nothing_heavy() -> None:
    code = (
        "import sys; from canvascraft.modalities import all_modalities; all_modalities(); "
        "print(sorted(m for m in ('torch', 'pandas', 'PIL', 'soundfile', 'mlflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_registered_modality_is_what_an_import_asks() -> None:
    """Adding a modality is its module: the extension, inspection and messages follow from it."""

    @register_modality
    class Sketch(FileModality):
        name: ClassVar[str] = "sketch"
        extensions: ClassVar[dict[str, str]] = {".sketch": "SKETCH"}
        files: ClassVar[str] = "sketches"
        reads: ClassVar[str] = "a sketch"

        def inspect(
            self, filename: str, data: bytes, *, max_image_pixels: int, label_column: str | None
        ) -> ItemInfo:
            if not data.startswith(b"SKETCH"):
                raise CorruptItemError("not a sketch")
            return ItemInfo(modality=self.name, format="SKETCH")

    try:
        assert modality_of("cats/one.SKETCH") == "sketch"
        assert inspect_item("one.sketch", b"SKETCH lines", max_image_pixels=1).format == "SKETCH"
        with pytest.raises(CorruptItemError, match="not a sketch"):
            inspect_item("one.sketch", b"scribble", max_image_pixels=1)
        with pytest.raises(CorruptItemError, match=r"or sketches \(\.sketch\)"):
            inspect_item("notes.txt", b"text", max_image_pixels=1)
    finally:
        MODALITY_REGISTRY.unregister("sketch")
    assert modality_of("one.sketch") is None
