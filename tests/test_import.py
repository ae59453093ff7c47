"""Importing datasets: every bad file is skipped with its reason, the good ones land in a new version."""

from __future__ import annotations

import io
import stat
import struct
import threading
import uuid
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from PIL import Image

from canvascraft.config import get_settings
from canvascraft.data.blobs import BlobStore
from canvascraft.data.catalog import VersionView
from canvascraft.data.health import assess
from canvascraft.errors import DatasetError, NothingImportedError
from canvascraft.services.datasets import (
    import_path,
    import_uploads,
    list_datasets,
    list_versions,
    open_version,
)
from canvascraft.store.migrate import upgrade

OGG_AVAILABLE = "OGG" in sf.available_formats()


@pytest.fixture
def studio(workspace: Path) -> Iterator[Path]:
    """A migrated, empty workspace."""
    upgrade()
    yield workspace


def set_env(monkeypatch: pytest.MonkeyPatch, **values: object) -> None:
    """Change ``CANVASCRAFT_*`` settings for the rest of the test."""
    for key, value in values.items():
        monkeypatch.setenv(f"CANVASCRAFT_{key.upper()}", str(value))
    get_settings.cache_clear()


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (8, 8), mode: str = "RGB", seed: int = 0) -> bytes:
    """A small noise image: a different seed gives different bytes."""
    rng = np.random.default_rng(seed)
    channels = len(Image.new(mode, (1, 1)).getbands())
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    image = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels, mode=mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def audio_bytes(fmt: str = "WAV", seconds: float = 0.25, rate: int = 16_000, channels: int = 1) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype("float32")
    data = np.stack([tone] * channels, axis=1) if channels > 1 else tone
    buffer = io.BytesIO()
    sf.write(buffer, data, rate, format=fmt)
    return buffer.getvalue()


