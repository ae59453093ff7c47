"""Making new pictures with a finished generative run: by label and seed, as PNGs or a walk.

A generative run keeps its network as safetensors weights and a JSON config (``flow/``), so loading
one runs no code. The same run, label, seed, steps and guidance always give the same picture.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from functools import lru_cache

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from canvascraft.errors import GalleryError
from canvascraft.gallery.detail import artifact_file, get_run
from canvascraft.gallery.registry import logged_model_id, resolve, source_folder
from canvascraft.tracking.runs import FORMAT_TAG, tracking_client
from canvascraft.training.flow import CONFIG, MODEL_FORMAT, SAMPLE_STEPS, WEIGHTS, FlowNet, png, sample

MAX_PICTURES = 256
SAMPLES_FOLDER = "samples"
_EPOCH_PICTURE = re.compile(r"samples/epoch-(\d{1,6})\.png")
MAX_STEPS = 500
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class Generator:
    """A generative run's network, on the device it samples on, and its labels by index."""

    ref: str
    net: FlowNet
    classes: list[str]

    def label_index(self, label: str | None) -> int | None:
        """The index of ``label`` (``None``: no label); an unknown label names the known ones."""
        if label is None:
            return None
        if label not in self.classes:
            raise GalleryError(f"{self.ref} knows no label {label!r}; its labels: {', '.join(self.classes)}")
        return self.classes.index(label)


@dataclass(frozen=True)
class Picture:
    label: str | None
    seed: int
    png: bytes

    @property
    def file_name(self) -> str:
        """``<label>-<seed>.png`` (``unlabelled-<seed>.png`` without a label), with every character of
        the label outside letters, digits, ``-`` and ``_`` made ``_``: a label never becomes a path."""
        label = re.sub(r"[^\w-]", "_", self.label or "unlabelled", flags=re.ASCII)
        return f"{label}-{self.seed}.png"


def load_generator(ref: str) -> Generator:
    """The network behind ``ref``: a generative run's id, or a model registered from one
    (``NAME@ALIAS``, ``NAME/VERSION``). ``GalleryError`` for anything that made no generator."""
    client = tracking_client()
    if "@" in ref or "/" in ref.removeprefix("models:/"):
        what, model_id = ref, resolve(ref).model_id
        if model_id is None:
            raise GalleryError(
                f"{ref} was registered without its logged model; register it again from its run"
            )
    else:
        what, model_id = f"run {ref}", logged_model_id(client, get_run(ref).info.run_id)
    logged = client.get_logged_model(model_id)
    if logged.tags.get(FORMAT_TAG) != MODEL_FORMAT:
        trainer = logged.params.get("trainer", "unknown")
        raise GalleryError(
            f"{what} ({trainer}) has no generator to sample; generate with a finished image-flow run "
            "or a model registered from one"
        )
    return _load(model_id, logged.artifact_location, what)


@lru_cache(maxsize=4)
def _load(model_id: str, source: str, ref: str) -> Generator:
    """One logged generator, read once (a model id never changes what it holds)."""
    folder = source_folder(source, ref)
    try:
        settings = json.loads((folder / CONFIG).read_text())
        net = FlowNet.from_config(settings)
        net.load_state_dict(load_file(str(folder / WEIGHTS)))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError) as error:
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise GalleryError(
            f"the generator of {ref} cannot be read; its files may be damaged ({reason})"
        ) from None
    net.to("cuda" if torch.cuda.is_available() else "cpu").eval()
    return Generator(ref, net, [str(c) for c in settings.get("classes", [])])


def generate(
    ref: str,
    *,
    n: int = 16,
    label: str | None = None,
    seed: int = 0,
    steps: int = SAMPLE_STEPS,
    guidance: float = 2.0,
    every_label: bool = True,
) -> list[Picture]:
    """``n`` pictures with seeds ``seed``, ``seed + 1``…: all of ``label``, or (``every_label``) the
    labels in turn when no label is given, else unlabelled."""
    _check(n, seed, steps, guidance)
    generator = load_generator(ref)
    if label is not None:
        labels: list[str | None] = [label] * n
    elif every_label and generator.classes:
        labels = [generator.classes[i % len(generator.classes)] for i in range(n)]
    else:
        labels = [None] * n
    seeds = [seed + i for i in range(n)]
    indices = [generator.label_index(name) for name in labels]
    arrays = sample(generator.net, indices, seeds, steps=steps, guidance=guidance)
    return [Picture(name, s, png(a)) for name, s, a in zip(labels, seeds, arrays, strict=True)]


