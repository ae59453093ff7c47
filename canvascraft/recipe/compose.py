"""Recipe → seeded pipeline of brush instances.

Every item is processed under its own seed (``item_seed``), inside ``torch.random.fork_rng``, so the
same recipe, item and epoch always draw the same values, whether in training, in a preview or in a
test, and the caller's random state is left exactly as it was. Only the CPU generator is seeded:
brushes draw on the CPU, and reseeding the CUDA generators from a data pipeline would silently tie
the model's own randomness (dropout, initialisation) to the last item processed.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast, runtime_checkable

import numpy as np
import torch

from canvascraft.brushes.base import Brush
from canvascraft.brushes.registry import get_brush
from canvascraft.errors import RecipeError
from canvascraft.recipe.spec import Recipe, validate_recipe

Stage = Literal["train", "eval"]
STAGES: tuple[str, ...] = ("train", "eval")

# Drawn tensors larger than this are logged as a summary (an elastic warp field is a whole image).
LOG_TENSOR_LIMIT = 64


@runtime_checkable
class Fittable(Protocol):
    """A brush that learns from the training split (the table brushes) and can save what it learned.

    The label column is passed by keyword: a table brush's second positional argument is
    scikit-learn's ``y``.
    """

    def fit(self, frame: Any, *, label_column: str | None) -> Any: ...

    def get_state(self) -> dict[str, Any]: ...

    def set_state(self, state: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class PipelineStep:
    """A built brush and its place in the recipe, so logs and states name steps as errors do."""

    index: int
    brush: Brush

    @property
    def place(self) -> str:
        return f"brushes[{self.index}] ({self.brush.name})"


def apply_step(step: PipelineStep, sample: Any) -> tuple[Any, dict[str, Any]]:
    """Run one step; any failure becomes a ``RecipeError`` naming the step, never a traceback."""
    try:
        drawn = step.brush.make_params(sample)
        return step.brush.transform(sample, drawn), drawn
    except RecipeError as error:
        raise RecipeError([f"brushes[{step.index}]: {e}" for e in error.errors]) from None
    except (RuntimeError, TypeError, ValueError, IndexError) as error:
        hint = ""
        if isinstance(sample, torch.Tensor) and sample.is_floating_point():
            hint = " (the image is already float numbers here: keep normalize as the last brush)"
        raise RecipeError(
            [f"brushes[{step.index}]: {step.brush.name} could not be applied: {error}{hint}"]
        ) from error


def item_seed(recipe_seed: int, item_index: int, epoch: int = 0) -> int:
    """The seed of one item in one epoch: stable across processes, platforms and Python versions."""
    if min(recipe_seed, item_index, epoch) < 0:
        raise ValueError(f"seeds, indices and epochs are >= 0, got {(recipe_seed, item_index, epoch)}")
    state = np.random.SeedSequence([recipe_seed, item_index, epoch]).generate_state(1, dtype=np.uint64)
    return int(state[0])


# torch's CPU generator is one per process; the studio serves every browser session from threads of
# one process, so seeded blocks take turns, or two previews would interleave their draws.
_GENERATOR_LOCK = threading.RLock()


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block with torch's CPU generator seeded, restoring the caller's state afterwards."""
    with _GENERATOR_LOCK, torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(seed)
        yield


