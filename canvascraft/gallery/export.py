"""Export a registered version for use outside the studio: ONNX (or TorchScript) and a small runtime.

A bundle holds the network (``model.onnx`` from ``torch.onnx.export(..., dynamo=True)`` with a dynamic
batch axis, or ``model.pt`` from ``torch.jit.trace``), the run's evaluation preprocessing as data
(``preprocess.json``: each deterministic eval-stage step with its settings, and for tables the fitted
brush state ``get_state`` already saves as JSON), ``labels.json``, ``predict.py`` (the module
``canvascraft.gallery.export_runtime``, copied as it is), its ``requirements.txt`` and a ``README.md``.
Extra text files (a model card, dataset licences) are added by name through ``extra_files``.

The preprocessing stays outside the graph on purpose: ``predict.py`` replays each step in numpy with
the studio's own arithmetic (torchvision's fixed-point uint8 resize, librosa's mel filters), so every
step is readable data and a new step's export is one entry in ``STEP_EXPORTS`` plus its replay in the
runtime. A step without an entry is refused by name rather than exported into a wrong model.

The model is loaded as the studio's ``Predictor`` loads it (``load_program``: no pickled code runs),
and the exported graph is checked against it on a batch before the bundle is written.

A generator (``image-flow``) leaves as one step of its network instead: ``model.onnx`` gives the
velocity of noisy pictures ``x`` at time ``t`` for ``labels`` (any batch), and ``generate.py`` (the
module ``canvascraft.gallery.export_generator_runtime``, copied as it is) runs the studio's sampling
loop around it in numpy, as ``sampling.json`` describes (steps, guidance, picture size, the "no label"
index, the values that become pixels). It is loaded as ``canvascraft generate`` loads it (safetensors
and a JSON config) and both the graph and the whole loop are checked against the studio's before the
bundle is written. Generators export as ONNX only: the loop is what makes a picture, and it lives in
``generate.py``, which needs no PyTorch.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from canvascraft.errors import ExportError, ModelError
from canvascraft.gallery import export_generator_runtime, export_runtime

if TYPE_CHECKING:
    import torch

    from canvascraft.gallery.predict import Predictor
    from canvascraft.gallery.registry import ModelVersionInfo
    from canvascraft.recipe.compose import Pipeline, PipelineStep
    from canvascraft.training.flow import FlowNet

Format = Literal["onnx", "torchscript"]
FORMATS: tuple[str, ...] = ("onnx", "torchscript")
MODEL_FILES = {"onnx": "model.onnx", "torchscript": "model.pt"}
OPSET = 18
CHECK_TOLERANCE = 1e-4
"""The exported graph's probabilities may differ from the studio's by at most this much."""
BUNDLE_FILES = ("preprocess.json", "labels.json", "predict.py", "requirements.txt", "README.md")
GENERATOR_FORMATS: tuple[str, ...] = ("onnx",)
GENERATOR_FILES = ("sampling.json", "labels.json", "generate.py", "requirements.txt", "README.md")
FLOW_INPUTS = ("x", "t", "labels")
LOOP_TOLERANCE = 1e-3
"""The exported sampling loop's values may differ from the studio's by at most this much (a few steps
on the same noise, checked before the bundle is written)."""
LOOP_CHECK_STEPS = 3

RUNTIME_PINS = {
    "numpy": "numpy>=1.24",
    "onnxruntime": "onnxruntime>=1.17",
    "torch": "torch>=2.1",
    "Pillow": "Pillow>=10",
    "soundfile": "soundfile>=0.12",
    "soxr": "soxr>=0.3",
}


# --- the steps ---------------------------------------------------------------------------------------


def _settings(step: PipelineStep) -> dict[str, Any]:
    return dict(step.brush.settings)


def _normalize(step: PipelineStep) -> dict[str, Any]:
    from canvascraft.brushes.image import NORMALIZE_PRESETS

    mean, std = NORMALIZE_PRESETS[step.brush.settings["preset"]]
    return {"mean": list(mean), "std": list(std)}


STEP_EXPORTS: dict[str, Callable[[PipelineStep], dict[str, Any]]] = {
    "resize": lambda step: {},
    "normalize": _normalize,
    "resample": lambda step: {},
    "mel_spectrogram": lambda step: {},
    "mfcc": lambda step: {},
    "log_scale": lambda step: {},
    "standardize": lambda step: {},
}
"""Eval-stage steps of pictures and clips ``predict.py`` replays, each adding what it needs beyond its
settings (``normalize``: the preset's numbers)."""

TABLE_EXPORTS = frozenset(
    {"impute_missing", "one_hot_encode", "standard_scale", "minmax_scale", "robust_scale",
     "log_transform", "clip_outliers"}
)  # fmt: skip
"""Table brushes whose fitted state ``predict.py`` applies."""


INTERPOLATIONS = frozenset({"bilinear", "bicubic", "nearest"})
"""Resize interpolations ``predict.py`` replays to the bit."""


def step_problem(step: PipelineStep, recipe: str) -> str | None:
    """Why an eval-stage step cannot be exported, naming it by its place (1-based) and name; None when
    ``predict.py`` replays it."""
    name = step.brush.name
    known = name in TABLE_EXPORTS if step.brush.modality == "table" else name in STEP_EXPORTS
    why = ""
    if known and name == "resize" and step.brush.settings["interpolation"] not in INTERPOLATIONS:
        known, why = False, f" with {step.brush.settings['interpolation']} interpolation"
    if known:
        return None
    return (
        f"step {step.index + 1} `{name}` of recipe {recipe!r} has no export yet{why}; remove it from "
        "the recipe and train again, or use the model inside the studio (`canvascraft predict`, "
        "`canvascraft serve`)"
    )


def check_steps(pipeline: Pipeline) -> None:
    """Raise ``ExportError`` for the first evaluation step ``predict.py`` cannot replay."""
    for step in pipeline.steps:
        problem = step_problem(step, pipeline.recipe.name)
        if problem is not None:
            raise ExportError(problem)


def export_problem(ref: str) -> str | None:
    """Why ``ref`` cannot be exported, from its run's recipe alone (no model is loaded), so a page can
    say it before anyone waits for an export; None when nothing stands in the way."""
    from canvascraft.gallery.predict import run_context
    from canvascraft.recipe.compose import compose

    info = resolve_export_ref(ref)
    if info.objective.task == "generate":
        return _no_logged_model(info) if not info.model_id else None
    if not info.run_id:
        return f"{info.ref} has no training run, so its preprocessing is unknown"
    try:
        check_steps(compose(run_context(info.run_id).recipe, "eval"))
    except ExportError as error:
        return str(error)
    return None


def export_formats(ref: str) -> tuple[str, ...]:
    """The formats ``ref`` exports as: a generator's loop needs ONNX, a classifier takes either."""
    return GENERATOR_FORMATS if resolve_export_ref(ref).objective.task == "generate" else FORMATS


def _no_logged_model(info: ModelVersionInfo) -> str:
    return f"{info.ref} was registered without its logged model; register it again from its run"


def preprocess_spec(predictor: Predictor) -> dict[str, Any]:
    """The run's evaluation steps as the data ``predict.py`` reads; ``ExportError`` names a step it
    cannot replay."""
    context = predictor.context
    check_steps(predictor.pipeline)
    states = {entry["step"]: entry["state"] for entry in context.table_state or []}
    steps: list[dict[str, Any]] = []
    for step in predictor.pipeline.steps:
        if step.brush.modality == "table":
            steps.append({"step": step.index, "brush": step.brush.name, "state": states[step.index]})
        else:
            extra = STEP_EXPORTS[step.brush.name](step)
            steps.append({"step": step.index, "brush": step.brush.name, "settings": _settings(step), **extra})
    shape = predictor.input_shape
    if shape is None or any(d is None for d in shape):
        raise ExportError(
            f"{predictor.source} does not record the input shape its model reads; register it again"
        )
    spec: dict[str, Any] = {
        "format": export_runtime.FORMAT,
        "modality": context.modality,
        "recipe": context.recipe.name,
        "run_id": context.run_id,
        "input_shape": list(shape),
        "steps": steps,
    }
    if context.modality == "audio":
        spec["frames"] = int(shape[-1])
    if context.modality == "table":
        spec["columns"] = predictor.input_columns()
        spec["feature_names"] = list(context.feature_names or [])
    return spec


# --- the model ---------------------------------------------------------------------------------------


def resolve_export_ref(ref: str) -> ModelVersionInfo:
    """``NAME@ALIAS``, ``NAME/VERSION`` or ``NAME`` alone (its latest version)."""
    from canvascraft.gallery.registry import model_versions, resolve

    text = ref.strip().removeprefix("models:/")
    if text and "@" not in text and "/" not in text:
        versions = model_versions(text)
        if not versions:
            raise ModelError(f"model {text!r} has no versions yet; register a run's model first")
        return versions[0]
    return resolve(ref)


def _example(predictor: Predictor, batch: int) -> Any:
    import torch

    generator = torch.Generator().manual_seed(0)
    return torch.randn(batch, *predictor.input_shape, generator=generator)  # type: ignore[misc]


def _onnx_bytes(predictor: Predictor) -> bytes:
    import torch

    batch = torch.export.Dim("batch", min=1, max=4096)
    return _to_onnx(predictor.model, (_example(predictor, 2),), ({0: batch},), ["input"], ["logits"],
                    predictor.source)  # fmt: skip


def _to_onnx(
    module: Any, example: tuple[Any, ...], dynamic: tuple[Any, ...], inputs: list[str], outputs: list[str],
    source: str,
) -> bytes:  # fmt: skip
    """``module`` as ONNX bytes (``torch.onnx.export(..., dynamo=True)``), the exporter's chatter kept
    quiet; any failure is an ``ExportError`` naming ``source``."""
    import torch

    quiet = io.StringIO()
    try:
        with (
            contextlib.redirect_stdout(quiet),
            warnings.catch_warnings(),
            tempfile.TemporaryDirectory() as tmp,
        ):
            # An exported program has no training mode to leave; the exporter warns of it regardless.
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                module,
                example,
                dynamo=True,
                dynamic_shapes=dynamic,
                input_names=inputs,
                output_names=outputs,
                opset_version=OPSET,
                verbose=False,
            )
            path = Path(tmp) / "model.onnx"
            program.save(str(path))
            return path.read_bytes()
    except Exception as error:  # the exporter raises many types; each means the graph did not export
        raise ExportError(f"{source} could not be exported to ONNX: {_first_line(error)}") from None