def write(root: Path, files: dict[str, bytes | str]) -> Path:
    """Create ``files`` (relative path: content) under ``root``."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    return root


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


def blob_files(workspace: Path) -> list[Path]:
    return sorted(p for p in (workspace / "blobs").rglob("*") if p.is_file())


def reasons(skipped: list) -> dict[str, str]:
    return {entry.name: entry.reason for entry in skipped}


def items_by_name(view: VersionView) -> dict:
    return {item.name: item for item in view.items}


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


# --- bad files are skipped, each with its reason ------------------------------------------------------


def test_bad_image_files_are_skipped_with_their_reasons(
    studio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, max_upload_mb=1, max_image_pixels=1000)
    folder = write(
        tmp_path / "art",
        {
            "cats/good.png": image_bytes("PNG", seed=1),
            "dogs/good.jpg": image_bytes("JPEG", seed=2),
            "cats/truncated.png": half(image_bytes("PNG", size=(30, 30), seed=3)),
            "cats/truncated.jpg": half(image_bytes("JPEG", size=(30, 30), seed=4)),
            "cats/random.png": np.random.default_rng(5).bytes(500),
            "cats/letter.jpg": "Dear diary, this is not a picture.",
            "cats/notes.txt": "not data",
            "cats/bomb.png": image_bytes("PNG", size=(64, 64), seed=6),
            "cats/huge.png": np.random.default_rng(7).bytes(1024 * 1024 + 100_000),
        },
    )

    report = import_path(folder, "art")

    expected = {
        "cats/truncated.png": "truncated",
        "cats/truncated.jpg": "truncated",
        "cats/random.png": "not an image",
        "cats/letter.jpg": "not an image",
        "cats/notes.txt": "unsupported file type",
        "cats/bomb.png": "pixel",
        "cats/huge.png": "mb",
    }
    got = reasons(report.skipped)
    assert set(got) == set(expected)
    for name, cause in expected.items():
        assert cause in got[name].lower(), (name, got[name])
    assert "64×64" in got["cats/bomb.png"] and "CANVASCRAFT_MAX_IMAGE_PIXELS" in got["cats/bomb.png"]
    assert "CANVASCRAFT_MAX_UPLOAD_MB" in got["cats/huge.png"]

    assert (report.modality, report.version, report.added, report.item_count) == ("image", 1, 2, 2)
    view = open_version("art")
    assert sorted(items_by_name(view)) == ["cats/good.png", "dogs/good.jpg"]
    assert reasons(view.skipped) == got, "the version keeps the skipped list for later"
    assert view.version.skipped_count == len(expected)
    assert len(blob_files(studio)) == 2, "skipped files are never stored"


def test_bad_audio_files_are_skipped_with_their_reasons(studio: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    folder = write(
        tmp_path / "sounds",
        {
            "tone/good.wav": audio_bytes("WAV"),
            "tone/empty.wav": b"",
            "tone/garbage.wav": rng.bytes(400),
            "tone/garbage.flac": rng.bytes(400),
            "tone/broken-header.wav": b"RIFF\x24\x00\x00\x00WAVEfmt " + rng.bytes(64),
        },
    )

    report = import_path(folder, "sounds")

    got = reasons(report.skipped)
    assert set(got) == {"tone/empty.wav", "tone/garbage.wav", "tone/garbage.flac", "tone/broken-header.wav"}
    assert "empty file (0 bytes)" in got["tone/empty.wav"]
    for name in ("tone/garbage.wav", "tone/garbage.flac", "tone/broken-header.wav"):
        assert got[name].startswith("undecodable audio: "), got[name]
        assert "object at 0x" not in got[name], "reasons are for people, not memory addresses"
    assert [item.name for item in open_version("sounds").items] == ["tone/good.wav"]


def test_bad_tables_are_skipped_with_their_reasons(studio: Path, tmp_path: Path) -> None:
    folder = write(
        tmp_path / "tables",
        {
            "good.csv": "style,size\nink,1\nwash,2\n",
            "latin1.csv": "style,name\nink,café\n".encode("latin-1"),
            "ragged.csv": "style,size\nink,1\nwash\n",
            "no-style.csv": "colour,size\nred,1\n",
            "header-only.csv": "style,size\n",
            "semicolons.csv": "style;size\nink;1\nwash;2\n",
            "stray-quote.csv": 'style,size\nink,1\nwash,"2"3\n',
            "unclosed-quote.csv": 'style,size\nink,1\nwash,"2\nink,3\n',
        },
    )

    report = import_path(folder, "tables", label_column="style")

    got = reasons(report.skipped)
    assert set(got) == {"latin1.csv", "ragged.csv", "no-style.csv", "header-only.csv", "semicolons.csv",
                        "stray-quote.csv", "unclosed-quote.csv"}  # fmt: skip
    assert got["semicolons.csv"].startswith("CSV line 1 is one column 'style;size': it looks separated by "
                                            "';'")  # fmt: skip
    assert got["stray-quote.csv"].startswith("stray quote in CSV line 3: ',' expected after '\"'")
    assert got["unclosed-quote.csv"].startswith("stray quote in CSV line 3: a quote opened there is never "
                                                "closed")  # fmt: skip
    assert "UTF-8" in got["latin1.csv"]
    assert "ragged" in got["ragged.csv"] and "line 3" in got["ragged.csv"]
    assert "'style'" in got["no-style.csv"] and "colour" in got["no-style.csv"]
    assert "no rows" in got["header-only.csv"]
    assert [item.name for item in open_version("tables").items] == ["good.csv"]


def test_tables_pandas_would_quietly_repair_or_that_are_too_wide_are_skipped_saying_why(
    studio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, max_table_columns=50)
    wide = ",".join(f"c{i}" for i in range(51))
    folder = write(
        tmp_path / "tables",
        {
            "good.csv": "style,size\nink,1\nwash,2\n",
            "twice.csv": "style,size,size\nink,1,2\n",
            "blank.csv": "style,,size\nink,1,2\n",
            "wide.csv": f"style,{wide}\nink," + ",".join("1" * 51) + "\n",
        },
    )

    report = import_path(folder, "tables", label_column="style")

    got = reasons(report.skipped)
    assert set(got) == {"twice.csv", "blank.csv", "wide.csv"}
    assert "'size' appears more than once" in got["twice.csv"]
    assert "column 2 has no name" in got["blank.csv"]
    assert "52 columns, over the 50" in got["wide.csv"] and "CANVASCRAFT_MAX_TABLE_COLUMNS" in got["wide.csv"]
    assert [item.name for item in open_version("tables").items] == ["good.csv"]


def test_a_file_over_the_size_limit_is_refused_and_a_smaller_one_is_kept(
    studio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, max_upload_mb=1)
    big = image_bytes("BMP", size=(600, 600))  # about 1.08 MB: a valid image, just too large
    assert len(big) > 1024 * 1024
    folder = write(tmp_path / "big", {"a/small.bmp": image_bytes("BMP", size=(50, 50)), "a/big.bmp": big})

    report = import_path(folder, "big")

    assert [s.name for s in report.skipped] == ["a/big.bmp"]
    assert "over the 1 MB limit" in report.skipped[0].reason
    assert [item.name for item in open_version("big").items] == ["a/small.bmp"]


# --- good files in every supported format -----------------------------------------------------------


def test_every_image_format_imports_with_its_size_and_channels(studio: Path, tmp_path: Path) -> None:
    folder = write(
        tmp_path / "formats",
        {
            "png/rgba.png": image_bytes("PNG", size=(12, 10), mode="RGBA"),
            "jpeg/photo.jpg": image_bytes("JPEG", size=(16, 9)),
            "jpeg/photo2.jpeg": image_bytes("JPEG", size=(9, 16), mode="L"),
            "webp/web.webp": image_bytes("WEBP", size=(20, 5)),
            "bmp/grey.bmp": image_bytes("BMP", size=(7, 3), mode="L"),
        },
    )

    report = import_path(folder, "formats")

    assert report.skipped == []
    items = items_by_name(open_version("formats"))
    expected = {
        "png/rgba.png": ("PNG", 12, 10, 4, "png"),
        "jpeg/photo.jpg": ("JPEG", 16, 9, 3, "jpeg"),
        "jpeg/photo2.jpeg": ("JPEG", 9, 16, 1, "jpeg"),
        "webp/web.webp": ("WEBP", 20, 5, 3, "webp"),
        "bmp/grey.bmp": ("BMP", 7, 3, 1, "bmp"),
    }
    assert set(items) == set(expected)
    for name, (fmt, width, height, channels, label) in expected.items():
        item = items[name]
        assert (item.format, item.width, item.height, item.channels, item.label) == (
            fmt,
            width,
            height,
            channels,
            label,
        )
        assert item.size_bytes == (folder / name).stat().st_size
        assert item.duration_s is None and item.n_rows is None


def test_a_phone_jpeg_with_extra_pictures_imports_and_other_formats_are_named(
    studio: Path, tmp_path: Path
) -> None:
    """Phones store depth or HDR maps as extra pictures in the JPEG (MPF); Pillow calls that MPO."""
    photo, extra = Image.new("RGB", (16, 12), (200, 30, 30)), Image.new("RGB", (8, 6), (0, 0, 0))
    mpo = io.BytesIO()
    photo.save(mpo, "MPO", save_all=True, append_images=[extra])
    gif = io.BytesIO()
    photo.save(gif, "GIF")
    folder = write(
        tmp_path / "phone", {"photos/IMG_0001.jpg": mpo.getvalue(), "photos/anim.png": gif.getvalue()}
    )

    report = import_path(folder, "phone")

    assert reasons(report.skipped) == {
        "photos/anim.png": "GIF images are not supported; convert it to PNG, JPEG, WebP or BMP"
    }
    (item,) = open_version("phone").items
    assert (item.name, item.format, item.width, item.height, item.channels) == (
        "photos/IMG_0001.jpg",
        "JPEG",
        16,
        12,
        3,
    )


@pytest.mark.parametrize(
    ("fmt", "rate", "channels"),
    [
        ("WAV", 16_000, 1),
        ("FLAC", 22_050, 2),
        pytest.param(
            "OGG", 16_000, 1, marks=pytest.mark.skipif(not OGG_AVAILABLE, reason="libsndfile without OGG")
        ),
    ],
)
def test_every_audio_format_imports_with_its_duration_and_sample_rate(
    studio: Path, tmp_path: Path, fmt: str, rate: int, channels: int
) -> None:
    name = f"tone/clip.{fmt.lower()}"
    folder = write(tmp_path / "audio", {name: audio_bytes(fmt, seconds=0.25, rate=rate, channels=channels)})

    report = import_path(folder, "audio")

    assert report.skipped == []
    (item,) = open_version("audio").items
    assert (item.name, item.label, item.format) == (name, "tone", fmt)
    assert item.sample_rate == rate
    assert item.channels == channels
    assert item.duration_s == pytest.approx(0.25, abs=0.01)
    assert item.width is None and item.n_rows is None


FREEDESKTOP_SOUNDS = Path("/usr/share/sounds/freedesktop/stereo")
MP3_AVAILABLE = "MP3" in sf.available_formats()


def opus_bytes() -> bytes:
    buffer = io.BytesIO()
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(12_000) / 48_000)).astype("float32")
    sf.write(buffer, tone, 48_000, format="OGG", subtype="OPUS")
    return buffer.getvalue()


@pytest.mark.skipif(not FREEDESKTOP_SOUNDS.is_dir(), reason="no freedesktop sound theme on this machine")
def test_real_oga_sounds_import_as_ogg_vorbis(studio: Path, tmp_path: Path) -> None:
    sounds = sorted(FREEDESKTOP_SOUNDS.glob("*.oga"))[:3]
    folder = write(tmp_path / "theme", {f"bells/{path.name}": path.read_bytes() for path in sounds})

    report = import_path(folder, "theme")

    assert report.skipped == [] and report.added == len(sounds) > 0
    assert {item.format for item in open_version("theme").items} == {"OGG"}
    assert all(item.duration_s and item.duration_s > 0 for item in open_version("theme").items)


@pytest.mark.skipif(not OGG_AVAILABLE, reason="libsndfile without OGG")
def test_opus_and_mp3_clips_import(studio: Path) -> None:
    files = [("a.opus", opus_bytes()), ("b.oga", opus_bytes())]
    if MP3_AVAILABLE:
        files.append(("c.mp3", audio_bytes("MP3", seconds=0.5)))

    report = import_uploads(files, "voices", label="hello")

    assert report.skipped == []
    formats = {item.name: item.format for item in open_version("voices").items}
    assert formats["a.opus"] == "OGG"
    if MP3_AVAILABLE:
        assert formats["c.mp3"] == "MP3"


def test_m4a_and_aac_are_skipped_saying_what_cannot_be_decoded_and_what_to_convert_to(studio: Path) -> None:
    report = import_uploads(
        [
            ("ok.wav", audio_bytes()),
            ("phone.m4a", b"\0\0\0 ftypM4A " + bytes(64)),
            ("radio.aac", b"\xff\xf1" * 40),
        ],
        "memos",
    )

    reasons = {s.name: s.reason for s in report.skipped}
    assert "M4A (AAC) audio cannot be decoded here" in reasons["phone.m4a"]
    assert "convert it to WAV or FLAC" in reasons["phone.m4a"]
    assert "AAC audio cannot be decoded here" in reasons["radio.aac"]
    assert [item.name for item in open_version("memos").items] == ["ok.wav"]


def test_a_dataset_of_only_m4a_files_says_why_nothing_was_imported(studio: Path) -> None:
    with pytest.raises(NothingImportedError) as caught:
        import_uploads([("a.m4a", bytes(100)), ("b.m4a", bytes(100))], "memos")

    assert {s.reason.split(":")[0] for s in caught.value.skipped} == {
        "M4A (AAC) audio cannot be decoded here"
    }


def test_csv_and_parquet_import_with_rows_schema_and_class_counts(studio: Path, tmp_path: Path) -> None:
    folder = tmp_path / "paints"
    folder.mkdir()
    pd.DataFrame({"hue": [0.1, 0.5, 0.9], "style": ["ink", "wash", "ink"]}).to_csv(
        folder / "a.csv", index=False
    )
    pd.DataFrame({"hue": [0.2, 0.3], "style": ["oil", "ink"], "layers": [1, 2]}).to_parquet(
        folder / "b.parquet"
    )

    report = import_path(folder, "paints", label_column="style")

    assert report.skipped == []
    view = open_version("paints")
    assert (view.modality, view.version.label_column) == ("table", "style")
    items = items_by_name(view)
    csv_item, parquet_item = items["a.csv"], items["b.parquet"]
    assert (csv_item.format, csv_item.n_rows) == ("CSV", 3)
    assert (parquet_item.format, parquet_item.n_rows) == ("PARQUET", 2)
    assert [c["name"] for c in csv_item.columns] == ["hue", "style"]
    assert [c["name"] for c in parquet_item.columns] == ["hue", "style", "layers"]
    assert {c["name"]: c["dtype"] for c in parquet_item.columns}["layers"] == "int64"
    assert {c["name"]: c["dtype"] for c in csv_item.columns}["hue"] == "float64"
    assert csv_item.class_counts == {"ink": 2, "wash": 1}
    assert parquet_item.class_counts == {"ink": 1, "oil": 1}
    assert csv_item.label is None and parquet_item.label is None
    assert assess(view).class_counts == {"ink": 3, "oil": 1, "wash": 1}, "rows are counted across files"
    assert view.version.label_count == 3


def test_a_table_without_the_label_column_is_skipped_naming_the_column(studio: Path, tmp_path: Path) -> None:
    folder = write(tmp_path / "t", {"with.csv": "style,x\nink,1\n", "without.csv": "genre,x\nink,1\n"})

    report = import_path(folder, "t", label_column="style")

    assert [s.name for s in report.skipped] == ["without.csv"]
    assert "no label column 'style'" in report.skipped[0].reason
    assert "genre" in report.skipped[0].reason, "the reason lists the columns the file does have"


# --- labels -----------------------------------------------------------------------------------------


def test_labels_come_from_the_immediate_sub_folder(studio: Path, tmp_path: Path) -> None:
    folder = write(
        tmp_path / "drawings",
        {
            "cats/a.png": image_bytes(seed=1),
            "photos/dogs/b.png": image_bytes(seed=2),
            "c.png": image_bytes(seed=3),
        },
    )

    import_path(folder, "drawings")

    view = open_version("drawings")
    assert {item.name: item.label for item in view.items} == {
        "cats/a.png": "cats",
        "photos/dogs/b.png": "dogs",
        "c.png": None,
    }
    assert assess(view).class_counts == {"(no label)": 1, "cats": 1, "dogs": 1}
    assert view.version.label_count == 2, "unlabelled items are not a class"


def test_hidden_files_and_os_clutter_are_ignored(studio: Path, tmp_path: Path) -> None:
    folder = write(
        tmp_path / "clutter",
        {
            "cats/a.png": image_bytes(),
            "cats/.DS_Store": b"\x00\x00\x00\x01Bud1",
            "__MACOSX/cats/._a.png": b"\x00\x05\x16\x07",
        },
    )

    report = import_path(folder, "clutter")

    assert report.skipped == []
    assert [item.name for item in open_version("clutter").items] == ["cats/a.png"]


def test_symbolic_links_in_a_folder_are_refused_not_followed(studio: Path, tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"secret.png": image_bytes(seed=9)})
    folder = write(tmp_path / "linked", {"cats/a.png": image_bytes(seed=1)})
    (folder / "cats" / "link.png").symlink_to(outside / "secret.png")
    (folder / "linked-folder").symlink_to(outside, target_is_directory=True)

    report = import_path(folder, "linked")

    got = reasons(report.skipped)
    assert set(got) == {"cats/link.png", "linked-folder"}
    assert all("symbolic link" in reason for reason in got.values())
    assert [item.name for item in open_version("linked").items] == ["cats/a.png"]


# --- zip archives -----------------------------------------------------------------------------------


def test_a_zipped_folder_imports_with_labels(studio: Path, tmp_path: Path) -> None:
    archive = tmp_path / "set.zip"
    archive.write_bytes(
        zip_bytes(
            {
                "set/cats/a.png": image_bytes(seed=1),
                "set/dogs/b.png": image_bytes(seed=2),
                "set/dogs/": b"",
            },
            zipfile.ZIP_DEFLATED,
        )
    )

    report = import_path(archive, "zipped")

    assert report.skipped == []
    view = open_version("zipped")
    assert {item.name: item.label for item in view.items} == {
        "set/cats/a.png": "cats",
        "set/dogs/b.png": "dogs",
    }
    assert view.version.source == "file set.zip"


def test_zip_members_that_escape_or_link_are_refused_and_nothing_lands_outside(
    studio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd" / "deeper"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    absolute = f"/canvascraft-test-{uuid.uuid4().hex}.png"
    link = zipfile.ZipInfo("cats/link.png")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("cats/good.png", image_bytes(seed=1))
        archive.writestr("../evil.png", image_bytes(seed=2))
        archive.writestr("cats/../../evil.png", image_bytes(seed=3))
        archive.writestr(absolute, image_bytes(seed=4))
        archive.writestr("C:/windows/evil.png", image_bytes(seed=5))
        archive.writestr("cats\\..\\..\\evil.png", image_bytes(seed=6))
        archive.writestr(link, "../../evil.png")
    (tmp_path / "evil.zip").write_bytes(buffer.getvalue())

    report = import_path(tmp_path / "evil.zip", "evil")

    got = reasons(report.skipped)
    assert set(got) == {
        "evil.zip:../evil.png",
        "evil.zip:cats/../../evil.png",
        f"evil.zip:{absolute}",
        "evil.zip:C:/windows/evil.png",
        "evil.zip:cats\\..\\..\\evil.png",
        "evil.zip:cats/link.png",
    }
    assert all(reason.startswith("refused:") for reason in got.values())
    assert "symbolic link" in got["evil.zip:cats/link.png"]
    assert [item.name for item in open_version("evil").items] == ["cats/good.png"]

    assert list(tmp_path.rglob("*evil.png")) == []
    assert not Path(absolute).exists()
    written = {p.relative_to(studio).parts[0] for p in studio.rglob("*") if p.is_file()}
    assert written <= {"blobs", "canvascraft.db", "canvascraft.db-wal", "canvascraft.db-shm"}
    assert len(blob_files(studio)) == 1


def test_a_zip_member_over_the_limit_is_refused_even_when_it_compresses_well(
    studio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, max_upload_mb=1)
    archive = tmp_path / "bomb.zip"
    archive.write_bytes(
        zip_bytes(
            {"a/ok.png": image_bytes(), "a/zeros.png": bytes(3 * 1024 * 1024)},
            compression=zipfile.ZIP_DEFLATED,
        )
    )
    assert archive.stat().st_size < 100_000

    report = import_path(archive, "bomb")

    assert list(reasons(report.skipped)) == ["bomb.zip:a/zeros.png"]
    assert "over the 1 MB limit" in report.skipped[0].reason
    assert [item.name for item in open_version("bomb").items] == ["a/ok.png"]


def test_an_archive_with_too_many_files_is_refused_before_any_is_read(
    studio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, max_archive_members=5)
    archive = tmp_path / "many.zip"
    archive.write_bytes(zip_bytes({f"a/{i}.png": image_bytes(seed=i) for i in range(6)}))
    with pytest.raises(
        DatasetError, match=r"many\.zip holds 6 files, over the 5 .*CANVASCRAFT_MAX_ARCHIVE_MEMBERS"
    ):
        import_path(archive, "many")
    assert blob_files(studio) == []


def test_an_archive_inflating_past_the_total_limit_is_refused_before_any_is_read(
    studio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, max_archive_mb=2)
    archive = tmp_path / "big.zip"
    members = {f"a/{i}.wav": bytes(1024 * 1024) for i in range(3)}
    archive.write_bytes(zip_bytes(members, compression=zipfile.ZIP_DEFLATED))
    with pytest.raises(
        DatasetError, match=r"big\.zip would inflate to 3 MB, over the 2 MB .*CANVASCRAFT_MAX_ARCHIVE_MB"
    ):
        import_path(archive, "big")
    assert blob_files(studio) == []


def test_a_zip_bomb_of_many_members_each_under_the_limit_is_refused_whole(
    studio: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "bomb.zip"
    archive.write_bytes(
        zip_bytes({f"a/{i}.png": bytes(3 * 1024 * 1024) for i in range(40)}, compression=zipfile.ZIP_DEFLATED)
    )
    assert archive.stat().st_size < 1024 * 1024  # 120 MB inside
    with pytest.raises(DatasetError, match=r"bomb\.zip would inflate \d[\d,]* times its size .*zip bomb"):
        import_path(archive, "bomb")
    assert blob_files(studio) == []


def forge_declared_size(data: bytes, member: str, size: int) -> bytes:
    """Make ``member`` claim ``size`` uncompressed bytes in its local header and the central directory."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        target = archive.getinfo(member)
        offset = archive.start_dir
        count = len(archive.infolist())
    struct.pack_into("<I", out, target.header_offset + 22, size)
    for _ in range(count):
        assert out[offset : offset + 4] == b"PK\x01\x02"
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", out, offset + 28)
        if out[offset + 46 : offset + 46 + name_length].decode() == member:
            struct.pack_into("<I", out, offset + 24, size)
        offset += 46 + name_length + extra_length + comment_length
    return bytes(out)


