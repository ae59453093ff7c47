"""The studio's HTTP API (``/api/v1``, FastAPI): a thin door to the same services as the pages and the
CLI. It imports ``canvascraft.services``, ``canvascraft.errors`` and ``canvascraft.share`` only (an
import-linter contract checks it); the studio server (``components.server``) mounts it at ``/api``."""

from canvascraft.api.app import API_PREFIX, VERSION, create_api, status_of

__all__ = ["API_PREFIX", "VERSION", "create_api", "status_of"]
