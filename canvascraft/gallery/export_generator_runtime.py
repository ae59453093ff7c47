"""Make pictures with an exported generator, outside the studio: the ``generate.py`` of its bundle.

This module is copied verbatim into the bundles ``canvascraft models export`` writes for an image
generator, so it imports nothing of the studio (nor torch): numpy, onnxruntime and Pillow. The
bundle's ``model.onnx`` is one step of the network (the velocity of noisy pictures ``x`` at time ``t``
for ``labels``); this module runs the studio's sampling loop around it as ``sampling.json`` describes:

- start from noise at ``t = 1`` and take ``steps`` Euler steps to ``t = 0``
  (``x ← x + (t_next - t)·v``, times evenly spaced);
- guide each step by the label: the labelled and the label-free velocity come from one batch (the
  "no label" index is ``null_label``) and combine as ``v = v_free + g·(v_label - v_free)``; guidance 1
  uses the labelled velocity alone;
- undo the normalisation: values clipped to ``pixels.low..high`` and spread over 0..255, rounded.

The studio draws each seed's noise with PyTorch's generator, which numpy cannot reproduce, so a seed
here gives another picture than the same seed in the studio. For the studio's own pictures, pass the
studio's noise with ``--noise FILE.npy``: the pictures then agree with the studio's CPU sampling.

Run ``python generate.py --label NAME --seed 0 --count 4 --out pictures``; ``Generator(folder)`` is
the same from Python.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1
"""The layout of ``sampling.json`` this runtime reads."""
MAX_PICTURES = 256
MAX_STEPS = 500
MAX_GUIDANCE = 20.0
MAX_SEED = 2**32 - 1


class BundleError(Exception):
    """A request or a bundle this runtime cannot use; the message says why."""


def file_name(label: str | None, seed: int) -> str:
    """``<label>-<seed>.png`` as the studio names its pictures: every character of the label outside
    letters, digits, ``-`` and ``_`` made ``_``, so a label never becomes a path."""
    shown = re.sub(r"[^\w-]", "_", label or "unlabelled", flags=re.ASCII)
    return f"{shown}-{seed}.png"


def seeded_noise(shape: tuple[int, ...], seeds: list[int]) -> np.ndarray:
    """One standard-normal draw per seed from numpy's generator (not the studio's: see the module)."""
    return np.stack([np.random.default_rng(seed).standard_normal(shape, dtype=np.float32) for seed in seeds])


def times(steps: int) -> np.ndarray:
    """``steps + 1`` evenly spaced times from 1 down to 0, in float32 as the studio's loop uses them."""
    return np.linspace(1.0, 0.0, steps + 1, dtype=np.float64).astype(np.float32)


