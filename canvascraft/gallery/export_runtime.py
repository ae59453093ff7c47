"""Predict with an exported model, outside the studio: the ``predict.py`` of every export bundle.

This module is copied verbatim into the bundles ``canvascraft models export`` writes, so it imports
nothing of the studio (nor torch, torchvision, librosa or pandas): numpy and onnxruntime (or torch for
a TorchScript bundle), Pillow for pictures, soundfile for clips, and soxr only when the recipe
resamples. It reads the bundle's ``preprocess.json`` (the run's evaluation steps with their settings
and, for tables, the fitted state) and replays each step as the studio's brushes compute it:

- pictures are decoded as the studio decodes them (Pillow, RGB) and resized with torchvision's own
  integer arithmetic for uint8 antialiased resizing (the same fixed-point weights and rounding), so
  the pixels are the studio's to the bit; ``normalize`` then scales to 0..1 and centres per channel;
- clips are decoded with soundfile and mixed to mono; the mel spectrogram is a centred, zero-padded,
  periodic-Hann STFT times librosa's Slaney filter bank, then decibels, per-item standardising and the
  model's frame count (zero padding or cropping), as the studio's ``Predictor`` fits it;
- table rows are read from CSV with pandas' own missing-value words, then imputed, one-hot encoded and
  scaled from the fitted numbers, in float64 as scikit-learn does.

Run ``python predict.py FILE...`` (``--json`` for JSON); ``Bundle(folder).predict_paths(paths)`` is the
same from Python.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1
"""The layout of ``preprocess.json`` this runtime reads."""

NA_VALUES = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
     "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)  # fmt: skip
"""The cells pandas' ``read_csv`` reads as missing (its default ``na_values``)."""
TRUE_WORDS = frozenset({"True", "TRUE", "true"})
FALSE_WORDS = frozenset({"False", "FALSE", "false"})


class BundleError(Exception):
    """A file or a bundle this runtime cannot use; the message says why."""


# --- pictures ------------------------------------------------------------------------------------------


def _bilinear(x: float) -> float:
    x = abs(x)
    return 1.0 - x if x < 1.0 else 0.0


def _bicubic(x: float, a: float = -0.5) -> float:
    x = abs(x)
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    if x < 2.0:
        return (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return 0.0


FILTERS = {"bilinear": (_bilinear, 1.0), "bicubic": (_bicubic, 2.0)}
"""Antialiasing filters by interpolation name, with their half support."""


def _resize_weights(size_in: int, size_out: int, kind: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Source indices, int16 fixed-point weights and their precision for one axis, as torch computes
    them for uint8 antialiased resizing (``_compute_index_ranges_int16_weights``)."""
    fn, half = FILTERS[kind]
    scale = size_in / size_out
    support = half * scale if scale >= 1.0 else half
    invscale = 1.0 / scale if scale >= 1.0 else 1.0
    rows: list[tuple[int, list[float]]] = []
    largest = 0.0
    for i in range(size_out):
        center = scale * (i + 0.5)
        start = max(int(center - support + 0.5), 0)
        count = min(int(center + support + 0.5), size_in) - start
        weights = [fn((j + start - center + 0.5) * invscale) for j in range(count)]
        total = sum(weights)
        if total != 0.0:
            weights = [w / total for w in weights]
        largest = max([largest, *weights])
        rows.append((start, weights))
    precision = 0
    while precision < 22 and int(0.5 + largest * (1 << (precision + 1))) < (1 << 15):
        precision += 1
    width = max(len(w) for _, w in rows)
    index = np.zeros((size_out, width), dtype=np.int64)
    fixed = np.zeros((size_out, width), dtype=np.int64)
    for i, (start, weights) in enumerate(rows):
        index[i, :] = start
        for j, w in enumerate(weights):
            w *= 1 << precision
            index[i, j] = start + j
            fixed[i, j] = int(-0.5 + w) if w < 0 else int(0.5 + w)
    return index, fixed, precision


def _resize_axis(pixels: np.ndarray, axis: int, size_out: int, kind: str) -> np.ndarray:
    index, fixed, precision = _resize_weights(pixels.shape[axis], size_out, kind)
    taken = np.take(pixels.astype(np.int64), index, axis=axis)
    shape = [1] * taken.ndim
    shape[axis], shape[axis + 1] = fixed.shape
    total = (taken * fixed.reshape(shape)).sum(axis=axis + 1) + (1 << (precision - 1))
    return np.clip(total >> precision, 0, 255).astype(np.uint8)


def resize_uint8(pixels: np.ndarray, height: int, width: int, kind: str) -> np.ndarray:
    """An ``(H, W, C)`` uint8 picture resized as torchvision's ``Resize(antialias=True)`` resizes a
    uint8 tensor: width first, then height, each pass rounded to uint8."""
    if kind == "nearest":
        rows = np.minimum(
            np.floor(np.arange(height) * np.float32(pixels.shape[0] / height)), pixels.shape[0] - 1
        )
        cols = np.minimum(
            np.floor(np.arange(width) * np.float32(pixels.shape[1] / width)), pixels.shape[1] - 1
        )
        return pixels[rows.astype(np.int64)][:, cols.astype(np.int64)]
    if pixels.shape[1] != width:
        pixels = _resize_axis(pixels, 1, width, kind)
    if pixels.shape[0] != height:
        pixels = _resize_axis(pixels, 0, height, kind)
    return pixels


def read_picture(data: bytes) -> np.ndarray:
    """A picture file as ``(H, W, 3)`` uint8 RGB, as the studio decodes one."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB")).copy()
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise BundleError(f"not a picture Pillow can read ({error})") from None


