"""What a finished run leaves for the gallery and for drift checks: the best model's predictions and
embeddings on every validation item, a 2-D map of the embeddings, and a card picture.

Written once per run as MLflow artifacts under ``validation/``: ``predictions.json`` (per item: index,
name, sha256, label, predicted, probabilities, map x/y) and ``embeddings.npy`` (float32, one row per
item, read with ``allow_pickle=False``). The embedding is the model's penultimate layer: the input of
its last ``Linear``, which every trainer's ``nn.Sequential`` ends with.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn
from torch.utils.data import DataLoader, Dataset

from canvascraft.training.progress import PinnedItem

PREDICTIONS = "validation/predictions.json"
EMBEDDINGS = "validation/embeddings.npy"
CARD = "card.png"
PROFILE = "drift/profile.json"
"""The training data's reference profile (``canvascraft.drift.profile``), for drift checks."""


def penultimate(model: nn.Module) -> nn.Module:
    """The model without its classifier head, so its output is the embedding of an item."""
    if isinstance(model, nn.Sequential) and isinstance(model[-1], nn.Linear):
        return model[:-1]
    if isinstance(model, torch.fx.GraphModule):
        return _graph_body(model)
    raise TypeError(f"{type(model).__name__} does not end with a Linear layer; no embedding is defined")


def _graph_body(model: torch.fx.GraphModule) -> nn.Module:
    """An exported program (a registered model loads as one) cut before its last ``linear`` call: the
    graph's output becomes that call's input, the same tensor ``penultimate`` gives for the Sequential."""
    body = copy.deepcopy(model)
    linears = [
        node
        for node in body.graph.nodes
        if node.op == "call_function" and node.target is torch.ops.aten.linear.default
    ]
    if not linears:
        raise TypeError("the exported model has no linear layer; no embedding is defined")
    output = next(node for node in body.graph.nodes if node.op == "output")
    features = linears[-1].args[0]
    output.args = ((features,),) if isinstance(output.args[0], tuple | list) else (features,)
    body.graph.eliminate_dead_code()
    body.recompile()
    return body


@torch.no_grad()
def evaluate(model: nn.Module, dataset: Dataset[Any], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities ``(N, C)`` and embeddings ``(N, D)`` of every item, in dataset order."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    body, head = penultimate(model), model[-1]  # type: ignore[index]
    if getattr(dataset, "collate_fn", None) is not None:
        # Padded batches (audio of varied length) would make an item's result depend on its batch.
        batch_size = 1
    loader = DataLoader(
        dataset, batch_size=batch_size, shuffle=False, collate_fn=getattr(dataset, "collate_fn", None)
    )
    probabilities, embeddings = [], []
    for x, _ in loader:
        features = body(x.to(device)).float()
        probabilities.append(torch.softmax(head(features), dim=1).cpu().numpy())
        embeddings.append(features.cpu().numpy())
    model.train(was_training)
    return np.concatenate(probabilities).astype(np.float32), np.concatenate(embeddings).astype(np.float32)


def project_2d(embeddings: np.ndarray) -> np.ndarray:
    """A PCA projection to two dimensions (deterministic, no fitting randomness), for the map."""
    centred = embeddings - embeddings.mean(axis=0, keepdims=True)
    if len(centred) < 2:
        return np.zeros((len(centred), 2), dtype=np.float32)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[:2].T
    if projected.shape[1] < 2:
        projected = np.pad(projected, ((0, 0), (0, 2 - projected.shape[1])))
    # Fix each axis's sign so the same run always draws the same map.
    signs = np.sign(projected[np.abs(projected).argmax(axis=0), range(2)])
    return (projected * np.where(signs == 0, 1, signs)).astype(np.float32)


@dataclass(frozen=True)
class ValidationReport:
    classes: list[str]
    items: list[dict[str, Any]]
    embeddings: np.ndarray

    def predictions_json(self) -> str:
        return json.dumps({"classes": self.classes, "items": self.items}, indent=1)

    def embeddings_npy(self) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, self.embeddings, allow_pickle=False)
        return buffer.getvalue()


def validation_report(
    model: nn.Module, dataset: Dataset[Any], members: Sequence[PinnedItem], classes: Sequence[str]
) -> ValidationReport:
    """Predictions and embeddings for the validation items ``members`` (in the dataset's order)."""
    probabilities, embeddings = evaluate(model, dataset)
    coordinates = project_2d(embeddings)
    items = [
        {
            "index": member.index,
            "name": member.name,
            "sha256": member.sha256,
            "label": member.label,
            "predicted": classes[int(row.argmax())],
            "probabilities": [round(float(p), 6) for p in row],
            "x": round(float(xy[0]), 5),
            "y": round(float(xy[1]), 5),
        }
        for member, row, xy in zip(members, probabilities, coordinates, strict=True)
    ]
    return ValidationReport(list(classes), items, embeddings)


def card_png(report: ValidationReport, thumbnails: Sequence[bytes | None], size: int = 96) -> bytes:
    """A 2×2 card picture: four validation items (thumbnail or waveform) with a green dot when the model
    got it right and a red one when not; items without a picture (table rows) get a tile with the two
    labels."""
    tile, gap = size, 4
    canvas = Image.new("RGB", (2 * tile + gap, 2 * tile + gap), (245, 243, 255))
    draw = ImageDraw.Draw(canvas)
    for position, (item, picture) in enumerate(zip(report.items[:4], thumbnails[:4], strict=False)):
        left, top = (position % 2) * (tile + gap), (position // 2) * (tile + gap)
        if picture is not None:
            with Image.open(io.BytesIO(picture)) as image:
                canvas.paste(image.convert("RGB").resize((tile, tile)), (left, top))
        else:
            draw.rectangle((left, top, left + tile, top + tile), fill=(237, 233, 254))
            draw.text((left + 6, top + 8), str(item["label"])[:14], fill=(60, 60, 60))
            draw.text((left + 6, top + 26), "→ " + str(item["predicted"])[:12], fill=(60, 60, 60))
        colour = (22, 163, 74) if item["predicted"] == item["label"] else (220, 38, 38)
        draw.ellipse(
            (left + tile - 18, top + 4, left + tile - 4, top + 18), fill=colour, outline=(255, 255, 255)
        )
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()
