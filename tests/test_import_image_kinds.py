"""Pictures whose bytes are not what their name says, or of unusual kinds, are refused or normalised.

Other files named ``.png`` (a zip, an HTML page, a PDF, an EPS, nothing at all) are refused by their
bytes before decoding; CMYK, 16-bit, palette-with-transparency and multi-frame pictures import and
decode to the same uint8 RGB tensors every other picture gives.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from canvascraft.data.reads import item_bytes
from canvascraft.modalities import get_modality
from canvascraft.services.datasets import import_path, open_version
from canvascraft.store.migrate import upgrade


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return buffer.getvalue()


NOT_PICTURES = {
    "zip.png": (zipped(), "not an image"),
    "page.png": (b"<!doctype html><html><body>hi</body></html>", "not an image"),
    "document.png": (encoded(Image.new("RGB", (8, 8)), "PDF"), "not an image"),
    "drawing.png": (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n", "EPS images are not supported"),
    "nothing.png": (b"", "empty file (0 bytes)"),
}
KINDS = {
    "cmyk.jpg": encoded(Image.new("CMYK", (8, 6), (0, 50, 100, 0)), "JPEG"),
    "sixteen-bit.png": encoded(Image.fromarray(np.full((6, 8), 300, dtype=np.uint16)), "PNG"),
    "palette-alpha.png": encoded(Image.new("P", (8, 6)), "PNG", transparency=0),
    "frames.png": encoded(
        Image.new("RGB", (8, 6)), "PNG", save_all=True, append_images=[Image.new("RGB", (8, 6), (255, 0, 0))]
    ),
}


@pytest.fixture
def studio(workspace: Path) -> Iterator[Path]:
    upgrade()
    yield workspace


def test_files_named_as_pictures_are_refused_by_their_bytes_and_unusual_kinds_normalised(
    studio: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "art" / "mixed"
    folder.mkdir(parents=True)
    for name, (data, _) in NOT_PICTURES.items():
        (folder / name).write_bytes(data)
    for name, data in KINDS.items():
        (folder / name).write_bytes(data)

    report = import_path(tmp_path / "art", "art")

    got = {entry.name: entry.reason for entry in report.skipped}
    assert set(got) == {f"mixed/{name}" for name in NOT_PICTURES}
    for name, (_, reason) in NOT_PICTURES.items():
        assert reason in got[f"mixed/{name}"], got
    items = {item.name: item for item in open_version("art").items}
    assert set(items) == {f"mixed/{name}" for name in KINDS}
    image = get_modality("image")
    for item in items.values():
        tensor = image.decode(item_bytes(item.sha256))
        assert tensor.dtype == torch.uint8 and tuple(tensor.shape) == (3, 6, 8), item.name
