"""Names, labels and link values a user gave are shown as text: no link, image or autolink forms from
them on any page (a label ``![t](https:host/x.png)`` would make the browser fetch that address)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from canvascraft.services.datasets import import_path
from components.text import plain

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PICTURE = "![t](https:127.0.0.1:9/x.png)"
PHISH = "[Sign in again](https:127.0.0.1:9/phish)"
LIVE_LINK = re.compile(r"(?<!\\)\]\(|(?<!\\)https?://\w|(?<!\\)www\.\w")
"""A link or image (``](`` not escaped) or an autolink in rendered Markdown."""


def rendered_text(app: AppTest) -> list[str]:
    """Every piece of Markdown the run rendered: text elements, alerts, captions, image captions,
    table cells and option labels."""
    texts = [e.value for kind in ("markdown", "caption", "error", "warning", "info", "success")
             for e in app.get(kind)]  # fmt: skip
    texts += [caption for image in app.get("imgs") for caption in (i.caption for i in image.proto.imgs)]
    texts += [str(cell) for table in app.table for cell in table.value.to_numpy().ravel()]
    texts += [str(group.proto) for group in app.get("button_group")]
    return texts


def test_plain_breaks_links_images_and_autolinks_and_keeps_other_text() -> None:
    for hostile in (PICTURE, PHISH, "see https://127.0.0.1:9/x or www.example.org", "<https://h.example>"):
        assert not LIVE_LINK.search(plain(hostile)), plain(hostile)
    for message in ("brushes[2].sigma: must be <= 10", "There is no study '../etc'", "an http:// address"):
        assert plain(message) == message


def test_the_data_page_shows_hostile_labels_and_file_names_as_text(
    sample_workspace: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "drawings"
    for index, label in enumerate((PICTURE, PHISH)):
        (folder / label).mkdir(parents=True)
        for copy in range(2):
            Image.fromarray(np.full((8, 8, 3), 60 * index + copy, np.uint8)).save(
                folder / label / f"{copy}.png"
            )
    (folder / PHISH / "[open](https:127.0.0.1:9).jpg").write_text("not a picture")
    import_path(folder, "drawings")

    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params["dataset"] = "drawings"
    app.switch_page("pages/data.py").run()
    assert not app.exception, [e.message for e in app.exception]

    texts = rendered_text(app)
    assert any("Sign in again" in text for text in texts)  # the labels are there, as text
    assert any("open" in text and "jpg" in text for text in texts)  # and the skipped file's name
    assert [text for text in texts if LIVE_LINK.search(text)] == []
