"""``canvascraft serve MODEL@ALIAS``: a registered model as an HTTP scoring endpoint, by MLflow's own server.

The command is ``mlflow models serve`` with this interpreter's MLflow, ``--env-manager local`` (the
studio's environment already has the model's requirements) and the workspace's store in
``MLFLOW_TRACKING_URI``/``MLFLOW_REGISTRY_URI``, so ``models:/NAME@ALIAS`` resolves in the workspace's
registry; the alias is read once, when the server starts. MLflow's server has no login, so it binds to
127.0.0.1 only; from other machines, predictions go through the studio's API (``/api/v1``, with a
token). The version's folder is checked first and MLflow's pickle deserialisation is off in the server,
so no file in the folder can run code.

Request format: the model's input signature, a batch of preprocessed tensors (what the run's recipe makes
of a file, float32, shaped like ``input_example.json`` in the model folder), posted as JSON to
``/invocations``::

    POST /invocations  {"inputs": [[[[0.1, ...]]]]}    # (batch, C, H, W) images, (batch, 1, bins, frames)
                                                        # spectrograms, (batch, features) table rows
    200  {"predictions": [[2.3, -0.4, ...]]}             # one row of logits per item, in class order

The response holds logits; a softmax gives the probabilities the studio shows. ``scoring_payload`` turns a
file into that body with the run's recipe, and ``predictions_from_response`` reads the answer back.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from canvascraft.config import check_loopback
from canvascraft.gallery.loading import forbid_pickle, load_program
from canvascraft.gallery.predict import Prediction, Predictor
from canvascraft.gallery.registry import model_folder, parse_ref, resolve
from canvascraft.tracking.runs import tracking_client

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5001
DEFAULT_WORKERS = 1


def model_uri(ref: str) -> str:
    """``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``, after checking the model and alias exist and
    that the version's folder holds its own program and nothing that could run code: loaded once
    here (``load_program``), so a damaged or foreign file is named before a server starts."""
    info = resolve(ref)
    load_program(model_folder(info), info)
    _, alias, _ = parse_ref(ref)
    return f"models:/{info.name}@{alias}" if alias else f"models:/{info.name}/{info.version}"


def serve_command(
    ref: str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, workers: int = DEFAULT_WORKERS
) -> list[str]:
    """``mlflow models serve`` for ``ref`` on loopback; run it with ``serve_env()``."""
    check_loopback(host, "the model server", "run the model as often as they liked")
    return [
        sys.executable, "-m", "mlflow", "models", "serve",
        "-m", model_uri(ref),
        "--env-manager", "local",
        "-h", host,
        "-p", str(port),
        "-w", str(workers),
    ]  # fmt: skip


def serve_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment with the workspace's tracking and registry store.

    MLflow's server runs ``uvicorn`` by name, so this interpreter's scripts folder goes first on
    ``PATH`` (a studio started as ``.venv/bin/canvascraft`` has no activated environment).
    """
    env = dict(os.environ if base is None else base)
    scripts = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([scripts, *[p for p in env.get("PATH", "").split(os.pathsep) if p]])
    uri = tracking_client().tracking_uri
    env["MLFLOW_TRACKING_URI"] = uri
    env["MLFLOW_REGISTRY_URI"] = uri
    forbid_pickle(env)  # the server loads the model itself: MLflow then refuses pickled files too
    return env


def scoring_payload(predictor: Predictor, data: bytes, filename: str) -> dict[str, Any]:
    """The JSON body an API consumer posts to ``/invocations`` for one file (all rows of a table)."""
    return {"inputs": predictor.prepare_file(data, filename).numpy().tolist()}


def predictions_from_response(
    predictor: Predictor, response: Mapping[str, Any], k: int = 3
) -> list[Prediction]:
    """The server's logits as the studio's predictions (softmax, top ``k``)."""
    logits = np.asarray(response["predictions"], dtype=np.float64)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)
    return [predictor.prediction(row, k) for row in probabilities]
