"""Load a registered version's model without ever running code from its folder.

A model folder is data anyone who reaches the artifact store can replace, so nothing in it may execute:
- MLflow's PyTorch loader prefers a pickled ``model.pth`` when one sits beside the ``pt2`` program,
  and unpickles it with the module named in ``pickle_module_info.txt``: such a folder is refused;
- a flavour that names a ``code`` folder would put that folder first on ``sys.path``: refused;
- ``torch.export.load`` itself unpickles the weights inside a ``.pt2`` archive unless MLflow's pickle
  switch is off, in which case MLflow checks every record against torch's restricted ``weights_only``
  unpickler first. The switch is turned off for this process and every process it starts (the model
  server of ``canvascraft serve``, job processes), and never turned back on.

Nor may a damaged or foreign file pass for the version: the ``MLmodel`` must be the version's own (its
run and logged model), the program must be a ``pt2`` archive whose sha256 is the one its run recorded
in the tracking database when it logged it (``PROGRAM_DIGEST_TAG``), and the loaded program must read
and give the shapes the ``MLmodel``'s signature declares. Any other file would fail later, inside
torch, with a traceback, or worse, predict with another model's weights.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canvascraft.errors import ModelError
from canvascraft.tracking.runs import PROGRAM_DIGEST_TAG, file_digest, tracking_client

if TYPE_CHECKING:
    from mlflow.models import Model

    from canvascraft.gallery.registry import ModelVersionInfo

Shape = tuple[int | None, ...]

PICKLE_SWITCH = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"
"""MLflow reads this before each load; ``true`` (its default) lets ``torch.load`` unpickle."""
PROGRAM_FILE = "model.pt2"
PICKLED_SUFFIXES = frozenset({".pth", ".pt", ".pkl", ".pickle", ".joblib", ".bin"})
PICKLE_INFO_FILE = "pickle_module_info.txt"


def forbid_pickle(env: MutableMapping[str, str] | None = None) -> None:
    """Switch MLflow's pickle deserialisation off in ``env`` (default: this process's environment)."""
    (os.environ if env is None else env)[PICKLE_SWITCH] = "false"


def load_program(folder: Path, info: ModelVersionInfo) -> Any:
    """The ``pt2`` program in an MLflow model folder as a callable module, after refusing anything
    that could run code or is not the version's own; every failure is a ``ModelError`` naming it."""
    model = check_folder(folder, info)
    forbid_pickle()
    import mlflow.pytorch

    try:
        program = mlflow.pytorch.load_model(str(folder))
    except Exception as error:  # torch's deserialiser raises many types; each means the same to a user
        raise unreadable(info.ref, _first_line(error)) from None
    _check_signature(program, model, info.ref)
    return program


def check_folder(folder: Path, info: ModelVersionInfo) -> Model:
    """Refuse a model folder holding anything that could run code, a foreign ``MLmodel``, or no
    ``pt2`` program of the version's own; returns the folder's ``MLmodel``."""
    from mlflow.models import Model

    ref = info.ref
    try:
        model = Model.load(str(folder))
        flavors = model.flavors
    except Exception as error:  # MLflow, YAML and the dataclass each raise their own types
        raise unreadable(ref, f"its MLmodel file cannot be read ({_first_line(error)})") from None
    flavor = flavors.get("pytorch") if isinstance(flavors, dict) else None
    if not isinstance(flavor, dict):
        raise unreadable(ref, "its MLmodel does not describe a PyTorch model")
    if flavor.get("code"):
        raise _unsafe(ref, f"its MLmodel adds a code folder ({flavor['code']}) to the import path")
    for what, own, found in (("run", info.run_id, model.run_id), ("model", info.model_id, model.model_id)):
        if own and found != own:
            raise unreadable(ref, f"its MLmodel belongs to {what} {found}, not to its own {what} {own}")
    data = folder / str(flavor.get("model_data", "data"))
    if not data.resolve().is_relative_to(folder.resolve()):
        raise _unsafe(ref, "its MLmodel points outside the model folder")
    planted = sorted(
        p.name for p in _files(data) if p.suffix in PICKLED_SUFFIXES or p.name == PICKLE_INFO_FILE
    )
    if planted:
        raise _unsafe(ref, f"its folder holds pickled files ({', '.join(planted)})")
    program = data / PROGRAM_FILE
    if not program.is_file():
        raise unreadable(ref, f"its folder has no {PROGRAM_FILE}")
    if not zipfile.is_zipfile(program):
        raise unreadable(ref, f"its {PROGRAM_FILE} is not a program archive: cut short, or another file")
    logged = _logged_digest(info)
    if logged is not None and file_digest(program) != logged:
        raise unreadable(ref, f"its {PROGRAM_FILE} is not the program its run logged (another sha256)")
    return model


