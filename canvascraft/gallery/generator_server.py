"""``canvascraft serve`` for a registered generator: new pictures over HTTP, as the CLI makes them.

MLflow's model server serves MLflow flavours; a generator is a folder of safetensors weights and a JSON
config (nothing in it runs), so it gets this small FastAPI app instead, run by uvicorn on 127.0.0.1 by
only. The version an alias names is resolved once, when the server starts.

    GET  /ping          200 "ok"
    GET  /labels        {"model": "shapes/2", "labels": ["circle", ...]}
    POST /invocations   {"n": 4, "label": "circle", "seed": 0, "steps": 20, "guidance": 2.0}
    200                 {"pictures": [{"file_name": "circle-0.png", "label": "circle", "seed": 0,
                                       "png": "<base64>"}, ...]}

A request the generator refuses (an unknown label, a count or seed out of range) gets 400 with the
studio's one-line message, as the CLI prints it.
"""

from __future__ import annotations

import base64

from fastapi import FastAPI, HTTPException
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from canvascraft.config import check_loopback
from canvascraft.errors import CanvasCraftError
from canvascraft.gallery.generate import SAMPLE_STEPS, generate, load_generator
from canvascraft.gallery.registry import resolve


class Request(BaseModel):
    n: int = Field(4, description="How many pictures; seeds seed, seed + 1, …")
    label: str | None = Field(None, description="Only this label (default: each in turn).")
    seed: int = 0
    steps: int = SAMPLE_STEPS
    guidance: float = 2.0


def generator_app(ref: str) -> FastAPI:
    """The app for the version ``ref`` names now (``NAME@ALIAS`` is resolved once, here)."""
    pinned = resolve(ref).ref
    labels = load_generator(pinned).classes  # refuses a version that is not a generator, before serving
    app = FastAPI(title=f"CanvasCraft generator {pinned}")

    @app.get("/ping", response_class=PlainTextResponse)
    def ping() -> str:
        return "ok"

    @app.get("/labels")
    def known_labels() -> dict[str, object]:
        return {"model": pinned, "labels": labels}

    @app.post("/invocations")
    def invocations(request: Request) -> dict[str, object]:
        try:
            pictures = generate(
                pinned, n=request.n, label=request.label, seed=request.seed, steps=request.steps,
                guidance=request.guidance,
            )  # fmt: skip
        except CanvasCraftError as error:
            raise HTTPException(status_code=400, detail=str(error)) from None
        return {
            "pictures": [
                {"file_name": p.file_name, "label": p.label, "seed": p.seed,
                 "png": base64.b64encode(p.png).decode("ascii")}
                for p in pictures
            ]
        }  # fmt: skip

    return app


def serve_generator(ref: str, host: str, port: int) -> None:
    """Serve ``ref`` on loopback until interrupted (it has no login: another host is refused)."""
    import uvicorn

    check_loopback(host, "the generator server", "make pictures with the model as often as they liked")

    uvicorn.run(generator_app(ref), host=host, port=port, log_level="warning")