def to_pixels(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """N×C×H×W values as N×H×W×C uint8 pixels: clipped to ``low..high``, spread over 0..255, rounded
    half to even (as the studio rounds)."""
    spread = (np.clip(values, np.float32(low), np.float32(high)) - np.float32(low)) * np.float32(
        255.0 / (high - low)
    )
    return np.round(spread).astype(np.uint8).transpose(0, 2, 3, 1)


def png_bytes(picture: np.ndarray) -> bytes:
    """One H×W×C uint8 picture as PNG (grey for one channel)."""
    import io

    from PIL import Image

    image = Image.fromarray(picture[:, :, 0] if picture.shape[2] == 1 else picture)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class Generator:
    """An export bundle's network and sampling settings (``Generator(folder)``)."""

    def __init__(self, folder: Path) -> None:
        folder = Path(folder)
        self.spec: dict[str, Any] = json.loads((folder / "sampling.json").read_text(encoding="utf-8"))
        if self.spec.get("format") != FORMAT:
            raise BundleError(
                f"sampling.json has layout {self.spec.get('format')!r}; this generate.py reads {FORMAT}"
            )
        self.labels: list[str] = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
        model = self.spec["model"]
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(folder / model["file"]), options, providers=["CPUExecutionProvider"]
        )
        self._names = (model["inputs"]["x"], model["inputs"]["t"], model["inputs"]["labels"])
        self.shape = (int(self.spec["channels"]), int(self.spec["resolution"]), int(self.spec["resolution"]))
        self.null_label = int(self.spec["null_label"])

    def label_index(self, label: str | None) -> int:
        """The index of ``label`` (``None``: the "no label" index); an unknown label names the known."""
        if label is None:
            return self.null_label
        if label not in self.labels:
            raise BundleError(f"the model knows no label {label!r}; its labels: {', '.join(self.labels)}")
        return self.labels.index(label)

    def velocity(self, x: np.ndarray, t: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """One step of the network: the velocity of pictures ``x`` at times ``t`` for ``labels``."""
        feed = dict(zip(self._names, (x, t, labels), strict=True))
        return np.asarray(self._session.run(None, feed)[0], dtype=np.float32)

    def sample_values(self, noise: np.ndarray, labels: list[int], steps: int, guidance: float) -> np.ndarray:
        """The studio's sampling loop on ``noise`` (N×C×H×W): float values before they become pixels."""
        if noise.shape[1:] != self.shape or len(noise) != len(labels):
            raise BundleError(
                f"the noise is shaped {tuple(noise.shape)}; this model starts from "
                f"({len(labels)}, {', '.join(map(str, self.shape))}): one noise picture per picture asked"
            )
        x = np.ascontiguousarray(noise, dtype=np.float32)
        cond = np.asarray(labels, dtype=np.int64)
        free = np.full_like(cond, self.null_label)
        steps_at = times(steps)
        for now, then in itertools.pairwise(steps_at):
            t = np.full(len(x), now, dtype=np.float32)
            if guidance == 1.0:
                velocity = self.velocity(x, t, cond)
            else:
                both = self.velocity(
                    np.concatenate([x, x]), np.concatenate([t, t]), np.concatenate([cond, free])
                )
                labelled, unlabelled = both[: len(x)], both[len(x) :]
                velocity = unlabelled + np.float32(guidance) * (labelled - unlabelled)
            x = x + (then - now) * velocity
        return x

    def pixels(self, values: np.ndarray) -> np.ndarray:
        pixels = self.spec["pixels"]
        return to_pixels(values, float(pixels["low"]), float(pixels["high"]))


def check_request(count: int, seed: int, steps: int, guidance: float) -> None:
    """The studio's bounds on a request, with its wording."""
    if not 1 <= count <= MAX_PICTURES:
        raise BundleError(f"ask for 1 to {MAX_PICTURES} pictures, not {count}")
    if not 0 <= seed <= MAX_SEED - count + 1:
        raise BundleError(f"seeds run from 0 to {MAX_SEED}, not {seed}")
    if not 1 <= steps <= MAX_STEPS:
        raise BundleError(f"sampling steps run from 1 to {MAX_STEPS}, not {steps}")
    if not 0.0 <= guidance <= MAX_GUIDANCE:
        raise BundleError(
            f"guidance runs from 0 (no label) to {MAX_GUIDANCE:g}, not {guidance:g}; 1 turns it off, "
            "2 is usual"
        )


def read_noise(path: Path, count: int | None, shape: tuple[int, ...]) -> np.ndarray:
    """Starting noise from a ``.npy`` file (N×C×H×W, or C×H×W for one picture); never unpickles."""
    try:
        noise = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise BundleError(f"cannot read the noise in {path}: {error}") from None
    if noise.ndim == len(shape):
        noise = noise[np.newaxis]
    if noise.ndim != len(shape) + 1 or tuple(noise.shape[1:]) != shape:
        raise BundleError(
            f"the noise in {path} is shaped {tuple(noise.shape)}; this model starts from "
            f"(count, {', '.join(map(str, shape))})"
        )
    if count is not None and count != len(noise):
        raise BundleError(f"--count is {count} but {path} holds noise for {len(noise)} picture(s)")
    if not np.issubdtype(noise.dtype, np.floating) or not np.isfinite(noise).all():
        raise BundleError(f"the noise in {path} must be finite floating-point numbers")
    return noise.astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Make pictures with an exported CanvasCraft generator.")
    parser.add_argument("--label", help="the label to draw (default: each label in turn)")
    parser.add_argument("--no-label", action="store_true", help="draw without a label")
    parser.add_argument("--seed", type=int, default=0, help="first seed; the next pictures take the next")
    parser.add_argument("--count", type=int, help="how many pictures (default 4, or the noise file's)")
    parser.add_argument("--steps", type=int, help="sampling steps (default: sampling.json's)")
    parser.add_argument(
        "--guidance", type=float, help="label guidance, 1 turns it off (default: sampling.json's)"
    )
    parser.add_argument("--out", type=Path, default=Path("pictures"), help="folder for the PNGs")
    parser.add_argument("--noise", type=Path, help="starting noise (.npy, N×C×H×W) instead of seeded noise")
    parser.add_argument("--values", type=Path, help="also save the float pictures before rounding (.npy)")
    parser.add_argument(
        "--model", type=Path, default=Path(__file__).resolve().parent, help="the bundle folder"
    )
    args = parser.parse_args(argv)
    try:
        generator = Generator(args.model)
    except (BundleError, OSError, KeyError, ValueError) as error:
        print(f"error: cannot load the bundle in {args.model}: {error}", file=sys.stderr)
        return 1
    try:
        steps = int(generator.spec["steps"]) if args.steps is None else args.steps
        guidance = float(generator.spec["guidance"]) if args.guidance is None else args.guidance
        if args.label is not None and args.no_label:
            raise BundleError("give --label or --no-label, not both")
        noise = None
        if args.noise is not None:
            noise = read_noise(args.noise, args.count, generator.shape)
        count = len(noise) if noise is not None else 4 if args.count is None else args.count
        check_request(count, args.seed, steps, guidance)
        seeds = [args.seed + i for i in range(count)]
        if args.no_label or not generator.labels:
            names: list[str | None] = [None] * count
        elif args.label is not None:
            names = [args.label] * count
        else:
            names = [generator.labels[i % len(generator.labels)] for i in range(count)]
        indices = [generator.label_index(name) for name in names]
        if noise is None:
            noise = seeded_noise(generator.shape, seeds)
        values = generator.sample_values(noise, indices, steps, guidance)
    except BundleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    if args.values is not None:
        np.save(args.values, values)
    for name, seed, picture in zip(names, seeds, generator.pixels(values), strict=True):
        path = args.out / file_name(name, seed)
        path.write_bytes(png_bytes(picture))
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