def signature_shapes(model: Model) -> tuple[Shape | None, Shape | None]:
    """One item's input shape and one output row's shape from an MLflow model's tensor signature
    (batch axis dropped; ``None`` for an axis of any size); ``None`` where it declares none."""
    signature = model.signature
    if signature is None:
        return None, None
    return _spec_shape(signature.inputs), _spec_shape(signature.outputs)


def _spec_shape(schema: Any) -> Shape | None:
    specs = getattr(schema, "inputs", None) or []
    shape = getattr(specs[0], "shape", None) if specs else None
    return tuple(None if int(s) < 0 else int(s) for s in shape[1:]) if shape else None


def _program_shapes(program: Any) -> tuple[Shape | None, Shape | None]:
    """What the exported graph reads and gives, from the example values ``torch.export`` keeps on its
    input and output nodes (symbolic axes, such as the batch, as ``None``)."""
    nodes = list(getattr(getattr(program, "graph", None), "nodes", []))
    inputs = [n for n in nodes if n.op == "placeholder"]
    outputs = [n for n in nodes if n.op == "output"]
    first_out = outputs[0].args[0] if outputs and outputs[0].args else None
    if isinstance(first_out, list | tuple):
        first_out = first_out[0] if first_out else None
    return _node_shape(inputs[0] if inputs else None), _node_shape(first_out)


def _node_shape(node: Any) -> Shape | None:
    value = getattr(node, "meta", {}).get("val")
    shape = getattr(value, "shape", None)
    return tuple(d if isinstance(d, int) else None for d in shape[1:]) if shape else None


def _check_signature(program: Any, model: Model, ref: str) -> None:
    """Refuse a program whose shapes are not the ones its ``MLmodel`` declares: one of the two files is
    another model's (a version logged before programs had a recorded sha256 is caught here)."""
    declared, made = signature_shapes(model), _program_shapes(program)
    for what, want, got in zip(("reads", "gives"), declared, made, strict=True):
        if want is not None and got is not None and not _same(want, got):
            shapes = f"{_shown(got)} values where its MLmodel says {_shown(want)}"
            raise unreadable(ref, f"its program {what} {shapes}, so one of the two is another model's")


def _same(want: Shape, got: Shape) -> bool:
    pairs = zip(want, got, strict=True) if len(want) == len(got) else None
    return pairs is not None and all(w is None or g is None or w == g for w, g in pairs)


def _shown(shape: Shape) -> str:
    return "×".join("any" if d is None else str(d) for d in shape) or "scalars"


def _logged_digest(info: ModelVersionInfo) -> str | None:
    """The program sha256 the run recorded when it logged the model; None for a model logged before
    the studio recorded one (its shapes are still checked)."""
    from mlflow.exceptions import MlflowException

    if not info.model_id:
        return None
    try:
        return tracking_client().get_logged_model(info.model_id).tags.get(PROGRAM_DIGEST_TAG)
    except MlflowException:
        return None


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() or p.is_symlink()] if folder.is_dir() else []


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def _unsafe(ref: str, why: str) -> ModelError:
    return ModelError(
        f"{ref} was not loaded: {why}, which could run code; the studio never loads such files. "
        "Its files were replaced after it was registered: register the run's model again"
    )


def unreadable(ref: str, why: str) -> ModelError:
    """The one wording for a version whose files cannot be what was registered."""
    return ModelError(
        f"{ref} is unreadable and may be damaged ({why}); register the run's model again or pick "
        "another version"
    )