def _torchscript_bytes(predictor: Predictor) -> bytes:
    import torch

    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(predictor.model, (_example(predictor, 2),), check_trace=False)
            torch.jit.save(traced, buffer)
    except Exception as error:  # tracing fails in many ways; each means this graph does not trace
        raise ExportError(f"{predictor.source} does not trace to TorchScript: {_first_line(error)}") from None
    return buffer.getvalue()


def _check_graph(predictor: Predictor, fmt: Format, data: bytes) -> None:
    """The exported graph scores random batches of 1 and 3 as the studio's model does, or no bundle."""
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / MODEL_FILES[fmt]
        path.write_bytes(data)
        run = export_runtime.load_model(path, fmt)
        for size in (1, 3):
            example = _example(predictor, size)
            want = predictor.probabilities(example)
            got = export_runtime.softmax(np.asarray(run(example.numpy())))
            if got.shape != want.shape or float(np.abs(got - want).max()) > CHECK_TOLERANCE:
                raise ExportError(
                    f"the {fmt} export of {predictor.source} does not score as the studio's model does "
                    f"(batch of {size}); it was not written"
                )


# --- the bundle --------------------------------------------------------------------------------------


def export_bundle(
    ref: str, fmt: str = "onnx", *, extra_files: Mapping[str, str] | None = None
) -> dict[str, bytes]:
    """The bundle's files by name: model, ``preprocess.json``, ``labels.json``, ``predict.py``,
    ``requirements.txt``, ``README.md`` and ``extra_files`` (text, by plain file name); for a generator
    ``sampling.json`` and ``generate.py`` in place of ``preprocess.json`` and ``predict.py``."""
    if fmt not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    info = resolve_export_ref(ref)
    if info.objective.task == "generate":
        files = generator_bundle(info, fmt)
    else:
        files = _classifier_bundle(info, fmt)
    for name, text in (extra_files or {}).items():
        files[_extra_name(name, files)] = text.encode("utf-8")
    return files


