"""Load a registered version's model without ever running code from its folder.

A model folder is data anyone who reaches the artifact store can replace, so nothing in it may execute:
- MLflow's PyTorch loader prefers a pickled ``model.pth`` when one sits beside the ``pt2`` program,
  and unpickles it with the module named in ``pickle_module_info.txt``: such a folder is refused;
- a flavour that names a ``code`` folder would put that folder first on ``sys.path``: refused;
- ``torch.export.load`` itself unpickles the weights inside a ``.pt2`` archive unless MLflow's pickle
  switch is off, in which case MLflow checks every record against torch's restricted ``weights_only``
  unpickler first. The switch is turned off for this process and every process it starts (the model
  server of ``canvascraft serve``, job processes), and never turned back on.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from canvascraft.errors import ModelError

PICKLE_SWITCH = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"
"""MLflow reads this before each load; ``true`` (its default) lets ``torch.load`` unpickle."""
PROGRAM_FILE = "model.pt2"
PICKLED_SUFFIXES = frozenset({".pth", ".pt", ".pkl", ".pickle", ".joblib", ".bin"})
PICKLE_INFO_FILE = "pickle_module_info.txt"


def forbid_pickle(env: MutableMapping[str, str] | None = None) -> None:
    """Switch MLflow's pickle deserialisation off in ``env`` (default: this process's environment)."""
    (os.environ if env is None else env)[PICKLE_SWITCH] = "false"


def load_program(folder: Path, ref: str) -> Any:
    """The ``pt2`` program in an MLflow model folder as a callable module, after refusing anything
    that could run code; every failure is a ``ModelError`` naming the version ``ref``."""
    check_folder(folder, ref)
    forbid_pickle()
    import mlflow.pytorch

    try:
        return mlflow.pytorch.load_model(str(folder))
    except Exception as error:  # torch's deserialiser raises many types; each means the same to a user
        raise _unreadable(ref, _first_line(error)) from None


def check_folder(folder: Path, ref: str) -> None:
    """Refuse a model folder holding anything that could run code, or no ``pt2`` program at all."""
    from mlflow.exceptions import MlflowException
    from mlflow.models import Model

    try:
        flavor = Model.load(str(folder)).flavors.get("pytorch")
    except (MlflowException, OSError, ValueError) as error:
        raise _unreadable(ref, f"its MLmodel file cannot be read ({_first_line(error)})") from None
    if not isinstance(flavor, dict):
        raise _unreadable(ref, "it is not a PyTorch model")
    if flavor.get("code"):
        raise _unsafe(ref, f"its MLmodel adds a code folder ({flavor['code']}) to the import path")
    data = folder / str(flavor.get("model_data", "data"))
    if not data.resolve().is_relative_to(folder.resolve()):
        raise _unsafe(ref, "its MLmodel points outside the model folder")
    planted = sorted(
        p.name for p in _files(data) if p.suffix in PICKLED_SUFFIXES or p.name == PICKLE_INFO_FILE
    )
    if planted:
        raise _unsafe(ref, f"its folder holds pickled files ({', '.join(planted)})")
    if not (data / PROGRAM_FILE).is_file():
        raise _unreadable(ref, f"its folder has no {PROGRAM_FILE}")


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


def _unreadable(ref: str, why: str) -> ModelError:
    return ModelError(
        f"{ref} is unreadable and may be damaged ({why}); register the run's model again or pick "
        "another version"
    )