def picture_input(data: bytes, steps: list[dict[str, Any]]) -> np.ndarray:
    """One picture through the exported steps: ``(3, H, W)`` float32."""
    pixels = read_picture(data)
    out: np.ndarray | None = None
    for step in steps:
        if step["brush"] == "resize":
            side = int(step["settings"]["size"])
            pixels = resize_uint8(pixels, side, side, step["settings"]["interpolation"])
        elif step["brush"] == "normalize":
            scaled = pixels.astype(np.float32) * np.float32(1.0 / 255.0)  # torchvision's to_dtype scaling
            mean = np.asarray(step["mean"], dtype=np.float32)
            std = np.asarray(step["std"], dtype=np.float32)
            out = (scaled - mean) / std
        else:
            raise BundleError(f"this runtime cannot apply step {step['brush']!r}")
    if out is None:  # no normalize: the studio reads uint8 pixels as 0..1
        out = pixels.astype(np.float32) / np.float32(255.0)
    chw = out.transpose(2, 0, 1)
    return np.ascontiguousarray(chw, dtype=np.float32)


# --- clips ---------------------------------------------------------------------------------------------


def read_clip(data: bytes) -> tuple[np.ndarray, int]:
    """A sound file as mono float32 samples (channels averaged) and its sample rate."""
    import soundfile as sf

    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        raise BundleError(f"undecodable audio ({getattr(error, 'error_string', None) or error})") from None
    if samples.shape[0] == 0:
        raise BundleError("the audio file holds no samples (0 s long)")
    return samples.mean(axis=1, dtype=np.float32), int(rate)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / sp, math.log(6.4) / 27.0
    mels = hz / sp
    high = hz >= min_log_hz
    return np.where(high, min_log_mel + np.log(np.maximum(hz, 1e-300) / min_log_hz) / logstep, mels)


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / sp, math.log(6.4) / 27.0
    return np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), sp * mels)