def _classifier_bundle(info: ModelVersionInfo, fmt: str) -> dict[str, bytes]:
    from canvascraft.gallery.predict import Predictor

    predictor = Predictor.from_version(info)
    spec = preprocess_spec(predictor)
    model = _onnx_bytes(predictor) if fmt == "onnx" else _torchscript_bytes(predictor)
    _check_graph(predictor, fmt, model)  # type: ignore[arg-type]
    spec["model"] = {"format": fmt, "file": MODEL_FILES[fmt], "input": "input", "output": "logits"}
    spec["source"] = {"model": info.name, "version": info.version, "ref": info.ref}
    files: dict[str, bytes] = {
        MODEL_FILES[fmt]: model,
        "preprocess.json": _json(spec),
        "labels.json": _json(predictor.classes),
        "predict.py": Path(export_runtime.__file__).read_bytes(),
        "requirements.txt": requirements(spec, fmt).encode(),
        "README.md": readme(info, spec, fmt, predictor.classes).encode(),
    }
    return files


# --- generators --------------------------------------------------------------------------------------


def generator_bundle(info: ModelVersionInfo, fmt: str = "onnx") -> dict[str, bytes]:
    """A generator's bundle: ``model.onnx`` (one velocity step), ``sampling.json``, ``labels.json``,
    ``generate.py``, ``requirements.txt`` and ``README.md``; ``ExportError`` for TorchScript."""
    from canvascraft.gallery.generate import load_generator
    from canvascraft.training.flow import GUIDANCE, PIXEL_RANGE, SAMPLE_STEPS

    if fmt not in GENERATOR_FORMATS:
        raise ExportError(
            f"{info.ref} is an image generator; generators export as onnx only (its generate.py runs the "
            "sampling loop with onnxruntime, and TorchScript export is for classifiers): use --format onnx"
        )
    if not info.model_id:
        raise ExportError(_no_logged_model(info))
    generator = load_generator(info.ref)
    net = _cpu_copy(generator.net)
    model = _flow_onnx_bytes(net, info.ref)
    low, high = PIXEL_RANGE
    spec: dict[str, Any] = {
        "format": export_generator_runtime.FORMAT,
        "trainer": "image-flow",
        "run_id": info.run_id,
        "method": "flow matching: Euler steps from t=1 (noise) to t=0 (picture), classifier-free guidance",
        "steps": SAMPLE_STEPS,
        "guidance": GUIDANCE,
        "channels": net.channels,
        "resolution": net.resolution,
        "null_label": net.free_label,
        "pixels": {
            "low": low,
            "high": high,
            "rule": "pixel = round((clip(value, low, high) - low) * 255 / (high - low)); the network "
            "works in the `half` normalisation, value = (pixel / 255 - 0.5) / 0.5",
        },
        "model": {
            "format": "onnx",
            "file": MODEL_FILES["onnx"],
            "inputs": {name: name for name in FLOW_INPUTS},
            "output": "velocity",
        },
        "source": {"model": info.name, "version": info.version, "ref": info.ref},
    }
    files: dict[str, bytes] = {
        MODEL_FILES["onnx"]: model,
        "sampling.json": _json(spec),
        "labels.json": _json(generator.classes),
        "generate.py": Path(export_generator_runtime.__file__).read_bytes(),
        "requirements.txt": "".join(
            f"{RUNTIME_PINS[n]}\n" for n in ("numpy", "onnxruntime", "Pillow")
        ).encode(),
        "README.md": generator_readme(info, spec, generator.classes).encode(),
    }
    _check_generator(net, files, info.ref)
    return files


