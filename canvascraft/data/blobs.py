"""Content-addressed file storage: every imported file lives once, under its sha256.

Names the user gave (uploads, archive members) are never used as paths here; only the hash is,
so no upload can write anywhere but the store. The hash is of the file's own bytes; what lies on disk
is sealed when the workspace has an encryption key (``canvascraft.store.sealing``).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from canvascraft.store.sealing import seal, unseal


class BlobStore:
    """Files under ``root/ab/abcdef…`` (the first two hex digits fan out the folders)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store ``data``; returns its sha256 and whether it was new (False: already stored)."""
        sha256 = hashlib.sha256(data).hexdigest()
        path = self.path_for(sha256)
        if path.exists():
            return sha256, False
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then link into place, so a reader never sees half a file; the link fails when another
        # writer (thread or process) stored the same bytes first, so only one of them reports it new.
        temporary = path.with_name(f"{sha256}.{uuid.uuid4().hex}.tmp")
        temporary.write_bytes(seal(data))
        try:
            os.link(temporary, path)
        except FileExistsError:
            return sha256, False
        except OSError:  # a file system without hard links: an atomic rename still never clashes
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        return sha256, True

    def read(self, sha256: str) -> bytes:
        return unseal(self.path_for(sha256).read_bytes(), f"stored file {sha256[:12]}")
