"""Where an import's files come from: a folder, a ``.zip`` archive, or files uploaded in the browser.

Each source yields ``Candidate`` objects (a display name, a label and a way to read the bytes) or
``Skipped`` entries for files refused before reading. Labels come from the immediate parent folder,
so ``cats/tabby.png`` and ``photos/cats/tabby.png`` are both labelled ``cats``.
"""

from __future__ import annotations

import io
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from canvascraft.config import get_settings
from canvascraft.errors import CorruptItemError, DatasetError, Skipped


@dataclass(frozen=True)
class Candidate:
    """One file offered to an import, not yet validated."""

    name: str
    label: str | None
    size: int
    read: Callable[[], bytes]


Entry = Candidate | Skipped


EXPORT_SIDECARS = ("manifest.json", "LICENCE.md")
"""What an exported dataset (``canvascraft.data.export``) carries beside its data, at its top."""


def is_ignorable(parts: tuple[str, ...]) -> bool:
    """Operating-system clutter (``.DS_Store``, ``__MACOSX/``, hidden files) is not user data, nor are
    the manifest and licence an export puts at its top (so an exported zip imports back cleanly)."""
    if len(parts) == 1 and parts[0] in EXPORT_SIDECARS:
        return True
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def label_from_parts(parts: tuple[str, ...]) -> str | None:
    return parts[-2] if len(parts) >= 2 else None


MB = 1024 * 1024  # the upload limit is set in these units (CANVASCRAFT_MAX_UPLOAD_MB)


def _too_large(size: int, max_bytes: int) -> str:
    return (
        f"refused: {size / MB:.2f} MB is over the {max_bytes / MB:g} MB limit "
        "(raise CANVASCRAFT_MAX_UPLOAD_MB to allow larger files)"
    )


def folder_entries(root: Path, max_bytes: int) -> Iterator[Entry]:
    """Every file under ``root`` in a stable order; links are listed as skipped, never followed."""
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder; give a folder, a .zip file or a single data file")
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        parts = relative.parts
        if is_ignorable(parts):
            continue
        name = relative.as_posix()
        if path.is_symlink():
            yield Skipped(name, "refused: symbolic link (links are not followed; copy the file in)")
            continue
        if not path.is_file():
            continue
        size = path.stat().st_size
        if size > max_bytes:
            yield Skipped(name, _too_large(size, max_bytes))
            continue
        yield Candidate(name=name, label=label_from_parts(parts), size=size, read=path.read_bytes)


def safe_member_parts(raw_name: str) -> tuple[str, ...] | None:
    """The member's path parts, or None when the name would escape the archive's folder."""
    name = raw_name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = tuple(part for part in PurePosixPath(name).parts if part not in ("", "."))
    if not parts or ".." in parts:
        return None
    return parts


ARCHIVE_RATIO = 100
"""An archive inflating more than this many times its packed size (over ``RATIO_FROM_BYTES``) is a
zip bomb, not a dataset: pictures and sound barely compress, and even text tables stay well under."""
RATIO_FROM_BYTES = 100 * MB


def check_archive(archive: zipfile.ZipFile, display: str) -> None:
    """Refuse an archive whose member count, inflated total or compression ratio is out of bounds,
    from its directory alone, before a byte is inflated (``CANVASCRAFT_MAX_ARCHIVE_MB`` and
    ``CANVASCRAFT_MAX_ARCHIVE_MEMBERS`` set the bounds)."""
    settings = get_settings()
    members = [info for info in archive.infolist() if not info.is_dir()]
    if len(members) > settings.max_archive_members:
        raise DatasetError(
            f"{display} holds {len(members):,} files, over the {settings.max_archive_members:,} an archive "
            "may hold; split it, or raise CANVASCRAFT_MAX_ARCHIVE_MEMBERS"
        )
    inflated = sum(info.file_size for info in members)
    if inflated > settings.max_archive_mb * MB:
        raise DatasetError(
            f"{display} would inflate to {inflated / MB:,.0f} MB, over the {settings.max_archive_mb:,} MB "
            "an archive may hold; split it, or raise CANVASCRAFT_MAX_ARCHIVE_MB"
        )
    packed = sum(info.compress_size for info in members)
    if inflated > RATIO_FROM_BYTES and inflated > ARCHIVE_RATIO * max(packed, 1):
        raise DatasetError(
            f"{display} would inflate {inflated / max(packed, 1):,.0f} times its size ({inflated / MB:,.0f} "
            f"MB from {packed / MB:,.1f} MB): that is a zip bomb, not a dataset, so nothing was read"
        )