def _cpu_copy(net: FlowNet) -> FlowNet:
    """A float32 copy of the network on the CPU: the one the studio serves may sit on a GPU, and is
    shared with other callers, so it is neither moved nor exported itself."""
    from canvascraft.training.flow import FlowNet

    copy = FlowNet.from_config(net.config())
    copy.load_state_dict({k: v.detach().cpu().float() for k, v in net.state_dict().items()})
    return copy.eval()


def _flow_example(net: FlowNet, batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Noisy pictures, times and labels (the "no label" index included) to export and check with."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, net.channels, net.resolution, net.resolution, generator=generator)
    t = torch.rand(batch, generator=generator)
    labels = torch.randint(0, net.free_label + 1, (batch,), generator=generator)
    labels[-1] = net.free_label
    return x, t, labels


def _flow_onnx_bytes(net: FlowNet, source: str) -> bytes:
    import torch

    batch = torch.export.Dim("batch", min=1, max=4096)
    return _to_onnx(net, _flow_example(net, 2), ({0: batch},) * 3, list(FLOW_INPUTS), ["velocity"], source)


def _check_generator(net: FlowNet, files: Mapping[str, bytes], source: str) -> None:
    """The bundle, loaded as ``generate.py`` loads it, gives the studio's velocities on random batches of
    1 and 3 and the studio's pictures after a few guided steps on the same noise, or no bundle."""
    import numpy as np
    import torch

    from canvascraft.training.flow import GUIDANCE, sample_values, seeded_noise

    with tempfile.TemporaryDirectory() as tmp:
        for name in ("model.onnx", "sampling.json", "labels.json"):
            (Path(tmp) / name).write_bytes(files[name])
        runtime = export_generator_runtime.Generator(Path(tmp))
        for size in (1, 3):
            x, t, labels = _flow_example(net, size, seed=size)
            with torch.no_grad():
                want = net(x, t, labels).numpy()
            got = runtime.velocity(x.numpy(), t.numpy(), labels.numpy())
            scale = max(1.0, float(np.abs(want).max()))
            if got.shape != want.shape or float(np.abs(got - want).max()) > CHECK_TOLERANCE * scale:
                raise ExportError(
                    f"the onnx export of {source} does not give the studio's velocities (batch of {size}); "
                    "it was not written"
                )
        labels_asked = [0, None]
        noise = seeded_noise(net, [0, 1])
        want = sample_values(
            net, labels_asked, [0, 1], steps=LOOP_CHECK_STEPS, guidance=GUIDANCE, noise=noise
        )
        got = runtime.sample_values(
            noise.numpy(),
            [net.free_label if v is None else v for v in labels_asked],
            LOOP_CHECK_STEPS,
            GUIDANCE,
        )
        if float(np.abs(got - want.numpy()).max()) > LOOP_TOLERANCE:
            raise ExportError(
                f"the exported sampling loop of {source} does not make the studio's pictures; it was "
                "not written"
            )


def generator_readme(info: ModelVersionInfo, spec: Mapping[str, Any], classes: list[str]) -> str:
    """How to make pictures with the bundle, in the bundle."""
    size, channels = spec["resolution"], spec["channels"]
    first = classes[0] if classes else "NAME"
    return f"""# {info.name} version {info.version}

An image generator (`image-flow`, {size}×{size} pixels, {channels} channel(s)) exported from CanvasCraft
ML Studio, with what it needs to make pictures outside the studio: no CanvasCraft, MLflow or PyTorch.

## Run it

```
python -m venv .venv && . .venv/bin/activate
pip install -r requirements.txt
python generate.py --label {first} --seed 0 --count 4 --out pictures
python generate.py --seed 0 --count 8 --steps {spec["steps"]} --guidance {spec["guidance"]:g} --out pictures
```

It writes `<label>-<seed>.png` per picture into `--out` (each label in turn when no `--label` is given,
`--no-label` for pictures without one). `--steps` (default {spec["steps"]}): more is finer and slower.
`--guidance` (default {spec["guidance"]:g}): how strongly pictures follow their label; 1 turns guidance
off, 0 ignores the label. From Python: `from generate import Generator; Generator(".")`.

**Seeds differ from the studio's.** The studio draws each seed's noise with PyTorch's random
generator, which numpy cannot reproduce, so `--seed 3` here gives another picture than seed 3 in the
studio (just as good, and the same every time here). For the studio's very pictures, save its noise as
a `.npy` file (count × {channels} × {size} × {size}, float32) and pass `--noise FILE.npy`: the pictures
then match the studio's CPU sampling (values within 1e-3, pixels within one level). `--values OUT.npy`
also saves the values before they become pixels.

## What is in the bundle

- `model.onnx`: one step of the network: inputs `x` (batch, {channels}, {size}, {size}) float32 noisy
  pictures, `t` (batch) float32 time from 1 (noise) to 0 (picture), `labels` (batch) int64; output
  `velocity`, shaped as `x`. Label {spec["null_label"]} means "no label".
- `sampling.json`: the sampling loop's settings: {spec["steps"]} Euler steps from t = 1 to t = 0 by
  default; guidance {spec["guidance"]:g}, as `v = v_free + g·(v_label - v_free)` with both velocities
  from one batch; values clipped to {spec["pixels"]["low"]:g}..{spec["pixels"]["high"]:g} and spread
  over 0..255.
- `labels.json`: the labels by index: {", ".join(classes) or "(none)"}.
- `generate.py`, `requirements.txt`: the sampling loop in numpy and what it needs.
"""


def _extra_name(name: str, files: Mapping[str, bytes]) -> str:
    """An extra file's name: a plain file name (no folders), not one of the bundle's own files."""
    if not name or name != Path(name).name or name in (".", "..") or "\\" in name:
        raise ExportError(f"extra file name {name!r} must be a plain file name such as CARD.md")
    if name in files:
        raise ExportError(f"extra file {name!r} would replace the bundle's own {name}; name it otherwise")
    return name


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def requirements(spec: Mapping[str, Any], fmt: str) -> str:
    """What ``predict.py`` needs for this bundle, and nothing of the studio."""
    needed = ["numpy", "onnxruntime" if fmt == "onnx" else "torch"]
    needed += {"image": ["Pillow"], "audio": ["soundfile"], "table": []}[spec["modality"]]
    if any(step["brush"] == "resample" for step in spec["steps"]):
        needed.append("soxr")
    return "".join(f"{RUNTIME_PINS[name]}\n" for name in needed)


def readme(info: ModelVersionInfo, spec: Mapping[str, Any], fmt: str, classes: list[str]) -> str:
    """How to run the bundle, in the bundle."""
    reads = {
        "image": "pictures (PNG, JPEG, WebP, BMP)",
        "audio": "sound clips (WAV, FLAC, OGG)",
        "table": "CSV files with the columns below (the label column may be left out)",
    }[spec["modality"]]
    example = {"image": "photo.png other.jpg", "audio": "clip.wav", "table": "rows.csv"}[spec["modality"]]
    steps = "\n".join(f"{i + 1}. `{step['brush']}`" for i, step in enumerate(spec["steps"])) or "(none)"
    columns = ""
    if spec["modality"] == "table":
        columns = "\nColumns it reads: " + ", ".join(f"`{c}`" for c in spec["columns"]) + "\n"
    model = MODEL_FILES[fmt]
    return f"""# {info.name} version {info.version}

A {spec["modality"]} classifier exported from CanvasCraft ML Studio ({fmt}, `{model}`), with what it
needs to predict outside the studio: no CanvasCraft, MLflow or (for ONNX) PyTorch.

## Run it

```
python -m venv .venv && . .venv/bin/activate
pip install -r requirements.txt
python predict.py {example}
python predict.py {example} --json
```

`predict.py` reads {reads} and prints each one's label and the probability of every class.
From Python: `from predict import Bundle; Bundle(".").predict_paths([...])`.
{columns}
## What is in the bundle

- `{model}`: the network; input `input` shaped (batch, {", ".join(map(str, spec["input_shape"]))}) float32,
  output `logits` (batch, {len(classes)}); `predict.py` takes the softmax.
- `preprocess.json`: the evaluation steps of recipe `{spec["recipe"]}`, with their settings, which
  `predict.py` applies before the network:
{steps}
- `labels.json`: the classes in the order of the network's outputs: {", ".join(classes)}.
- `predict.py`, `requirements.txt`: the runtime and what it needs.

Predictions match the studio's own (the same labels, probabilities within 1e-4).
"""


def export_zip(ref: str, fmt: str = "onnx", *, extra_files: Mapping[str, str] | None = None) -> bytes:
    """The bundle as a zip, every file under one folder ``<name>-v<version>-<format>``."""
    from canvascraft.gallery.registry import zip_folder_name

    files = export_bundle(ref, fmt, extra_files=extra_files)
    source = json.loads(files.get("preprocess.json") or files["sampling.json"])["source"]
    top = f"{zip_folder_name(source['model'])}-v{source['version']}-{fmt}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(f"{top}/{name}", data)
    return buffer.getvalue()


def check_out_folder(out: Path, *, force: bool = False) -> None:
    """Refuse a path that is a file, or a folder that holds anything unless ``force``."""
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file, not a folder; give a folder for the bundle")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ExportError(f"{out} is not empty; give an empty or new folder, or add --force to overwrite")


def write_bundle(files: Mapping[str, bytes], out: Path, *, force: bool = False) -> list[Path]:
    """Write the bundle's files into ``out`` (created if absent); a folder that already holds anything
    is refused unless ``force``, and then only the bundle's own files are replaced."""
    check_out_folder(out, force=force)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files.items():
        path = out / name
        if path.is_symlink():
            path.unlink()  # never write through a link planted in the folder
        path.write_bytes(data)
        written.append(path)
    return written


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__
