"""Files at rest, sealed with a key: stored files and checkpoints unreadable in a copied workspace.

Off by default. With ``CANVASCRAFT_ENCRYPTION_KEYS`` set (one or more Fernet keys, comma separated,
newest first) every file the blob store and the training loop write is sealed with the newest key
(Fernet: AES-128-CBC with an HMAC-SHA256, so a changed byte is caught, never decrypted into garbage),
and every key in the list opens what it sealed, so a key is rotated by putting a new one first and
running ``canvascraft encryption apply`` (which re-seals everything under it) before dropping the old.

A sealed file starts with :data:`MAGIC`; a file without it was written before the key was set and is
read as it is, so turning encryption on loses nothing (``apply`` seals those too). A sealed file read
without a key, or with none of the keys that sealed it, is a :class:`~canvascraft.errors.ConfigError`
that says which setting to give.

What is sealed: the blob store (every imported file), the checkpoint folders (weights, optimiser
state) and the stored drift references (sorted feature values of the training data). The databases
(names, labels, metrics) and MLflow's artifacts (logged models, sample grids) are not; the README says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from canvascraft.config import get_settings
from canvascraft.errors import ConfigError

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

MAGIC = b"CCSEALED1\n"
KEYS_SETTING = "CANVASCRAFT_ENCRYPTION_KEYS"


def new_key() -> str:
    """A fresh key to put in :data:`KEYS_SETTING` (keep it out of the workspace folder)."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    from cryptography.fernet import Fernet, MultiFernet

    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError:
        raise ConfigError(
            f"{KEYS_SETTING} holds a value that is not a key (each is 44 characters of url-safe base64); "
            "make one with `canvascraft encryption new-key`"
        ) from None


def _keys() -> tuple[str, ...]:
    return tuple(get_settings().encryption_key_list)


def is_on() -> bool:
    """Whether new files are sealed (a key is set)."""
    return bool(_keys())


def seal(data: bytes) -> bytes:
    """``data`` sealed with the newest key; unchanged when no key is set."""
    keys = _keys()
    return MAGIC + _cipher(keys).encrypt(data) if keys else data


def is_sealed(data: bytes) -> bool:
    return data.startswith(MAGIC)


def unseal(data: bytes, label: str) -> bytes:
    """The plain bytes of a file read from disk (``label`` names it in the message); a file written
    before a key was set comes back as it is."""
    if not is_sealed(data):
        return data
    from cryptography.fernet import InvalidToken

    keys = _keys()
    if not keys:
        raise ConfigError(
            f"{label} is encrypted and no key is set: give this workspace's key in {KEYS_SETTING}"
        )
    try:
        return _cipher(keys).decrypt(data[len(MAGIC) :])
    except InvalidToken:
        raise ConfigError(
            f"{label} is encrypted with a key that is not in {KEYS_SETTING}, or it was changed after it "
            "was written: give the key it was sealed with (keys are tried in order)"
        ) from None


def read_file(path: Path) -> bytes:
    """A stored file's plain bytes."""
    return unseal(path.read_bytes(), path.name)


def reseal_file(path: Path) -> None:
    """Seal ``path`` under the newest key: a plain file is sealed, a sealed one re-sealed (Fernet's
    rotate). The new bytes go to a temporary file renamed over the old, so a stop halfway leaves one
    of the two whole."""
    keys = _keys()
    if not keys:
        raise ConfigError(f"set {KEYS_SETTING} first: there is no key to seal with")
    current = path.read_bytes()
    if is_sealed(current):
        unseal(current, path.name)  # a file no key opens is named, not rewritten
        new = MAGIC + _cipher(keys).rotate(current[len(MAGIC) :])
    else:
        new = seal(current)
    partial = path.with_name(path.name + ".sealing")
    partial.write_bytes(new)
    os.replace(partial, path)


def sealed_folders() -> Iterator[Path]:
    """Every file under the folders this module seals: the blob store, the job folders' checkpoints and
    the stored drift references."""
    settings = get_settings()
    if settings.drift_reference_dir.is_dir():
        yield from (p for p in settings.drift_reference_dir.glob("*.npz") if p.is_file())
    if settings.blob_dir.is_dir():
        yield from (p for p in settings.blob_dir.rglob("*") if p.is_file() and not p.name.endswith(".tmp"))
    if settings.jobs_dir.is_dir():
        for folder in settings.jobs_dir.glob("*/checkpoints"):
            yield from (p for p in folder.glob("*.safetensors") if p.is_file())