def zip_entries(archive: zipfile.ZipFile, max_bytes: int, prefix: str = "") -> Iterator[Entry]:
    """Members of an open archive, read in memory: nothing is ever extracted to disk. The archive is
    checked whole first (``check_archive``); each member then inflates at most its declared size."""
    check_archive(archive, prefix.removesuffix(":") or "the archive")
    for info in archive.infolist():
        if info.is_dir():
            continue
        display = f"{prefix}{info.filename}"
        parts = safe_member_parts(info.filename)
        if parts is None:
            yield Skipped(display, "refused: archive member path escapes the archive's folder")
            continue
        if is_ignorable(parts):
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            yield Skipped(display, "refused: symbolic link inside the archive")
            continue
        if info.flag_bits & 0x1:
            yield Skipped(display, "refused: encrypted archive member")
            continue
        if info.file_size > max_bytes:
            yield Skipped(display, _too_large(info.file_size, max_bytes))
            continue
        yield Candidate(
            name="/".join(parts),
            label=label_from_parts(parts),
            size=info.file_size,
            read=_bounded_member_reader(archive, info, max_bytes),
        )


def _bounded_member_reader(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int
) -> Callable[[], bytes]:
    def read() -> bytes:
        # The declared size can lie (zip bombs); never inflate more than the limit allows.
        try:
            with archive.open(info) as member:
                data = member.read(max_bytes + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
            raise CorruptItemError(f"corrupt archive member: {error}") from None
        if len(data) > max_bytes:
            raise ValueError(_too_large(len(data), max_bytes))
        return data

    return read


def open_zip(data: bytes | Path, display: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data)
    except (zipfile.BadZipFile, OSError) as error:
        raise DatasetError(f"{display} is not a readable .zip archive ({error})") from None


def upload_name(raw_name: str) -> str:
    """The base name of an uploaded file: browsers may send folders or Windows paths in it."""
    return PurePosixPath(raw_name.replace("\\", "/")).name or "upload"


def upload_entries(
    files: list[tuple[str, bytes]], max_bytes: int, label: str | None = None
) -> Iterator[Entry]:
    """Files uploaded in the browser; a ``.zip`` among them is opened and its folders give labels.
    ``label`` goes to every file that brings no folder of its own (loose files, a zip's top level)."""
    for raw_name, data in files:
        yield from _uploaded(upload_name(raw_name), data, max_bytes, label or None)


def _uploaded(name: str, data: bytes, max_bytes: int, label: str | None) -> Iterator[Entry]:
    if len(data) > max_bytes:
        yield Skipped(name, _too_large(len(data), max_bytes))
        return
    if name.lower().endswith(".zip"):
        try:
            archive = open_zip(data, name)
        except DatasetError as error:
            yield Skipped(name, str(error))
            return
        for entry in zip_entries(archive, max_bytes, prefix=f"{name}:"):
            if isinstance(entry, Candidate) and entry.label is None and label:
                entry = Candidate(entry.name, label, entry.size, entry.read)
            yield entry
        return
    yield Candidate(name=name, label=label, size=len(data), read=lambda: data)


def folder_upload_entries(
    files: list[tuple[str, bytes]], max_bytes: int, label: str | None = None
) -> Iterator[Entry]:
    """A folder chosen in the browser: each name is its path inside the folder (``pets/cats/a.png``).
    The chosen folder's own name is dropped, so sub-folders give labels as a folder import's do
    (``cats``); files at its top level take ``label``. Names stay names: nothing becomes a path."""
    for raw_name, data in files:
        parts = safe_member_parts(raw_name)
        if parts is None:
            yield Skipped(upload_name(raw_name), "refused: the file's path escapes the chosen folder")
            continue
        inner = parts[1:] if len(parts) > 1 else parts
        if is_ignorable(inner):
            continue
        folder_label = label_from_parts(inner)
        yield from _uploaded("/".join(inner), data, max_bytes, folder_label or label or None)


def upload_entries_with_folder(
    files: list[tuple[str, bytes]], folder: list[tuple[str, bytes]], max_bytes: int, label: str | None
) -> Iterator[Entry]:
    """One submission of the upload form: loose files (and zips) and a chosen folder together."""
    yield from upload_entries(files, max_bytes, label)
    yield from folder_upload_entries(folder, max_bytes, label)


def upload_source(files: list[tuple[str, bytes]], folder: list[tuple[str, bytes]]) -> str:
    """How the versions table names an upload: ``upload of 3 files``, ``upload of folder pets (12 files)``."""
    count = len(files) + len(folder)
    text = f"upload of {count} file{'s' if count != 1 else ''}"
    if folder:
        top = safe_member_parts(folder[0][0])
        if top is not None and len(top) > 1:
            return f"upload of folder {top[0]} ({text.removeprefix('upload of ')})"
    return text


def path_entries(path: Path, max_bytes: int) -> Iterator[Entry]:
    """A folder, a ``.zip`` file or a single data file given on the command line."""
    if not path.exists():
        raise DatasetError(f"{path} does not exist; give a folder, a .zip file or a data file")
    if path.is_dir():
        yield from folder_entries(path, max_bytes)
    elif path.suffix.lower() == ".zip":
        yield from zip_entries(open_zip(path, path.name), max_bytes, prefix=f"{path.name}:")
    else:
        size = path.stat().st_size
        if size > max_bytes:
            yield Skipped(path.name, _too_large(size, max_bytes))
        else:
            yield Candidate(name=path.name, label=None, size=size, read=path.read_bytes)
