"""The keys that sign share links: a ring, oldest to newest; the newest signs, every one verifies.

The ring is ``CANVASCRAFT_LINK_KEYS`` (comma-separated) when that is set, else ``link-keys.json`` in
the workspace, made on first use and readable by its owner only (0600). Rotating adds a new key at the
end, so links signed with the old ones keep working; dropping the old keys ends every link they signed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path

from canvascraft.config import get_settings
from canvascraft.errors import ShareLinkError

KEY_BYTES = 32
MIN_KEY_LENGTH = 16
MAX_KEYS = 20


def key_ring() -> list[str]:
    """The signing keys, oldest to newest (never empty): from the setting, else the workspace's file."""
    settings = get_settings()
    if settings.link_keys is not None:
        keys = [key.strip() for key in settings.link_keys.split(",") if key.strip()]
        short = [index + 1 for index, key in enumerate(keys) if len(key) < MIN_KEY_LENGTH]
        if not keys or short:
            where = f" (key {', '.join(map(str, short))})" if short else ""
            raise ShareLinkError(
                f"CANVASCRAFT_LINK_KEYS holds no usable key{where}: give keys of at least "
                f"{MIN_KEY_LENGTH} characters, oldest to newest, separated by commas, or unset it to use "
                "the workspace's key file"
            )
        return keys
    path = settings.link_keys_file
    if not path.exists():
        _write(path, [secrets.token_urlsafe(KEY_BYTES)], create=True)
    return _read(path)


def rotate_key() -> int:
    """Add a new newest key to the workspace's ring; links signed before still open. The ring's size."""
    path = _own_ring("rotate the share-link key")
    keys = [*key_ring(), secrets.token_urlsafe(KEY_BYTES)][-MAX_KEYS:]
    _write(path, keys)
    return len(keys)


def drop_old_keys() -> int:
    """Keep only the newest key: every link signed with an older one stops opening. How many went."""
    path = _own_ring("drop old share-link keys")
    keys = key_ring()
    _write(path, keys[-1:])
    return len(keys) - 1


def _own_ring(action: str) -> Path:
    if get_settings().link_keys is not None:
        raise ShareLinkError(
            f"cannot {action}: the keys come from CANVASCRAFT_LINK_KEYS; add a new key at its end (or "
            "remove the old ones from its start) and restart the studio"
        )
    return get_settings().link_keys_file


def _read(path: Path) -> list[str]:
    try:
        keys = json.loads(path.read_text(encoding="utf-8"))["keys"]
        if not keys or not all(isinstance(k, str) and len(k) >= MIN_KEY_LENGTH for k in keys):
            raise ValueError("no keys")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ShareLinkError(
            f"the share-link key file {path} cannot be read ({error}); restore it from a backup, or delete "
            "it to make a new key (every share link made so far then stops opening)"
        ) from None
    return list(keys)


def _write(path: Path, keys: list[str], create: bool = False) -> None:
    """Write the ring through a private temporary file (0600 from the start), then move it into place:
    on first use with ``os.link``, so of two processes making the file at once one wins and both read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump({"keys": keys}, out)
    try:
        if create:
            with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
                os.link(temporary, path)
        else:
            temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
