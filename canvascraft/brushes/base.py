"""The ``Brush`` base class: one preprocessing step with typed, bounded parameters.

Like torchvision's v2 transforms, a brush draws its randomness once in ``make_params`` and applies
it deterministically in ``transform``; ``__call__`` is just the two in a row and is not overridden.
``make_params`` draws from torch's global RNG, which ``canvascraft.recipe.compose`` seeds per item
inside ``torch.random.fork_rng``, so preview and training draw the same values from the same seed
and the drawn values can be logged. Every brush of every modality has that one shape: the two
methods are all a brush writes, and the base adds what all of them share around them, once: the
input check (``check_input``) and the probability gate (a ``Param`` declared with ``gate=True``).

Like scikit-learn estimators, ``__init__`` only validates and stores the settings; ``get_params``
returns them (it drives serialization), and parameter constraints are declared data (``Param``), so
error messages name the parameter and the rule, and editors are built from the schema.
"""

from __future__ import annotations

import functools
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

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
    #: Marks the chance that the brush is applied at all. ``Brush`` draws this gate itself before the
    #: brush's own ``make_params``, so no brush writes it and every modality skips an item the same way.
    gate: bool = False

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

    def _allowed(self) -> str:
        """The declared range in words (`` between 0 and 1``), for a value that is no number at all."""
        if self.minimum is not None and self.maximum is not None:
            return f" between {self.minimum:g} and {self.maximum:g}"
        if self.minimum is not None:
            return f" >= {self.minimum:g}"
        return f" <= {self.maximum:g}" if self.maximum is not None else ""

    def _number(self, value: Any, integer: bool) -> float | int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a{'n integer' if integer else ' number'}, got {value!r}")
        if integer and not float(value).is_integer():  # NaN and infinity included
            raise ValueError(f"must be an integer{self._allowed()}, got {value!r}")
        if not integer and not math.isfinite(value):  # YAML's .nan and .inf read as floats
            raise ValueError(f"must be a finite number{self._allowed()}, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"must be >= {self.minimum:g}, got {value:g}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"must be <= {self.maximum:g}, got {value:g}")
        return int(value) if integer else float(value)


def probability(default: float = 0.5) -> Param:
    """The declared probability gate ``p``: the brush runs on a share ``p`` of the items."""
    return Param("p", "float", default, "Chance that the brush is applied to an item.", 0.0, 1.0, gate=True)


PROBABILITY = probability()
"""The gate with the usual default of one item in two."""

APPLIED = "applied"
"""The key under which a gated brush's ``make_params`` records whether the item is changed at all."""


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


Hook = Callable[..., Any]


def _gate_draw() -> float:
    """The gate's number, drawn the way v2's random-apply transforms draw it (``torch.rand(1)``).

    torch is imported on the first draw, not with this module: trainers and the CLI declare ``Param``s
    from here and should not pay for torch.
    """
    import torch

    return float(torch.rand(1).item())


def _base_make_params(hook: Hook) -> Hook:
    """``hook`` (a brush's own ``make_params``) behind the input check and the probability gate."""

    def make_params(self: Brush, sample: Any) -> dict[str, Any]:
        if type(self).make_params is not make_params:
            return hook(self, sample)  # reached through super(): the outermost call checks and gates
        self.check_input(sample)
        if self.gate_param is not None and _gate_draw() >= self.settings[self.gate_param]:
            return {APPLIED: False}
        drawn = hook(self, sample)
        if APPLIED in drawn:
            raise TypeError(f"{self.name}.make_params: {APPLIED!r} is the probability gate's key; rename it")
        return drawn if self.gate_param is None else {APPLIED: True, **drawn}

    functools.update_wrapper(make_params, hook)
    make_params.hook = hook  # type: ignore[attr-defined]
    del make_params.__wrapped__  # type: ignore[attr-defined]  # keep the signature callers see
    return make_params


def _base_transform(hook: Hook) -> Hook:
    """``hook`` (a brush's own ``transform``) behind the input check and the probability gate."""

    def transform(self: Brush, sample: Any, drawn: dict[str, Any] | None = None) -> Any:
        if type(self).transform is not transform:
            return hook(self, sample, drawn)  # reached through super(): the outermost call checked
        self.check_input(sample)
        if drawn is None:
            drawn = {}
        elif APPLIED in drawn:
            if not drawn[APPLIED]:
                return sample
            # The brush sees only its own values: v2 kernels take the drawn dict as keyword arguments.
            drawn = {key: value for key, value in drawn.items() if key != APPLIED}
        return hook(self, sample, drawn)

    functools.update_wrapper(transform, hook)
    transform.hook = hook  # type: ignore[attr-defined]
    del transform.__wrapped__  # type: ignore[attr-defined]
    return transform


_WRAPPERS: dict[str, Callable[[Hook], Hook]] = {
    "make_params": _base_make_params,
    "transform": _base_transform,
}