def test_a_zip_member_that_lies_about_its_size_is_refused_not_inflated(
    studio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, max_upload_mb=1)
    honest = zip_bytes(
        {"a/ok.png": image_bytes(), "a/liar.png": bytes(3 * 1024 * 1024)}, compression=zipfile.ZIP_DEFLATED
    )
    forged = forge_declared_size(honest, "a/liar.png", 100)
    with zipfile.ZipFile(io.BytesIO(forged)) as check:
        assert check.getinfo("a/liar.png").file_size == 100

    report = import_path(write(tmp_path, {"liar.zip": forged}) / "liar.zip", "liar")

    (skipped,) = report.skipped
    assert skipped.name.endswith("a/liar.png")
    assert "corrupt" in skipped.reason
    assert [item.name for item in open_version("liar").items] == ["a/ok.png"]
    assert all(path.stat().st_size < 1024 * 1024 for path in blob_files(studio))


def test_a_corrupt_zip_member_is_skipped_and_the_rest_imports(studio: Path, tmp_path: Path) -> None:
    data = bytearray(
        zip_bytes(
            {"a/ok.png": image_bytes(seed=1), "a/damaged.png": image_bytes(size=(40, 40), seed=2)},
            zipfile.ZIP_DEFLATED,
        )
    )
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("a/damaged.png")
    start = info.header_offset + 30 + len(info.filename) + 200
    data[start : start + 64] = bytes(64)

    report = import_uploads([("damaged.zip", bytes(data))], "damaged")

    (skipped,) = report.skipped
    assert skipped.name.endswith("a/damaged.png")
    assert "corrupt" in skipped.reason
    assert [item.name for item in open_version("damaged").items] == ["a/ok.png"]


