"""The ``Brush`` base class: one preprocessing step with typed, bounded parameters.

Like torchvision's v2 transforms, a brush draws its randomness once in ``make_params`` and applies
it deterministically in ``transform``; ``__call__`` is just the two in a row and is not overridden.
``make_params`` draws from torch's global RNG, which ``canvascraft.recipe.compose`` seeds per item
inside ``torch.random.fork_rng``, so preview and training draw the same values from the same seed
and the drawn values can be logged.

Like scikit-learn estimators, ``__init__`` only validates and stores the settings; ``get_params``
returns them (it drives serialization), and parameter constraints are declared data (``Param``), so
error messages name the parameter and the rule, and editors are built from the schema.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from canvascraft.errors import RecipeError

Modality = Literal["image", "audio", "table"]
ParamKind = Literal["float", "int", "bool", "choice", "float_range", "int_range", "columns"]


@dataclass(frozen=True)
class Param:
    """One declared brush parameter.

    ``float_range``/``int_range`` values are ``[low, high]`` pairs (both within the bounds, low <= high),
    used where the brush samples a value between them. ``choice`` values must be one of ``choices``.
    ``unit="px"`` marks lengths in pixels (sizes, blur widths), so a preview can scale them.
    ``columns`` values pick table columns: a keyword from ``choices`` naming a group (``"numeric"``) or
    a non-empty list of distinct column names; whether the names exist is only known at fit time.
    """

    name: str
    kind: ParamKind
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None
    #: "px" marks a value measured in pixels, which a preview at reduced resolution scales with it.
    unit: Literal["px"] | None = None

    def check(self, value: Any) -> Any:
        """Return the value in canonical form, or raise ``ValueError`` with the rule it broke."""
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"must be true or false, got {value!r}")
            return value
        if self.kind == "choice":
            assert self.choices is not None
            if value not in self.choices:
                allowed = ", ".join(repr(c) for c in self.choices)
                raise ValueError(f"must be one of {allowed}, got {value!r}")
            return value
        if self.kind in ("float_range", "int_range"):
            if not isinstance(value, list | tuple) or len(value) != 2:
                raise ValueError(f"must be a [low, high] pair, got {value!r}")
            low, high = (self._number(v, self.kind == "int_range") for v in value)
            if low > high:
                raise ValueError(f"low must be <= high, got [{low}, {high}]")
            return [low, high]
        if self.kind == "columns":
            return self._columns(value)
        return self._number(value, self.kind == "int")

    def _columns(self, value: Any) -> str | list[str]:
        groups = self.choices or ()
        wrong = f"must be a list of column names or one of {', '.join(map(repr, groups))}, got {value!r}"
        if isinstance(value, str):
            if value not in groups:
                raise ValueError(wrong)
            return value
        names = list(value) if isinstance(value, list | tuple) else []
        if not names or not all(isinstance(v, str) and v for v in names):
            raise ValueError(wrong)
        twice = sorted({v for v in names if names.count(v) > 1})
        if twice:
            raise ValueError(f"names a column more than once: {', '.join(twice)}")
        return names

    def _number(self, value: Any, integer: bool) -> float | int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a{'n integer' if integer else ' number'}, got {value!r}")
        if integer and not float(value).is_integer():
            raise ValueError(f"must be an integer, got {value!r}")
        if not integer and not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"must be >= {self.minimum:g}, got {value:g}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"must be <= {self.maximum:g}, got {value:g}")
        return int(value) if integer else float(value)


@dataclass(frozen=True)
class ParamError:
    """One invalid parameter: the recipe layer prefixes the brush's place (``brushes[2].sigma``)."""

    param: str
    message: str


def check_settings(
    params: tuple[Param, ...], settings: dict[str, Any]
) -> tuple[dict[str, Any], list[ParamError]]:
    """Fill defaults and validate; returns the canonical settings and every error found."""
    declared = {p.name: p for p in params}
    errors = [
        ParamError(name, f"unknown parameter; known: {', '.join(declared) or 'none'}")
        for name in settings
        if name not in declared
    ]
    values: dict[str, Any] = {}
    for param in params:
        raw = settings.get(param.name, param.default)
        try:
            values[param.name] = param.check(raw)
        except ValueError as error:
            errors.append(ParamError(param.name, str(error)))
    return values, errors


class Brush(ABC):
    """Base class of every brush; subclasses register with ``canvascraft.brushes.registry.register``.

    Subclasses set the class attributes and implement ``transform`` (and ``make_params`` when they
    draw randomness). ``augments`` marks train-time augmentation: the recipe applies such brushes to
    training items only, and deterministic brushes everywhere (validation, preview, inference).
    """

    name: ClassVar[str]
    modality: ClassVar[Modality]
    summary: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    augments: ClassVar[bool] = True

    def __init__(self, **settings: Any) -> None:
        values, errors = check_settings(self.params, settings)
        if errors:
            raise RecipeError([f"{self.name}.{e.param}: {e.message}" for e in errors])
        self.settings = values
        self.setup()

    def setup(self) -> None:  # noqa: B027 (an optional hook, empty by default)
        """Called after the settings are stored: build wrapped transforms or tables here."""

    def get_params(self) -> dict[str, Any]:
        """The settings, as a recipe stores them (round-trips through ``type(self)(**params)``)."""
        return dict(self.settings)

    def make_params(self, sample: Any) -> dict[str, Any]:
        """Draw this call's random values (from torch's global RNG). Deterministic brushes draw none."""
        return {}

    @abstractmethod
    def transform(self, sample: Any, drawn: dict[str, Any]) -> Any:
        """Apply the brush with the values ``make_params`` drew; must not draw randomness itself."""

    def __call__(self, sample: Any) -> Any:
        return self.transform(sample, self.make_params(sample))

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.settings.items())
        return f"{type(self).__name__}({settings})"