class Brush(ABC):
    """Base of every brush; subclasses register with ``canvascraft.brushes.registry.register``.

    A brush sets the class attributes and writes two methods, whatever its modality:

    - ``make_params(sample)`` draws this item's random values from torch's global RNG and returns them
      as a dict (deterministic brushes inherit the empty one). It runs first, once per item.
    - ``transform(sample, drawn)`` applies the brush with those values and draws nothing itself, so
      the same ``drawn`` always gives the same output, and a logged draw can be replayed.

    Around both, the base runs ``check_input`` (a modality says what it accepts, once) and, when the
    brush declares a ``Param`` with ``gate=True`` (``probability()``), the probability gate: one
    ``torch.rand(1)`` before the brush's own draws, as v2's random-apply transforms draw it; a skipped
    item gets ``{"applied": False}`` and comes back unchanged (the same object) from ``transform``.
    The wrapping happens when a subclass is defined (as scikit-learn wraps ``transform`` for
    ``set_output``), so a brush cannot skip either; ``__call__`` is the two in a row and is not
    overridden. ``augments`` marks train-time augmentation: the recipe applies such brushes to
    training items only, and deterministic brushes everywhere (validation, preview, inference).
    """

    name: ClassVar[str]
    modality: ClassVar[Modality]
    summary: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    augments: ClassVar[bool] = True
    #: Belongs at the end of a recipe: it puts values on the scale the model trains on (``normalize``,
    #: ``standardize``), so a brush added later goes before it; one added after a normalize would see
    #: centred floats (a rotation fills its corners grey instead of black).
    finishing: ClassVar[bool] = False
    #: The name of the declared gate parameter, or None; set from ``params`` when the class is defined.
    gate_param: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Other bases first (scikit-learn wraps table brushes' transform there), so ours is outermost.
        super().__init_subclass__(**kwargs)
        gates = [p for p in cls.params if p.gate]
        if len(gates) > 1:
            raise TypeError(f"{cls.__name__} declares {len(gates)} probability gates; a brush has one")
        if gates and (gates[0].kind != "float" or gates[0].minimum != 0.0 or gates[0].maximum != 1.0):
            raise TypeError(f"{cls.__name__}.{gates[0].name}: a probability gate is a float in [0, 1]")
        cls.gate_param = gates[0].name if gates else None
        for method, wrap in _WRAPPERS.items():
            own = cls.__dict__.get(method)
            if own is None or getattr(own, "__isabstractmethod__", False):
                continue
            setattr(cls, method, wrap(getattr(own, "hook", own)))

    def __init__(self, **settings: Any) -> None:
        values, errors = check_settings(self.params, settings)
        if errors:
            raise RecipeError([f"{self.name}.{e.param}: {e.message}" for e in errors])
        self.settings = values
        self.setup()

    def setup(self) -> None:  # noqa: B027 (an optional hook, empty by default)
        """Called after the settings are stored or changed: build wrapped transforms or tables here."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The settings, as a recipe stores them (round-trips through ``type(self)(**params)``).

        ``deep`` is scikit-learn's argument (a Pipeline passes it); a brush holds no inner estimators.
        """
        return dict(self.settings)

    def set_params(self, **params: Any) -> Self:
        """Change some settings, checked as ``__init__`` checks them (scikit-learn's ``set_params``,
        which Pipelines and searches call); a refused change leaves the brush as it was."""
        values, errors = check_settings(self.params, {**self.settings, **params})
        if errors:
            raise RecipeError([f"{self.name}.{e.param}: {e.message}" for e in errors])
        before, self.settings = self.settings, values
        try:
            self.setup()
        except Exception:
            self.settings = before
            self.setup()
            raise
        return self

    def check_input(self, sample: Any) -> None:  # noqa: B027 (an optional hook, empty by default)
        """Raise ``RecipeError`` saying what to change if this brush cannot take ``sample``.

        Runs before ``make_params`` and ``transform``; a modality overrides it once for its brushes.
        """

    def make_params(self, sample: Any) -> dict[str, Any]:
        """Draw this call's random values (from torch's global RNG). Deterministic brushes draw none."""
        return {}

    @abstractmethod
    def transform(self, sample: Any, drawn: dict[str, Any]) -> Any:
        """Apply the brush with the values ``make_params`` drew; must not draw randomness itself.

        Callers may leave ``drawn`` out for brushes that draw nothing (scikit-learn calls a table
        brush's ``transform(X)``); the brush's own method then gets an empty dict.
        """

    def __call__(self, sample: Any) -> Any:
        return self.transform(sample, self.make_params(sample))

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.settings.items())
        return f"{type(self).__name__}({settings})"


# The base's own (empty) make_params gets the checks too: a gated brush that draws nothing inherits it.
Brush.make_params = _base_make_params(Brush.__dict__["make_params"])  # type: ignore[method-assign]