def compose(recipe: Recipe | Mapping[str, Any], stage: Stage) -> Pipeline:
    """Build the pipeline of ``recipe`` for ``stage``.

    The recipe is validated first, so a bad recipe fails as a whole with every error listed and no
    brush is built. ``train`` keeps every enabled step; ``eval`` (validation, inference and the
    preview's "original") drops the augmenting ones and keeps the deterministic preprocessing.
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    recipe = validate_recipe(recipe)
    steps: list[PipelineStep] = []
    for index, step in enumerate(recipe.brushes):
        brush_class = get_brush(step.brush)
        if step.enabled and not (stage == "eval" and brush_class.augments):
            steps.append(PipelineStep(index, brush_class(**step.params)))
    return Pipeline(recipe, stage, steps)


class Pipeline:
    """The built brushes of one recipe and stage; ``apply`` runs them on one sample under a seed."""

    def __init__(self, recipe: Recipe, stage: Stage, steps: Sequence[PipelineStep]) -> None:
        self.recipe = recipe
        self.stage = stage
        self.steps = tuple(steps)
        self._fitted = not self._fittable()

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        names = ", ".join(step.brush.name for step in self.steps)
        return f"Pipeline({self.recipe.name!r}, {self.stage}, [{names}])"

    @property
    def needs_fit(self) -> bool:
        """True while a brush that learns from data has been neither fitted nor given a saved state."""
        return not self._fitted

    def apply(self, sample: Any, seed: int) -> Any:
        """Run every step on ``sample``; the same seed always draws the same values."""
        return self._run(sample, seed, log=None)

    def apply_logged(self, sample: Any, seed: int) -> tuple[Any, list[dict[str, Any]]]:
        """Like ``apply``, also returning what each step drew, JSON-ready, for run logs and previews."""
        log: list[dict[str, Any]] = []
        return self._run(sample, seed, log=log), log

    def variants(self, sample: Any, n: int, seed: int) -> list[Any]:
        """``n`` versions of one sample, the k-th under ``item_seed(seed, k)`` (the preview grid)."""
        return [self.apply(sample, item_seed(seed, k)) for k in range(n)]

    def _run(self, sample: Any, seed: int, log: list[dict[str, Any]] | None) -> Any:
        if not self._fitted:
            raise RuntimeError(
                f"recipe {self.recipe.name!r} has brushes that learn from data: call fit() on the "
                "training split, or load_state() with a saved state, before applying it"
            )
        with seeded(seed):
            for step in self.steps:
                sample, drawn = apply_step(step, sample)
                if log is not None:
                    log.append({"step": step.index, "brush": step.brush.name, "drawn": to_jsonable(drawn)})
        return sample

    # Brushes that learn from data (table pipelines).

    def _fittable(self) -> list[PipelineStep]:
        return [step for step in self.steps if isinstance(step.brush, Fittable)]

    def fit(self, frame: Any, label_column: str | None) -> Pipeline:
        """Fit each learning brush, in order, on the output of the steps before it.

        Call it with the training split only: validation and test data must never shape the scaling.
        """
        fittable = self._fittable()
        if not fittable:
            self._fitted = True
            return self
        with seeded(self.recipe.seed):
            for step in self.steps:
                if isinstance(step.brush, Fittable):
                    step.brush.fit(frame, label_column=label_column)
                if step is fittable[-1]:
                    break  # the steps after the last learning one have nothing to learn from
                frame = step.brush.transform(frame, step.brush.make_params(frame))
        self._fitted = True
        return self

    def state(self) -> list[dict[str, Any]]:
        """What the learning brushes learned, as JSON data (never pickle), to save beside a model."""
        if not self._fitted:
            raise RuntimeError(f"recipe {self.recipe.name!r} is not fitted yet: call fit() first")
        states = []
        for step in self._fittable():
            state = cast(Fittable, step.brush).get_state()
            try:
                state = json.loads(json.dumps(state, allow_nan=False))
            except (TypeError, ValueError) as error:
                raise TypeError(f"{step.place}: its state is not plain JSON data ({error})") from None
            states.append({"step": step.index, "brush": step.brush.name, "state": state})
        return states

    def load_state(self, states: Sequence[Mapping[str, Any]]) -> None:
        """Restore what ``state`` saved, matching entries to steps by place and brush name.

        Steps of the other stage may be in ``states`` (a train pipeline's state loads into the eval
        pipeline of the same recipe); a missing or mismatched entry means another recipe was saved.
        """
        by_step: dict[int, Mapping[str, Any]] = {}
        for entry in states:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("step"), int):
                raise RecipeError([f"saved state: each entry needs a step index, got {entry!r:.80}"])
            by_step[entry["step"]] = entry
        problems = []
        for step in self._fittable():
            entry = by_step.get(step.index)
            if entry is None:
                problems.append(f"saved state has nothing for {step.place}; fit the recipe again")
            elif entry.get("brush") != step.brush.name:
                problems.append(
                    f"saved state for brushes[{step.index}] is for {entry.get('brush')!r}, but the recipe "
                    f"has {step.brush.name!r} there; fit the recipe again"
                )
        if problems:
            raise RecipeError(problems)
        for step in self._fittable():
            cast(Fittable, step.brush).set_state(dict(by_step[step.index]["state"]))
        self._fitted = True


def to_jsonable(value: Any) -> Any:
    """Drawn values as plain JSON data: tensors and arrays become lists (or a summary when large)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        value = (value.float() if value.dtype == torch.bfloat16 else value).numpy()
    if isinstance(value, np.ndarray):
        if value.size > LOG_TENSOR_LIMIT and value.dtype.kind in "biuf":
            numbers = value.astype(np.float64)
            return {
                "shape": list(value.shape),
                "dtype": str(value.dtype),
                "min": to_jsonable(numbers.min()),
                "max": to_jsonable(numbers.max()),
                "mean": to_jsonable(numbers.mean()),
            }
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)