def test_a_corrupt_zip_file_gives_a_clear_error(studio: Path, tmp_path: Path) -> None:
    archive = write(tmp_path, {"broken.zip": b"PK\x03\x04 this is not really a zip"}) / "broken.zip"

    with pytest.raises(DatasetError, match=r"broken\.zip is not a readable \.zip archive"):
        import_path(archive, "broken")

    assert list_datasets() == []


def test_a_missing_path_gives_a_clear_error(studio: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        import_path(tmp_path / "nowhere", "nowhere")


# --- browser uploads --------------------------------------------------------------------------------


def test_upload_names_never_become_paths(
    studio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "a" / "b" / "c"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    passwd, windows = image_bytes(seed=1), image_bytes(seed=2)

    report = import_uploads(
        [("../../etc/passwd.png", passwd), ("C:\\x\\y.png", windows)], "uploads", label="sketches"
    )

    assert report.skipped == []
    view = open_version("uploads")
    assert {item.name: item.label for item in view.items} == {"passwd.png": "sketches", "y.png": "sketches"}
    store = BlobStore(get_settings().blob_dir)
    for item, data in zip(sorted(view.items, key=lambda i: i.name), [passwd, windows], strict=True):
        assert store.path_for(item.sha256).read_bytes() == data
        assert store.path_for(item.sha256).parent.parent == studio / "blobs"
    on_disk = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    assert "passwd.png" not in on_disk and "y.png" not in on_disk
    assert not list(tmp_path.rglob("etc"))
    assert len(blob_files(studio)) == 2


def test_uploaded_zip_folders_become_labels_and_loose_files_take_the_given_label(studio: Path) -> None:
    archive = zip_bytes({"cats/a.png": image_bytes(seed=1), "dogs/b.png": image_bytes(seed=2)})

    report = import_uploads(
        [("pets.zip", archive), ("loose.png", image_bytes(seed=3)), ("bad.zip", b"nope")],
        "pets",
        label="birds",
    )

    assert reasons(report.skipped) == {
        "bad.zip": "bad.zip is not a readable .zip archive (File is not a zip file)"
    }
    assert {item.name: item.label for item in open_version("pets").items} == {
        "cats/a.png": "cats",
        "dogs/b.png": "dogs",
        "loose.png": "birds",
    }


def test_an_upload_without_a_label_is_unlabelled(studio: Path) -> None:
    import_uploads([("x.png", image_bytes())], "plain")

    assert [item.label for item in open_version("plain").items] == [None]


# --- dedup and versions -----------------------------------------------------------------------------


def test_importing_the_same_folder_twice_makes_no_new_version_and_says_so(
    studio: Path, tmp_path: Path
) -> None:
    folder = write(
        tmp_path / "art",
        {"cats/a.png": image_bytes(seed=1), "dogs/b.png": image_bytes(seed=2), "dogs/bad.png": b"nope"},
    )
    first = import_path(folder, "art")
    v1_before = open_version("art", 1)
    blobs_before = blob_files(studio)

    second = import_path(folder, "art")

    assert (first.version, first.stored_new, first.deduplicated, first.unchanged) == (1, 2, 0, False)
    assert (second.version, second.added, second.stored_new, second.unchanged) == (1, 2, 0, True)
    assert second.summary == "all 2 files are already in version 1 of art; no new version made"
    assert [s.name for s in second.skipped] == ["dogs/bad.png"], "the bad file is still reported"
    assert blob_files(studio) == blobs_before
    assert open_version("art", 1) == v1_before
    assert [v.number for v in list_versions("art")] == [1]


def test_a_re_upload_into_a_later_version_names_that_version(studio: Path) -> None:
    files = [(f"{n}.png", image_bytes(seed=n)) for n in range(3)]
    import_uploads(files[:1], "cats")
    import_uploads(files, "cats")

    again = import_uploads(files, "cats")

    assert again.summary == "all 3 files are already in version 2 of cats; no new version made"
    assert [v.number for v in list_versions("cats")] == [1, 2]
    # the same bytes under another label are a change
    relabelled = import_uploads(files, "cats", label="tabby")
    assert (relabelled.unchanged, relabelled.version) == (False, 3)


def test_replace_with_the_same_files_makes_no_version(studio: Path, tmp_path: Path) -> None:
    folder = write(tmp_path / "v1", {"cats/a.png": image_bytes(seed=1)})
    import_path(folder, "art")

    report = import_path(folder, "art", replace=True)

    assert report.unchanged and [v.number for v in list_versions("art")] == [1]
    assert report.summary == "the file is already in version 1 of art; no new version made"


def test_a_new_version_adds_new_files_and_replaces_same_names(studio: Path, tmp_path: Path) -> None:
    import_path(
        write(tmp_path / "v1", {"cats/a.png": image_bytes(seed=1), "cats/b.png": image_bytes(seed=2)}), "art"
    )
    v1 = open_version("art", 1)

    report = import_path(
        write(tmp_path / "v2", {"cats/b.png": image_bytes(seed=20), "dogs/c.png": image_bytes(seed=3)}), "art"
    )

    assert (report.version, report.added, report.item_count, report.stored_new) == (2, 2, 3, 2)
    v2 = items_by_name(open_version("art", 2))
    old = items_by_name(v1)
    assert sorted(v2) == ["cats/a.png", "cats/b.png", "dogs/c.png"]
    assert v2["cats/a.png"] == old["cats/a.png"]
    assert v2["cats/b.png"].sha256 != old["cats/b.png"].sha256, "the same name takes the new bytes"
    assert open_version("art", 1) == v1
    assert open_version("art", 2).version.added_count == 2


def test_replace_makes_a_version_with_only_the_new_files(studio: Path, tmp_path: Path) -> None:
    import_path(write(tmp_path / "v1", {"cats/a.png": image_bytes(seed=1)}), "art")

    report = import_path(write(tmp_path / "v2", {"dogs/z.png": image_bytes(seed=2)}), "art", replace=True)

    assert (report.version, report.item_count) == (2, 1)
    assert [item.name for item in open_version("art", 2).items] == ["dogs/z.png"]
    assert [item.name for item in open_version("art", 1).items] == ["cats/a.png"]


def test_identical_files_in_one_import_are_stored_once_and_flagged_as_duplicates(
    studio: Path, tmp_path: Path
) -> None:
    same = image_bytes(seed=7)
    folder = write(
        tmp_path / "dupes",
        {"cats/a.png": same, "dogs/copy-of-a.png": same, "dogs/other.png": image_bytes(seed=8)},
    )

    report = import_path(folder, "dupes")

    assert (report.added, report.stored_new, report.deduplicated) == (3, 2, 1)
    assert (report.repeats, report.already_stored) == (1, 0)
    assert report.summary == (
        "imported 3 files into dupes v1 (image): 3 items in this version; "
        "1 file in the import repeats others in it; each is stored once"
    )
    assert len(blob_files(studio)) == 2
    health = assess(open_version("dupes"))
    (group,) = health.duplicates
    assert sorted(group.names) == ["cats/a.png", "dogs/copy-of-a.png"]
    assert group.conflicting_labels
    assert any("different labels" in warning for warning in health.warnings)


def test_health_says_no_problems_only_when_the_duplicates_table_is_empty(
    studio: Path, tmp_path: Path
) -> None:
    """ "No problems found: … duplicates look fine" stood above a table of duplicate groups."""
    same = image_bytes(seed=7)
    folder = write(tmp_path / "copies", {"cats/a.png": same, "cats/a-again.png": same,
                                         "dogs/b.png": image_bytes(seed=8)})  # fmt: skip
    import_path(folder, "copies")
    health = assess(open_version("copies"))
    assert len(health.duplicates) == 1 and not health.duplicates[0].conflicting_labels
    assert health.all_clear is None
    assert any("1 group(s) of identical files (1 extra copies" in warning for warning in health.warnings)
    clean = write(tmp_path / "clean", {"cats/a.png": same, "dogs/b.png": image_bytes(seed=8)})
    import_path(clean, "clean")
    assert (
        assess(open_version("clean")).all_clear
        == "No problems found: labels, sizes and duplicates look fine."
    )


def test_identical_bytes_stored_at_the_same_moment_count_as_new_once(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    writers = 8
    for round_number in range(10):
        data = image_bytes(seed=100 + round_number)
        barrier = threading.Barrier(writers)

        def put(_: int, data: bytes = data, barrier: threading.Barrier = barrier) -> tuple[str, bool]:
            barrier.wait()
            return store.put(data)

        with ThreadPoolExecutor(max_workers=writers) as pool:
            results = list(pool.map(put, range(writers)))
        assert len({sha for sha, _ in results}) == 1
        assert [new for _, new in results].count(True) == 1, "exactly one writer stored it"
        assert store.read(results[0][0]) == data
    stored = [path.name for path in (tmp_path / "blobs").rglob("*") if path.is_file()]
    assert len(stored) == 10 and not [name for name in stored if name.endswith(".tmp")]


# --- nothing importable, wrong modality, bad names --------------------------------------------------


@pytest.mark.parametrize(
    "files",
    [
        pytest.param(
            {"a/truncated.png": half(image_bytes(size=(30, 30))), "a/notes.txt": "x", "a/huge.png": None},
            id="decodable-extensions",
        ),
        pytest.param({"a/notes.txt": "x", "a/readme.md": "y", "a/huge.png": None}, id="no-known-extension"),
    ],
)
def test_nothing_importable_raises_with_every_reason_and_creates_no_dataset(
    studio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str | bytes | None]
) -> None:
    set_env(monkeypatch, max_upload_mb=1)
    big = bytes(1024 * 1024 + 1)
    folder = write(tmp_path / "junk", {name: big if data is None else data for name, data in files.items()})

    with pytest.raises(NothingImportedError) as caught:
        import_path(folder, "junk")

    got = reasons(caught.value.skipped)
    assert set(got) == set(files), "every skipped file is listed, including refused ones"
    assert "MB" in got["a/huge.png"]
    assert list_datasets() == []
    assert blob_files(studio) == []


def test_audio_files_in_an_image_dataset_are_skipped(studio: Path, tmp_path: Path) -> None:
    folder = write(
        tmp_path / "mixed",
        {
            "cats/a.png": image_bytes(seed=1),
            "cats/b.png": image_bytes(seed=2),
            "cats/purr.wav": audio_bytes(),
        },
    )

    report = import_path(folder, "mixed")

    assert report.modality == "image"
    assert reasons(report.skipped) == {"cats/purr.wav": "audio file, but dataset 'mixed' holds image items"}

    with pytest.raises(NothingImportedError) as caught:
        import_path(write(tmp_path / "only-audio", {"meow.wav": audio_bytes()}), "mixed")
    assert "holds image items" in caught.value.skipped[0].reason
    assert [v.number for v in list_versions("mixed")] == [1]


@pytest.mark.parametrize("name", ["../x", "", "   ", "a/b", ".hidden", "x" * 121])
def test_an_invalid_dataset_name_is_refused(studio: Path, tmp_path: Path, name: str) -> None:
    folder = write(tmp_path / "ok", {"a.png": image_bytes()})

    with pytest.raises(DatasetError, match="is not allowed"):
        import_path(folder, name)

    assert list_datasets() == []
    assert blob_files(studio) == []


# --- the sample workspace ---------------------------------------------------------------------------


def test_the_sample_workspace_holds_three_labelled_datasets(sample_workspace: Path) -> None:
    datasets = {d.name: d for d in list_datasets()}

    assert set(datasets) == {"sample-images", "sample-audio", "sample-table"}
    images, audio, table = datasets["sample-images"], datasets["sample-audio"], datasets["sample-table"]
    assert (images.modality, audio.modality, table.modality) == ("image", "audio", "table")
    assert images.label_count >= 4 and images.item_count >= 40
    assert audio.label_count >= 4 and audio.item_count >= 32
    assert table.label_count >= 3 and table.item_count == 1

    view = open_version("sample-table")
    assert view.version.label_column == "style"
    (item,) = view.items
    assert sum(item.class_counts.values()) == item.n_rows
    assert len(item.class_counts) == table.label_count
    assert all(i.label for i in open_version("sample-images").items)


def test_audio_with_samples_that_are_not_numbers_is_skipped_saying_so(studio: Path, tmp_path: Path) -> None:
    poisoned = np.full(4000, np.nan, dtype="float32")
    buffer = io.BytesIO()
    sf.write(buffer, poisoned, 16_000, format="WAV", subtype="FLOAT")
    folder = write(tmp_path / "sounds", {"bell/good.wav": audio_bytes(), "bell/nan.wav": buffer.getvalue()})

    report = import_path(folder, "sounds")

    got = reasons(report.skipped)
    assert list(got) == ["bell/nan.wav"]
    assert "4,000 samples that are not numbers" in got["bell/nan.wav"]
    assert [item.name for item in open_version("sounds").items] == ["bell/good.wav"]


def test_audio_too_long_too_fast_too_wide_or_misnamed_is_skipped_from_its_header(
    studio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, max_audio_seconds=1, max_audio_sample_rate=48_000, max_audio_channels=2)
    folder = write(
        tmp_path / "sounds",
        {
            "bell/good.wav": audio_bytes(),
            "bell/long.wav": audio_bytes(seconds=1.5),
            "bell/fast.wav": audio_bytes(rate=96_000),
            "bell/wide.wav": audio_bytes(channels=4),
            "bell/flac.wav": audio_bytes("FLAC"),
        },
    )

    got = reasons(import_path(folder, "sounds").skipped)

    assert set(got) == {"bell/long.wav", "bell/fast.wav", "bell/wide.wav", "bell/flac.wav"}
    assert (
        "over the 1 s accepted" in got["bell/long.wav"]
        and "CANVASCRAFT_MAX_AUDIO_SECONDS" in got["bell/long.wav"]
    )
    assert "96,000 Hz is over the 48,000 Hz" in got["bell/fast.wav"]
    assert "4 channels are over the 2 accepted" in got["bell/wide.wav"]
    assert "named WAV but holds FLAC audio" in got["bell/flac.wav"]
    assert [item.name for item in open_version("sounds").items] == ["bell/good.wav"]


def test_a_picture_that_is_a_strip_is_skipped_saying_its_shape(studio: Path, tmp_path: Path) -> None:
    folder = write(
        tmp_path / "pictures",
        {"ink/ok.png": image_bytes(size=(40, 8)), "ink/strip.png": image_bytes(size=(5000, 1))},
    )
    got = reasons(import_path(folder, "pictures").skipped)
    assert list(got) == ["ink/strip.png"]
    assert "5000×1 pixels, a shape over 50:1" in got["ink/strip.png"]


def test_a_column_mixing_numbers_and_text_is_named_by_the_health_view(studio: Path, tmp_path: Path) -> None:
    rows = "style,size,weight\n" + "".join(f"ink,{i},{i / 10}\n" for i in range(8)) + "wash,large,1,5\n"
    folder = write(tmp_path / "tables", {"sizes.csv": rows.replace("1,5\n", "1.5\n")})
    import_path(folder, "sizes", label_column="style")

    warnings = assess(open_version("sizes")).warnings
    mixed = [w for w in warnings if "mixes numbers and text" in w]
    assert mixed == [
        "sizes.csv: column 'size' mixes numbers and text (1 of 9 values are text, e.g. 'large'); it is read "
        "as categories, so fix those values if it holds numbers"
    ]


def test_repeats_inside_a_new_upload_are_not_called_already_stored(studio: Path) -> None:
    same = image_bytes(seed=3)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for n in range(9):
            zf.writestr(f"cats/copy{n}.png", same)
        zf.writestr("dogs/d.png", image_bytes(seed=4))

    report = import_uploads([("pets.zip", archive.getvalue())], "pets")

    assert (report.repeats, report.already_stored) == (8, 0)
    assert "8 files in the upload repeat others in it; each is stored once" in report.summary
    assert "already" not in report.summary


def test_files_stored_by_another_dataset_are_told_apart_from_repeats(studio: Path) -> None:
    shared, fresh = image_bytes(seed=5), image_bytes(seed=6)
    import_uploads([("shared.png", shared)], "first")

    report = import_uploads([("a.png", shared), ("b.png", fresh), ("c.png", fresh)], "second")

    assert (report.repeats, report.already_stored, report.stored_new) == (1, 1, 1)
    assert report.summary.endswith(
        "1 file in the upload repeats others in it; each is stored once; "
        "1 file was already in the workspace, so no second copy was stored"
    )


# --- a folder chosen in the browser -----------------------------------------------------------------


def test_a_folder_upload_takes_labels_from_sub_folders_in_one_version(studio: Path) -> None:
    folder = [
        ("pets/cats/a.png", image_bytes(seed=1)),
        ("pets/dogs/b.png", image_bytes(seed=2)),
        ("pets/dogs/puppies/c.png", image_bytes(seed=3)),
        ("pets/d.png", image_bytes(seed=4)),
        ("pets/.DS_Store", b"clutter"),
    ]

    report = import_uploads([("e.png", image_bytes(seed=5))], "pets", label="pets", folder_files=folder)

    assert (report.version, report.added, report.skipped) == (1, 5, [])
    labels = {item.name: item.label for item in open_version("pets").items}
    assert labels == {
        "cats/a.png": "cats",
        "dogs/b.png": "dogs",
        "dogs/puppies/c.png": "puppies",
        "d.png": "pets",
        "e.png": "pets",
    }
    assert list_versions("pets")[-1].source == "upload of folder pets (6 files)"


def test_a_folder_upload_never_lets_a_name_escape(studio: Path) -> None:
    report = import_uploads(
        [], "safe", folder_files=[("pets/../../x.png", image_bytes(seed=1)), ("pets/ok/y.png", image_bytes())]
    )

    assert [(s.name, s.reason) for s in report.skipped] == [
        ("x.png", "refused: the file's path escapes the chosen folder")
    ]
    assert [item.name for item in open_version("safe").items] == ["ok/y.png"]


def test_the_upload_label_goes_to_a_zips_top_level_files_too(studio: Path) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("top.png", image_bytes(seed=1))
        zf.writestr("dogs/b.png", image_bytes(seed=2))

    import_uploads([("a.zip", archive.getvalue()), ("loose.png", image_bytes(seed=3))], "z", label="cats")

    labels = {item.name: item.label for item in open_version("z").items}
    assert labels == {"top.png": "cats", "dogs/b.png": "dogs", "loose.png": "cats"}
