"""``python -m canvascraft.tracking.ui_server HOST PORT``: MLflow's UI on the workspace, read-only.

MLflow's own ``mlflow server`` has no read-only mode and no authentication: anyone who reaches it can
delete runs, move aliases or upload files into a model's folder through its artifact proxy (which the
studio would then load). So the studio serves MLflow's application itself, in one process (no worker
children that outlive a stop), with:
- no artifact proxy: the studio's runs keep ``file://`` artifact locations that the server reads in
  place, so ``/api/2.0/mlflow-artifacts/...`` (uploads included) is switched off;
- every request that could change something refused (``403``): only reads and the searches MLflow's UI
  posts get through (``allows``);
- loopback only: another address is refused before anything starts (``check_host``).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from canvascraft.config import check_loopback

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_POSTS = re.compile(
    r"^(/[\w.-]+)*/(ajax-)?api/[23]\.0/mlflow/"
    r"(runs/search|experiments/search|registered-models/search|model-versions/search|"
    r"logged-models/search|traces/search|metrics/get-history-bulk-interval|runs/search-datasets|"
    r"logged-models/batch-get|traces/batch-get)$"
)
"""Searches are POSTs in MLflow's REST API; they only read."""
REFUSAL = json.dumps(
    {
        "error_code": "PERMISSION_DENIED",
        "message": "This MLflow UI is read-only; change runs and models from the studio.",
    }
).encode()

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def check_host(host: str) -> None:
    """Refuse any interface but loopback: the server has no authentication of its own."""
    check_loopback(host, "the MLflow UI", "read every run, its files and every registered model")


def allows(method: str, path: str) -> bool:
    """Whether a request only reads: plain reads, and the searches MLflow's UI posts."""
    return method in READ_METHODS or (method == "POST" and READ_POSTS.match(path) is not None)


class ReadOnly:
    """ASGI middleware answering ``403`` to every request that ``allows`` does not let through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not allows(scope["method"], scope["path"]):
            headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(REFUSAL))]
            await send({"type": "http.response.start", "status": 403, "headers": headers})
            await send({"type": "http.response.body", "body": REFUSAL})
            return
        await self.app(scope, receive, send)


def configure(tracking_uri: str, artifact_root: str) -> None:
    """Set what ``mlflow server`` would pass its workers, with the artifact proxy off."""
    from mlflow.server.constants import (
        ARTIFACT_ROOT_ENV_VAR,
        BACKEND_STORE_URI_ENV_VAR,
        REGISTRY_STORE_URI_ENV_VAR,
    )

    os.environ[BACKEND_STORE_URI_ENV_VAR] = tracking_uri
    os.environ[REGISTRY_STORE_URI_ENV_VAR] = tracking_uri
    os.environ[ARTIFACT_ROOT_ENV_VAR] = artifact_root
    os.environ["_MLFLOW_SGI_NAME"] = "uvicorn"


def main(argv: list[str]) -> None:
    host, port = argv[0], int(argv[1])
    check_host(host)
    from canvascraft.config import get_settings

    settings = get_settings()
    configure(settings.tracking_uri, settings.artifact_root.as_uri())
    import uvicorn
    from mlflow.server.fastapi_app import app
    from mlflow.server.handlers import initialize_backend_stores

    initialize_backend_stores(settings.tracking_uri, settings.tracking_uri, settings.artifact_root.as_uri())
    uvicorn.run(ReadOnly(app), host=host, port=port, workers=1, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
