"""Search spaces: which hyperparameters and brush parameters a study varies, and over what range.

A searched value is named ``hyper.<name>`` (a trainer hyperparameter) or
``brush.<step>.<brush>.<param>`` (a parameter of the recipe's step ``<step>``, counted from 0). The
names are what Optuna, MLflow and the pages show; they carry the brush name so a reader knows what
``brush.1.gaussian_blur.sigma`` is without opening the recipe.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from canvascraft.brushes.base import Param
from canvascraft.errors import TrainingError

BRUSH_NAME = re.compile(r"^brush\.(\d+)\.([a-z0-9_]+)\.([a-z0-9_]+)$")
HYPER_NAME = re.compile(r"^hyper\.([a-z0-9_]+)$")
NOT_SEARCHED = {"epochs", "max_steps", "seed", "patience", "best_by"}
"""Loop settings a study keeps fixed: epochs and steps are the study's budget, the seed its
reproducibility, and ``best_by`` what its trials' best epochs mean."""
LOG_SCALE = {"learning_rate", "weight_decay"}
"""Hyperparameters that span orders of magnitude: searched on a log scale over a narrower default range."""
DEFAULT_RANGES: dict[str, tuple[float, float]] = {
    "learning_rate": (1e-4, 1e-2),
    "weight_decay": (1e-6, 1e-2),
    "batch_size": (8, 64),
    "width": (8, 64),
    "hidden": (16, 256),
    "layers": (1, 4),
    "dropout": (0.0, 0.5),
}
DEFAULT_SEARCHED = ("hyper.learning_rate", "hyper.dropout")


@dataclass(frozen=True)
class SearchParam:
    """One searched value: ``kind`` is float, int or choice; ``log`` samples floats and ints on a log
    scale; ``enabled`` is what the form's tick box holds (only enabled ones are searched)."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None
    enabled: bool = True
    help: str = ""
    #: The declared bounds a range may widen to (the brush's or trainer's own limits).
    minimum: float | None = None
    maximum: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "choices": list(self.choices) if self.choices is not None else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchParam:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if known.get("choices") is not None:
            known["choices"] = tuple(known["choices"])
        return cls(**known)

    def distribution(self) -> BaseDistribution:
        if self.kind == "choice":
            return CategoricalDistribution(list(self.choices or ()))
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log)  # type: ignore[arg-type]
        return FloatDistribution(float(self.low), float(self.high), log=self.log)  # type: ignore[arg-type]


def _from_param(name: str, param: Param, *, hyper: bool) -> SearchParam | None:
    """The default search range for a declared parameter, or ``None`` when it cannot be searched."""
    if param.kind == "bool":
        return SearchParam(name, "choice", choices=(False, True), enabled=False, help=param.help)
    if param.kind == "choice":
        return SearchParam(name, "choice", choices=tuple(param.choices or ()), enabled=False, help=param.help)
    if param.kind not in ("int", "float") or param.minimum is None or param.maximum is None:
        return None  # ranges, column pickers and unbounded numbers are not searched
    low, high = DEFAULT_RANGES.get(param.name, (param.minimum, param.maximum)) if hyper else (
        param.minimum, param.maximum
    )  # fmt: skip
    low, high = max(low, param.minimum), min(high, param.maximum)
    log = hyper and param.name in LOG_SCALE and low > 0
    if param.kind == "int":
        low, high = math.ceil(low), math.floor(high)
    if low >= high:
        return None
    return SearchParam(
        name, param.kind, low, high, log=log, enabled=name in DEFAULT_SEARCHED, help=param.help,
        minimum=param.minimum, maximum=param.maximum,
    )  # fmt: skip


def candidate_space(
    hyperparams: Sequence[Param], steps: Sequence[tuple[str, Sequence[Param]]]
) -> list[SearchParam]:
    """Everything a study could search, with default ranges (hyperparameters first, then each brush
    step's parameters within the brush's own bounds); the defaults enable only a couple."""
    space = [
        candidate
        for param in hyperparams
        if param.name not in NOT_SEARCHED
        and (candidate := _from_param(f"hyper.{param.name}", param, hyper=True)) is not None
    ]
    for index, (brush, params) in enumerate(steps):
        for param in params:
            candidate = _from_param(f"brush.{index}.{brush}.{param.name}", param, hyper=False)
            if candidate is not None:
                space.append(candidate)
    return space


def check_space(space: Sequence[SearchParam], candidates: Sequence[SearchParam]) -> list[SearchParam]:
    """The enabled params, each checked against what may be searched: known name, range inside the
    declared bounds, low below high. Raises ``TrainingError`` listing every problem."""
    allowed = {c.name: c for c in candidates}
    errors: list[str] = []
    chosen = [p for p in space if p.enabled]
    if not chosen:
        errors.append("pick at least one hyperparameter or brush parameter to search")
    for param in chosen:
        known = allowed.get(param.name)
        if known is None:
            errors.append(f"{param.name}: not something this recipe and trainer can search")
            continue
        if known.kind == "choice":
            extra = [c for c in (param.choices or ()) if c not in (known.choices or ())]
            if extra or not param.choices:
                errors.append(f"{param.name}: choose among {list(known.choices or ())}")
            continue
        bounds = (known.minimum, known.maximum)
        if param.low is None or param.high is None or not param.low < param.high:
            errors.append(
                f"{param.name}: the low end must be below the high end, got {param.low}..{param.high}"
            )
        elif param.low < bounds[0] or param.high > bounds[1]:  # type: ignore[operator]
            errors.append(f"{param.name}: must stay within {bounds[0]:g}..{bounds[1]:g}")
        elif param.log and param.low <= 0:
            errors.append(f"{param.name}: a log scale needs a low end above 0")
    if errors:
        raise TrainingError("; ".join(errors))
    return [
        replace(p, kind=allowed[p.name].kind, help=allowed[p.name].help, minimum=allowed[p.name].minimum,
                maximum=allowed[p.name].maximum)
        for p in chosen
    ]  # fmt: skip


def split_params(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A trial's sampled values as (trainer hyperparameters, recipe overrides by searched name)."""
    hyper: dict[str, Any] = {}
    overrides: dict[str, Any] = {}
    for name, value in values.items():
        if match := HYPER_NAME.match(name):
            hyper[match.group(1)] = value
        elif BRUSH_NAME.match(name):
            overrides[name] = value
        else:
            raise TrainingError(f"{name!r} is neither hyper.<name> nor brush.<step>.<brush>.<param>")
    return hyper, overrides