def mel_basis(rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> np.ndarray:
    """librosa's ``filters.mel`` (Slaney scale, Slaney area normalisation), float32."""
    fmax = float(rate) / 2 if not fmax else float(fmax)
    fft_hz = np.fft.rfftfreq(n=n_fft, d=1.0 / rate)
    mel_hz = _mel_to_hz(np.linspace(_hz_to_mel(np.array(fmin)), _hz_to_mel(np.array(fmax)), n_mels + 2))
    gaps = np.diff(mel_hz)
    ramps = np.subtract.outer(mel_hz, fft_hz)
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    for i in range(n_mels):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / gaps[i], ramps[i + 2] / gaps[i + 1]))
    weights *= (2.0 / (mel_hz[2 : n_mels + 2] - mel_hz[:n_mels]))[:, np.newaxis]
    return weights


def mel_power(samples: np.ndarray, rate: int, settings: dict[str, Any]) -> np.ndarray:
    """A centred, zero-padded STFT with a periodic Hann window, power 2, through the mel filters."""
    n_fft, hop = int(settings["n_fft"]), int(settings["hop_length"])
    nyquist = rate / 2
    fmin, fmax = float(settings["fmin"]), float(settings["fmax"]) or None
    if (fmax or nyquist) > nyquist or fmin >= nyquist:
        raise BundleError(
            f"the clip's sample rate ({rate} Hz) is too low for the mel settings (fmin {fmin:g} Hz, fmax "
            f"{settings['fmax']:g} Hz); give a clip recorded at the training rate"
        )
    padded = np.pad(samples.astype(np.float64), (n_fft // 2, n_fft // 2))
    frames = 1 + samples.shape[0] // hop
    starts = np.arange(frames) * hop
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    framed = padded[starts[:, None] + np.arange(n_fft)[None, :]] * window
    spectrum = np.fft.rfft(framed, axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).T.astype(np.float32)
    basis = mel_basis(rate, n_fft, int(settings["n_mels"]), fmin, fmax)
    return (basis.astype(np.float64) @ power.astype(np.float64)).astype(np.float32)


def power_to_db(values: np.ndarray, top_db: float | None) -> np.ndarray:
    """librosa's ``power_to_db`` with reference 1 and floor 1e-10."""
    db = 10.0 * np.log10(np.maximum(np.float32(1e-10), values))
    if top_db is not None:
        db = np.maximum(db, db.max() - top_db)
    return db.astype(np.float32)


def dct_ortho(values: np.ndarray, count: int) -> np.ndarray:
    """The first ``count`` rows of the orthonormal DCT-II along axis 0 (``librosa.feature.mfcc``)."""
    n = values.shape[0]
    k = np.arange(count)[:, None]
    basis = np.cos(np.pi * k * (2 * np.arange(n)[None, :] + 1) / (2 * n)) * math.sqrt(2.0 / n)
    basis[0] /= math.sqrt(2.0)
    return (basis @ values.astype(np.float64)).astype(np.float32)


def standardize(values: np.ndarray, min_std: float = 1e-5) -> np.ndarray:
    mean = float(values.mean(dtype=np.float64))
    std = float(values.std(dtype=np.float64))
    out = values - np.float32(mean)
    if std >= min_std:
        out /= np.float32(std)
    return out.astype(np.float32)


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """librosa's default resampling (soxr, high quality), cut or padded to its length."""
    if rate == target:
        return samples.copy()
    import soxr

    out = soxr.resample(samples, rate, target, quality="soxr_hq")
    length = math.ceil(samples.shape[0] * float(target) / rate)
    out = out[:length] if out.shape[0] >= length else np.pad(out, (0, length - out.shape[0]))
    return out.astype(np.float32)


def clip_input(data: bytes, steps: list[dict[str, Any]], frames: int | None) -> np.ndarray:
    """One clip through the exported steps: ``(1, bins, frames)`` float32."""
    samples, rate = read_clip(data)
    if not np.isfinite(samples).all():
        raise BundleError("the audio holds samples that are not numbers (NaN or infinite)")
    values: np.ndarray | None = None
    for step in steps:
        brush, settings = step["brush"], step["settings"]
        if brush == "resample":
            samples, rate = (
                resample(samples, rate, int(settings["target_rate"])),
                int(settings["target_rate"]),
            )
        elif brush == "mel_spectrogram":
            values = mel_power(samples, rate, settings)
        elif brush == "mfcc":
            values = dct_ortho(power_to_db(mel_power(samples, rate, settings), 80.0), int(settings["n_mfcc"]))
        elif brush == "log_scale" and values is not None:
            values = power_to_db(values, settings["top_db"])
        elif brush == "standardize" and values is not None:
            values = standardize(values)
        else:
            raise BundleError(f"this runtime cannot apply step {brush!r}")
    if values is None:
        raise BundleError("the steps make no spectrogram")
    if frames is not None:
        if values.shape[1] < frames:
            values = np.pad(values, ((0, 0), (0, frames - values.shape[1])))
        values = values[:, :frames]
    return np.ascontiguousarray(values[np.newaxis], dtype=np.float32)


# --- tables --------------------------------------------------------------------------------------------

Column = list[Any]
"""A column's cells: floats (NaN for missing) for numbers; text, booleans or None for categories."""


def read_csv_columns(data: bytes) -> tuple[list[str], dict[str, list[str]]]:
    """A UTF-8 CSV's header and its cells as text, column by column."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BundleError(
            f"the CSV is not UTF-8 (bad byte at position {error.start}); save it as UTF-8"
        ) from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise BundleError("the CSV has no header row")
    cells: dict[str, list[str]] = {name: [] for name in header}
    for row in reader:
        if not row:
            continue
        if len(row) != len(header):
            raise BundleError(f"line {reader.line_num} has {len(row)} fields, the header has {len(header)}")
        for name, value in zip(header, row, strict=True):
            cells[name].append(value)
    return header, cells


def _as_numbers(name: str, cells: list[Any]) -> np.ndarray:
    out = np.empty(len(cells), dtype=np.float64)
    for i, cell in enumerate(cells):
        if isinstance(cell, float):
            out[i] = cell
        elif cell is None or cell in NA_VALUES:
            out[i] = np.nan
        else:
            try:
                out[i] = float(cell)
            except ValueError:
                raise BundleError(f"column {name!r} must hold numbers; row {i + 1} holds {cell!r}") from None
    return out


def _as_category(cell: Any, kinds: set[type]) -> Any:
    """A cell as the value pandas would have read: None for missing, a boolean for a yes/no column."""
    if cell is None or (isinstance(cell, float) and math.isnan(cell)) or cell in NA_VALUES:
        return None
    if bool in kinds and cell in TRUE_WORDS:
        return True
    if bool in kinds and cell in FALSE_WORDS:
        return False
    return cell


def _decode(value: Any) -> np.ndarray:
    """A fitted array saved by a table brush's ``get_state``."""
    items = [math.nan if v is None else v for v in value["values"]]
    if value["dtype"] == "object":
        array = np.empty(len(items), dtype=object)
        array[:] = [None if isinstance(v, float) and math.isnan(v) else v for v in value["values"]]
        return array
    return np.array([float(v) for v in items], dtype=np.float64).reshape(value["shape"])


def _numeric_step(state: dict[str, Any], columns: dict[str, Column]) -> None:
    brush, settings, fitted = state["brush"], state["settings"], state["fitted"]
    names = state["columns"]
    values = np.stack([_as_numbers(n, columns[n]) for n in names], axis=1)
    if brush == "standard_scale":
        if settings["with_mean"]:
            values = values - _decode(fitted["mean_"])
        if settings["with_std"]:
            values = values / _decode(fitted["scale_"])
    elif brush == "minmax_scale":
        values = values * _decode(fitted["scale_"]) + _decode(fitted["min_"])
        if settings["clip"]:
            low, high = settings["feature_range"]
            values = np.clip(values, low, high)
    elif brush == "robust_scale":
        if settings["with_centering"]:
            values = values - _decode(fitted["center_"])
        if settings["with_scaling"]:
            values = values / _decode(fitted["scale_"])
    elif brush == "log_transform":
        if settings["negatives"] == "refuse" and (values < 0).any():
            bad = [n for n, b in zip(names, (values < 0).any(axis=0), strict=True) if b]
            raise BundleError(
                f"columns {', '.join(map(repr, bad))} have values below zero, where the log is undefined"
            )
        values = np.log1p(np.maximum(values + _decode(fitted["offsets"]), 0.0))
    elif brush == "clip_outliers":
        values = np.clip(values, _decode(fitted["lower"]), _decode(fitted["upper"]))
    else:
        raise BundleError(f"this runtime cannot apply step {brush!r}")
    for index, name in enumerate(names):
        columns[name] = list(values[:, index])


def _impute(state: dict[str, Any], columns: dict[str, Column]) -> None:
    fitted = state["fitted"]
    numeric = fitted.get("numeric")
    if numeric:
        fill = _decode(numeric["statistics"])
        for name, value in zip(numeric["columns"], fill, strict=True):
            cells = _as_numbers(name, columns[name])
            columns[name] = list(np.where(np.isnan(cells), value, cells))
    categorical = fitted.get("categorical")
    if categorical:
        fill = _decode(categorical["statistics"])
        for name, value in zip(categorical["columns"], fill, strict=True):
            kinds = {type(value)}
            cells = [_as_category(c, kinds) for c in columns[name]]
            columns[name] = [value if c is None else c for c in cells]


def _one_hot(state: dict[str, Any], columns: dict[str, Column], order: list[str]) -> list[str]:
    names = state["columns"]
    categories = [list(_decode(c)) for c in state["fitted"]["categories"]]
    new_order: list[str] = []
    for name in order:
        if name not in names:
            new_order.append(name)
            continue
        known = categories[names.index(name)]
        kinds = {type(c) for c in known if c is not None}
        cells = [_as_category(c, kinds) for c in columns.pop(name)]
        for category in known:
            shown = "nan" if category is None else category
            indicator = f"{name}={shown}"
            columns[indicator] = [
                1.0 if (c is None and category is None) or (c is not None and c == category) else 0.0
                for c in cells
            ]
            new_order.append(indicator)
    return new_order


def table_input(data: bytes, spec: dict[str, Any]) -> np.ndarray:
    """CSV rows through the fitted steps: ``(rows, features)`` float32 in the model's feature order."""
    header, cells = read_csv_columns(data)
    missing = [c for c in spec["columns"] if c not in cells]
    if missing:
        raise BundleError(
            f"the rows lack the column(s) {', '.join(missing)}; the model was trained on "
            f"{', '.join(spec['columns'])} (the label column may be left out)"
        )
    if not cells[header[0]]:
        raise BundleError("the table has no rows; give at least one row to predict")
    columns: dict[str, Column] = dict(cells)
    order = list(header)
    for step in spec["steps"]:
        state = step["state"]
        if not state["columns"]:
            continue
        if state["brush"] == "impute_missing":
            _impute(state, columns)
        elif state["brush"] == "one_hot_encode":
            order = _one_hot(state, columns, order)
        else:
            _numeric_step(state, columns)
    features = spec["feature_names"]
    absent = [n for n in features if n not in columns]
    if absent:
        raise BundleError(f"after the steps the rows lack {', '.join(absent)}; check the columns")
    values = np.stack([_as_numbers(n, columns[n]) for n in features], axis=1).astype(np.float32)
    if np.isnan(values).any():
        rows = sorted({int(r) + 1 for r in np.argwhere(np.isnan(values))[:, 0]})[:10]
        raise BundleError(
            f"row(s) {', '.join(map(str, rows))} still have empty cells after the steps; fill them in"
        )
    return values


# --- the model -----------------------------------------------------------------------------------------


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def load_model(path: Path, fmt: str) -> Any:
    """A function from a float32 batch to the network's logits: onnxruntime for ONNX, torch for
    TorchScript."""
    if fmt == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return lambda batch: session.run(None, {name: batch})[0]
    import torch

    module = torch.jit.load(str(path), map_location="cpu").eval()

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(batch)).float().numpy()

    return run


class Bundle:
    """An export bundle's model, labels and preprocessing, ready to predict files."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        spec = json.loads((self.folder / "preprocess.json").read_text(encoding="utf-8"))
        if spec.get("format") != FORMAT:
            raise BundleError(
                f"preprocess.json has format {spec.get('format')!r}; this predict.py reads {FORMAT}"
            )
        self.spec = spec
        self.labels: list[str] = json.loads((self.folder / "labels.json").read_text(encoding="utf-8"))
        self.modality: str = spec["modality"]
        self._run = load_model(self.folder / spec["model"]["file"], spec["model"]["format"])

    def inputs(self, data: bytes) -> np.ndarray:
        """The batch the model reads for one file: one picture or clip, or a CSV's rows."""
        if not data:
            raise BundleError("the file is empty (0 bytes)")
        if self.modality == "image":
            return picture_input(data, self.spec["steps"])[np.newaxis]
        if self.modality == "audio":
            return clip_input(data, self.spec["steps"], self.spec.get("frames"))[np.newaxis]
        return table_input(data, self.spec)

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        shape = self.spec.get("input_shape")
        if shape is not None and list(batch.shape[1:]) != list(shape):
            hint = (
                " (pictures are resized by the steps; check the bundle)" if self.modality == "image" else ""
            )
            raise BundleError(f"prepared as {tuple(batch.shape[1:])}, the model reads {tuple(shape)}{hint}")
        return softmax(np.asarray(self._run(np.ascontiguousarray(batch, dtype=np.float32))))

    def predict(self, data: bytes, name: str) -> list[dict[str, Any]]:
        """One entry per picture or clip (per row for a table): file, label, probabilities."""
        probabilities = self.probabilities(self.inputs(data))
        names = (
            [name] if self.modality != "table" else [f"{name} row {i + 1}" for i in range(len(probabilities))]
        )
        return [
            {"file": shown, "label": self.labels[int(row.argmax())],
             "probabilities": {label: float(p) for label, p in zip(self.labels, row, strict=True)}}
            for shown, row in zip(names, probabilities, strict=True)
        ]  # fmt: skip

    def predict_paths(self, paths: list[Path]) -> list[dict[str, Any]]:
        """``predict`` over files on disk; a file that cannot be read gets an ``error`` entry instead."""
        results: list[dict[str, Any]] = []
        for path in paths:
            try:
                results += self.predict(Path(path).read_bytes(), Path(path).name)
            except (BundleError, OSError) as error:
                results.append({"file": Path(path).name, "error": str(error)})
        return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Predict files with an exported CanvasCraft model.")
    parser.add_argument("files", nargs="+", type=Path, help="pictures, clips or CSV files (tables)")
    parser.add_argument("--json", action="store_true", help="print the predictions as JSON")
    parser.add_argument(
        "--model", type=Path, default=Path(__file__).resolve().parent, help="the bundle folder"
    )
    args = parser.parse_args(argv)
    try:
        bundle = Bundle(args.model)
    except (BundleError, OSError, KeyError, ValueError) as error:
        print(f"error: cannot load the bundle in {args.model}: {error}", file=sys.stderr)
        return 1
    results = bundle.predict_paths(args.files)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for result in results:
            if "error" in result:
                print(f"{result['file']}: error: {result['error']}")
                continue
            ranked = sorted(result["probabilities"].items(), key=lambda kv: -kv[1])
            shown = "  ".join(f"{label}={p:.4f}" for label, p in ranked)
            print(f"{result['file']}: {result['label']} ({ranked[0][1]:.3f})  {shown}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