def walk(
    ref: str,
    *,
    label: str | None = None,
    start: int = 0,
    end: int = 1,
    frames: int = 16,
    steps: int = SAMPLE_STEPS,
    guidance: float = 2.0,
) -> tuple[bytes, bytes]:
    """A walk from seed ``start``'s noise to seed ``end``'s (spherical interpolation, so every frame's
    noise is as strong as a real draw): an animated GIF and a strip PNG of its frames."""
    _check(frames, max(start, end), steps, guidance)
    if frames < 2:
        raise GalleryError("a walk needs at least 2 frames")
    generator = load_generator(ref)
    index = generator.label_index(label)
    net = generator.net
    shape = (net.channels, net.resolution, net.resolution)
    a, b = (torch.randn(shape, generator=torch.Generator().manual_seed(s)) for s in (start, end))
    noise = torch.stack([_slerp(a, b, i / (frames - 1)) for i in range(frames)])
    arrays = sample(net, [index] * frames, [start] * frames, steps=steps, guidance=guidance, noise=noise)
    return _gif(arrays), _strip(arrays)


def _slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    cosine = torch.clamp((a * b).sum() / (a.norm() * b.norm()), -1.0, 1.0)
    angle = torch.arccos(cosine)
    if angle.abs() < 1e-4:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * angle) * a + torch.sin(t * angle) * b) / torch.sin(angle)


def _gif(arrays: list) -> bytes:
    from PIL import Image

    frames = [Image.fromarray(a[:, :, 0] if a.shape[2] == 1 else a).resize((a.shape[1] * 4, a.shape[0] * 4),
                                                                           Image.Resampling.NEAREST)
              for a in arrays]  # fmt: skip
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=120, loop=0)
    return buffer.getvalue()


def _strip(arrays: list) -> bytes:
    from canvascraft.training.flow import grid_png

    return grid_png(arrays, columns=len(arrays))


def _check(n: int, seed: int, steps: int, guidance: float) -> None:
    if not 1 <= n <= MAX_PICTURES:
        raise GalleryError(f"ask for 1 to {MAX_PICTURES} pictures, not {n}")
    if not 0 <= seed <= MAX_SEED:
        raise GalleryError(f"seeds run from 0 to {MAX_SEED}, not {seed}")
    if not 1 <= steps <= MAX_STEPS:
        raise GalleryError(f"sampling steps run from 1 to {MAX_STEPS}, not {steps}")
    if not 0.0 <= guidance <= 20.0:
        raise GalleryError(
            f"guidance runs from 0 (no label) to 20, not {guidance:g}; 1 turns it off, 2 is usual"
        )


def generator_labels(ref: str) -> list[str]:
    """The labels ``ref``'s generator was trained on (empty when it learned without labels)."""
    return list(load_generator(ref).classes)


def pictures_zip(pictures: list[Picture]) -> bytes:
    """The pictures as one zip of ``<label>-<seed>.png`` files, for a single download."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PNGs are compressed already
        for picture in pictures:
            archive.writestr(picture.file_name, picture.png)
    return buffer.getvalue()


def epoch_samples(run_id: str) -> list[tuple[int, bytes]]:
    """What a generative run drew at each epoch it kept (``samples/epoch-NNNN.png``), oldest first;
    empty for other runs."""
    run = get_run(run_id)
    client = tracking_client()
    shown = []
    for artifact in client.list_artifacts(run.info.run_id, SAMPLES_FOLDER):
        match = _EPOCH_PICTURE.fullmatch(artifact.path)
        path = artifact_file(run, artifact.path, client) if match else None
        if match and path is not None:
            shown.append((int(match.group(1)), path.read_bytes()))
    return sorted(shown)


def is_generator(ref: str) -> bool:
    """Whether the registered version ``ref`` names was logged by a generative trainer."""
    model_id = resolve(ref).model_id
    if model_id is None:
        return False
    return tracking_client().get_logged_model(model_id).tags.get(FORMAT_TAG) == MODEL_FORMAT


def registered_generators() -> list[str]:
    """Every registered version a generative trainer made, as ``NAME@ALIAS`` for its aliases and
    ``NAME/VERSION``, newest first: what the DiffusionBrush offers."""
    from canvascraft.gallery.registry import list_models, model_versions

    refs: list[str] = []
    for model in list_models():
        for version in model_versions(model.name):
            if version.objective.task == "generate":
                refs += [f"{model.name}@{alias}" for alias in version.aliases] + [version.ref]
    return refs