def apply_overrides(recipe: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the recipe mapping with the searched brush parameters set; the caller validates it."""
    steps = [dict(step, params=dict(step.get("params") or {})) for step in recipe["brushes"]]
    for name, value in overrides.items():
        match = BRUSH_NAME.match(name)
        if match is None:
            raise TrainingError(f"{name!r} does not name a brush parameter (brush.<step>.<brush>.<param>)")
        index, brush, param = int(match.group(1)), match.group(2), match.group(3)
        if index >= len(steps) or steps[index]["brush"] != brush:
            raise TrainingError(f"{name}: step {index} of recipe {recipe['name']!r} is not {brush}")
        steps[index]["params"][param] = value
    return {**recipe, "brushes": steps}


def costliest_overrides(
    chosen: Sequence[SearchParam], cost: Callable[[dict[str, Any]], int | None]
) -> dict[str, Any]:
    """The searched brush values a trial could draw that cost most memory per item: each numeric brush
    parameter at the end of its range that costs more. An item's cost grows or falls steadily with each
    setting (n_fft up, hop_length down), so the worst trial sits at a corner of the ranges; checking that
    one corner before a study starts covers every trial it will draw.

    ``cost(overrides)`` estimates a recipe with those values (None: not estimated, or not a valid
    recipe); {} when nothing searched raises the cost."""
    base = cost({})
    if base is None:
        return {}
    worst: dict[str, Any] = {}
    singles: list[tuple[int, dict[str, Any]]] = []
    for param in chosen:
        if not BRUSH_NAME.match(param.name) or param.kind == "choice":
            continue
        ends = [v if param.kind == "float" else round(v) for v in (param.low, param.high) if v is not None]
        scored = [(c, v) for v in ends if (c := cost({param.name: v})) is not None]
        if scored:
            value_cost, value = max(scored, key=lambda cv: cv[0])
            if value_cost > base:
                worst[param.name] = value
                singles.append((value_cost, {param.name: value}))
    if len(worst) > 1 and cost(worst) is None:  # the corner itself is not a valid recipe
        return max(singles, key=lambda cs: cs[0])[1]
    return worst


def parse_search(texts: Sequence[str], candidates: Sequence[SearchParam]) -> list[SearchParam]:
    """``--search`` values from the command line: ``NAME`` (its default range), ``NAME=LOW:HIGH``
    (``:log`` appended for a log scale) or ``NAME=A,B,C`` (choices). Unknown names list the known ones."""
    known = {c.name: c for c in candidates}
    chosen: list[SearchParam] = []
    for text in texts:
        name, _, value = text.partition("=")
        candidate = known.get(name.strip())
        if candidate is None:
            raise TrainingError(f"--search {name!r}: not searchable here; choose from {', '.join(known)}")
        if not value:
            chosen.append(replace(candidate, enabled=True))
        elif candidate.kind == "choice":
            options = [_typed(part, candidate.choices or ()) for part in value.split(",")]
            chosen.append(replace(candidate, choices=tuple(options), enabled=True))
        else:
            parts = value.split(":")
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
                raise TrainingError(f"--search {text!r}: write {name}=LOW:HIGH or {name}=LOW:HIGH:log")
            try:
                low, high = float(parts[0]), float(parts[1])
            except ValueError:
                raise TrainingError(f"--search {text!r}: LOW and HIGH must be numbers") from None
            chosen.append(replace(candidate, low=low, high=high, log=len(parts) == 3, enabled=True))
    return chosen


def _typed(text: str, choices: Sequence[Any]) -> Any:
    """A choice typed on the command line back in the type the parameter declares."""
    return next((c for c in choices if str(c).lower() == text.strip().lower()), text.strip())
