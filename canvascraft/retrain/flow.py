"""Retrain a registered model on a newer dataset version, compare, and promote only what is better.

``request_retrain("shapes@champion", reason)`` reads how the version the alias points at (the *base*)
was trained (its job's spec: dataset, recipe and recipe version, trainer, hyperparameters, validation
share and seed, item cap) and queues the same training on the dataset's **latest** version, or on
``dataset_version`` (the version the Drift page's "Label and add" made from a check's items). The job's
spec carries the retrain's id; when the job ends the pool calls ``finish_retrain``, which registers the
run as a new version (the *candidate*, no alias) and compares the two.

"The same validation data" means the candidate run's validation items (its ``validation/predictions.json``:
the items the latest data version holds out with the base's share and seed). Both versions are loaded
from the registry with ``Predictor`` and predict exactly those items through their own recipes, so both
accuracies count the same items, and the per-item predictions are kept with the retrain for the
approval view. Validation items that a labelling held back (``Item.held_back`` is the candidate's
dataset version: new items neither version trained on) are counted apart from the old validation
items, and both figures are kept (``base_metric``/``candidate_metric`` on the old items,
``new_base_metric``/``new_candidate_metric`` on the new ones); :func:`is_better` weighs them. The
candidate wins only when it is strictly better by that rule (a tie keeps the current).

With the model's alert settings on ``ask_first`` the alias does not move by itself: the retrain waits
in ``pending_approval`` until someone approves (the alias moves) or rejects it. Otherwise a better
candidate is promoted at once and a worse one is kept as a version, unaliased.

Cool-down: a drift-triggered request is skipped (logged, ``None`` returned) while another retrain of the
model is training, comparing or waiting for approval, and within ``cooldown_s`` of its last retrain, so
drift cannot start a storm of jobs. A manual request while one is in flight is an error that says so.

States: ``training`` → ``comparing`` → ``promoted`` | ``pending_approval`` | ``kept_current`` | ``failed``;
``pending_approval`` → ``promoted`` | ``rejected``. ``finish_retrain`` is idempotent (the pool's hook
and ``canvascraft retrain --wait`` may both call it): only the caller whose conditional update moves the
row out of ``training`` does the work.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from canvascraft.errors import CanvasCraftError, RetrainError
from canvascraft.store.models import Job, Retrain, as_utc, utcnow
from canvascraft.store.session import engine_for, open_session

if TYPE_CHECKING:
    from canvascraft.gallery.predict import Predictor
    from canvascraft.gallery.registry import ModelVersionInfo

log = logging.getLogger(__name__)

TRAINING, COMPARING = "training", "comparing"
PROMOTED, PENDING, KEPT, REJECTED, FAILED = (
    "promoted",
    "pending_approval",
    "kept_current",
    "rejected",
    "failed",
)
IN_FLIGHT = (TRAINING, COMPARING, PENDING)
"""States that block another retrain of the same model (a drift one is skipped, a manual one refused)."""
FINAL = (PROMOTED, KEPT, REJECTED, FAILED)
STATE_WORDS = {
    TRAINING: "training the candidate",
    COMPARING: "comparing the two versions",
    PROMOTED: "promoted: the alias moved to the candidate",
    PENDING: "waiting for approval",
    KEPT: "kept the current version (the candidate was not better)",
    REJECTED: "rejected: the current version stays",
    FAILED: "failed",
}
METRIC = "accuracy"
OLD_DROP_LIMIT = 0.05
"""With new items, the most accuracy a candidate may lose on the old validation items and still win:
learning the new photos must not cost the old ones more than this."""
SIDE_ROWS = 50
"""Table rows whose values are kept with a retrain for the approval view (the items it shows first)."""
BATCH = 64
FOLLOW_S = 2.0
"""Seconds between redraws of a page's retrain panel while one of its retrains trains or compares."""


@dataclass(frozen=True)
class RetrainView:
    """One retrain as plain data."""

    id: int
    model_name: str
    alias: str
    base_version: int
    candidate_version: int | None
    job_id: int | None
    state: str
    reason: str
    trigger: str
    check_id: int | None
    metric: str
    base_metric: float | None
    candidate_metric: float | None
    n_items: int
    created_at: datetime
    finished_at: datetime | None
    error: str | None
    dataset: str | None = None
    dataset_version: int | None = None
    """The dataset version the candidate trains on (None: retrains from before it was recorded)."""
    new_base_metric: float | None = None
    new_candidate_metric: float | None = None
    """Both versions' accuracy on the held-back new items (None when the version holds none)."""
    n_new: int = 0
    """How many of the ``n_items`` compared are held-back new items."""

    @property
    def n_old(self) -> int:
        return self.n_items - self.n_new

    @property
    def ref(self) -> str:
        return f"{self.model_name}@{self.alias}"

    @property
    def words(self) -> str:
        """The state in plain words, with the reason of a failure."""
        text = STATE_WORDS.get(self.state, self.state)
        return f"{text}: {self.error}" if self.state == FAILED and self.error else text

    @property
    def active(self) -> bool:
        return self.state in (TRAINING, COMPARING)

    @property
    def pending(self) -> bool:
        return self.state == PENDING


@dataclass(frozen=True)
class SideItem:
    """One validation item with both versions' predictions: ``image`` (PNG thumbnail) for pictures,
    ``audio`` (the clip's bytes) for sounds, ``row`` (column → value) for tables."""

    index: int
    name: str | None
    sha256: str | None
    label: str
    base_predicted: str
    base_probability: float
    candidate_predicted: str
    candidate_probability: float
    image: bytes | None = None
    audio: bytes | None = None
    row: dict[str, Any] | None = None
    new: bool = False
    """A held-back new item (labelled from a drift check), not one of the old validation items."""

    @property
    def base_correct(self) -> bool:
        return self.base_predicted == self.label

    @property
    def candidate_correct(self) -> bool:
        return self.candidate_predicted == self.label


@dataclass(frozen=True)
class SideBySide:
    retrain: RetrainView
    items: list[SideItem]
    """Old validation items where the two versions disagree first, then the rest, at most ``limit``."""
    new_items: list[SideItem] = field(default_factory=list)
    """The held-back new items in the same order, at most ``limit``."""


def _view(row: Retrain) -> RetrainView:
    items = row.items or []
    return RetrainView(
        id=row.id,
        model_name=row.model_name,
        alias=row.alias,
        base_version=row.base_version,
        candidate_version=row.candidate_version,
        job_id=row.job_id,
        state=row.state,
        reason=row.reason,
        trigger=row.trigger,
        check_id=row.check_id,
        metric=row.metric,
        base_metric=row.base_metric,
        candidate_metric=row.candidate_metric,
        n_items=len(items),
        created_at=as_utc(row.created_at) or utcnow(),
        finished_at=as_utc(row.finished_at),
        error=row.error,
        dataset=row.dataset,
        dataset_version=row.dataset_version,
        new_base_metric=row.new_base_metric,
        new_candidate_metric=row.new_candidate_metric,
        n_new=sum(bool(item.get("new")) for item in items),
    )


def get_retrain(retrain_id: int) -> RetrainView:
    with open_session() as session:
        row = session.get(Retrain, retrain_id)
        if row is None:
            raise RetrainError(f"there is no retrain {retrain_id}; `canvascraft retrain list` shows them")
        return _view(row)


def list_retrains(model_name: str | None = None, limit: int = 100) -> list[RetrainView]:
    """Newest first; every model's when ``model_name`` is None."""
    query = select(Retrain).order_by(Retrain.id.desc()).limit(limit)
    if model_name is not None:
        query = query.where(Retrain.model_name == model_name)
    with open_session() as session:
        return [_view(row) for row in session.scalars(query)]


def follow_every(views: Sequence[RetrainView], seconds: float = FOLLOW_S) -> float | None:
    """How often a panel listing ``views`` should redraw: only while one trains or compares.

    Those states end without anyone acting (the job's end finishes the retrain); a retrain waiting for
    approval or finished changes only when someone acts, so polling it would be wasted work.
    """
    return seconds if any(view.active for view in views) else None


def _move(retrain_id: int, current: tuple[str, ...], **values: Any) -> bool:
    """Conditionally update the row while its state is one of ``current``; False when another caller
    got there first."""
    with engine_for(_url()).begin() as connection:
        result = connection.execute(
            update(Retrain).where(Retrain.id == retrain_id, Retrain.state.in_(current)).values(**values)
        )
        return result.rowcount == 1


def _url() -> str:
    from canvascraft.config import get_settings

    return get_settings().db_url


# --- starting -----------------------------------------------------------------------------------------


def _parse_param(text: str | None) -> Any:
    if text is None or text == "None":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def training_settings(info: ModelVersionInfo) -> dict[str, Any]:
    """How ``info`` was trained, as ``launch_training`` keywords (its job's spec; the run's params when
    the job is gone). The dataset version is left out: a retrain names the one it trains on."""
    from canvascraft.tracking.runs import tracking_client

    job_id = info.lineage.job_id if info.lineage else None
    spec: dict[str, Any] | None = None
    if job_id is not None:
        with open_session() as session:
            job = session.get(Job, job_id)
            spec = dict(job.spec) if job is not None and job.kind == "train" else None
    if spec is not None:
        return {
            "dataset": spec["dataset"],
            "recipe": spec["recipe"],
            "recipe_version": spec.get("recipe_version"),
            "trainer": spec["trainer"],
            "hyper": dict(spec.get("hyper") or {}),
            "val_fraction": float(spec.get("val_fraction", 0.2)),
            "seed": int(spec.get("seed", 0)),
            "max_items": spec.get("max_items"),
        }
    if not info.run_id:
        raise RetrainError(f"{info.ref} has no training run, so how it was trained is unknown")
    params = tracking_client().get_run(info.run_id).data.params
    if "dataset" not in params or "recipe" not in params or "trainer" not in params:
        raise RetrainError(
            f"{info.ref}'s run does not say its dataset, recipe and trainer; retrain it by hand"
        )
    recipe_version = _parse_param(params.get("recipe_version"))
    return {
        "dataset": params["dataset"],
        "recipe": params["recipe"],
        "recipe_version": int(recipe_version) if recipe_version is not None else None,
        "trainer": params["trainer"],
        "hyper": {
            k.removeprefix("hyper."): _parse_param(v) for k, v in params.items() if k.startswith("hyper.")
        },
        "val_fraction": float(params.get("val_fraction", 0.2)),
        "seed": int(params.get("split_seed", 0)),
        "max_items": _parse_param(params.get("max_items")),
    }


def request_retrain(
    model_ref: str,
    reason: str,
    *,
    check_id: int | None = None,
    trigger: str = "manual",
    dataset_version: int | None = None,
) -> int | None:
    """Queue the training of a candidate for ``NAME@ALIAS`` on ``dataset_version`` of the base's dataset
    (the latest when None); returns the retrain's id, or None when a drift-triggered request is skipped
    by the cool-down (logged)."""
    from canvascraft.data.reads import open_version
    from canvascraft.events import RetrainRequested, publish
    from canvascraft.events.settings import get_alert_settings
    from canvascraft.gallery.registry import parse_ref, resolve
    from canvascraft.training.launch import launch_training

    if trigger not in ("manual", "drift"):
        raise RetrainError(f"trigger must be 'manual' or 'drift', got {trigger!r}")
    name, alias, _ = parse_ref(model_ref)
    if alias is None:
        raise RetrainError(
            f"{model_ref!r} names a version, not an alias; retrain NAME@ALIAS so the studio knows which "
            "alias to move when the new version is better"
        )
    base = resolve(model_ref)
    settings = training_settings(base)
    try:
        version = open_version(settings["dataset"], dataset_version).version.number
    except CanvasCraftError as error:
        raise RetrainError(f"cannot retrain {model_ref}: {error}") from None
    cooldown_s = get_alert_settings(name).cooldown_s
    now = utcnow()
    with open_session() as session:
        busy = session.scalars(
            select(Retrain).where(Retrain.model_name == name, Retrain.state.in_(IN_FLIGHT)).limit(1)
        ).first()
        last = session.scalars(
            select(Retrain).where(Retrain.model_name == name).order_by(Retrain.id.desc()).limit(1)
        ).first()
        if trigger == "drift":
            if busy is not None:
                log.info("retrain of %s skipped: retrain %s is %s", model_ref, busy.id, busy.state)
                return None
            since = now - (as_utc(last.created_at) or now) if last is not None else None
            if since is not None and since < timedelta(seconds=cooldown_s):
                log.info(
                    "retrain of %s skipped: cool-down (last retrain %s was %.0f s ago; cool-down %s s)",
                    model_ref, last.id, since.total_seconds(), cooldown_s,
                )  # fmt: skip
                return None
        elif busy is not None:
            what = "approve or reject it" if busy.state == PENDING else "wait for it to finish"
            raise RetrainError(
                f"retrain {busy.id} of {name} is already {STATE_WORDS[busy.state]}; {what} first"
            )
        row = Retrain(
            model_name=name,
            alias=alias,
            base_version=base.version,
            state=TRAINING,
            reason=reason,
            trigger=trigger,
            check_id=check_id,
            metric=METRIC,
            created_at=now,
            dataset=settings["dataset"],
            dataset_version=version,
        )
        session.add(row)
        session.flush()
        retrain_id = row.id
    try:
        job_id = launch_training(**settings, retrain_id=retrain_id, version=version)
    except Exception as error:
        _move(retrain_id, (TRAINING,), state=FAILED, error=f"could not start training: {error}",
              finished_at=utcnow())  # fmt: skip
        raise
    _move(retrain_id, (TRAINING,), job_id=job_id)
    publish(RetrainRequested(model_name=name, model_ref=model_ref, reason=reason, check_id=check_id))
    return retrain_id


# --- finishing ----------------------------------------------------------------------------------------


def finish_retrain(retrain_id: int, *, job_id: int | None = None) -> RetrainView:
    """Finish a retrain whose training job ended (a no-op while it runs, or once it is decided).

    ``job_id``: the job that ended (the pool's hook passes it). A resumed job carries its parent's
    retrain id; when the retrain failed with the parent, the resumed job takes its place."""
    from canvascraft.jobs import TERMINAL, JobState
    from canvascraft.jobs.reasons import explain_ending

    row = get_retrain(retrain_id)
    if job_id is not None and job_id != row.job_id:
        if row.state != FAILED or not _move(
            retrain_id, (FAILED,), state=TRAINING, job_id=job_id, error=None, finished_at=None
        ):
            return row
        row = get_retrain(retrain_id)
    if row.state != TRAINING or row.job_id is None:
        return row
    with open_session() as session:
        job = session.get(Job, row.job_id)
        if job is None:
            _move(retrain_id, (TRAINING,), state=FAILED, error="its training job was deleted",
                  finished_at=utcnow())  # fmt: skip
            return get_retrain(retrain_id)
        state, run_id = JobState(job.state), job.mlflow_run_id
        ending = explain_ending(job)
    if state not in TERMINAL:
        return row
    if state != JobState.SUCCEEDED or not run_id:
        error = ending or f"the training job ended {state.value}"
        _move(retrain_id, (TRAINING,), state=FAILED, error=error, finished_at=utcnow())
        return get_retrain(retrain_id)
    if not _move(retrain_id, (TRAINING,), state=COMPARING):
        return get_retrain(retrain_id)  # another caller is comparing
    try:
        _compare_and_decide(row, run_id)
    except Exception as error:
        log.exception("retrain %s: the comparison failed", retrain_id)
        _move(retrain_id, (COMPARING,), state=FAILED, error=f"the comparison failed: {error}",
              finished_at=utcnow())  # fmt: skip
    return get_retrain(retrain_id)


def _compare_and_decide(row: RetrainView, run_id: str) -> None:
    from canvascraft.events.settings import get_alert_settings
    from canvascraft.gallery.registry import register, resolve, set_alias

    candidate = register(run_id, row.model_name)
    _move(row.id, (COMPARING,), candidate_version=candidate.version)
    base = resolve(f"{row.model_name}/{row.base_version}")
    items = compare_on_same_items(base, candidate)
    old = [item for item in items if not item.get("new")]
    new = [item for item in items if item.get("new")]
    values: dict[str, Any] = {
        "base_metric": _accuracy(old, "base"),
        "candidate_metric": _accuracy(old, "candidate"),
        "new_base_metric": _accuracy(new, "base"),
        "new_candidate_metric": _accuracy(new, "candidate"),
        "items": items,
    }
    better = is_better(
        values["candidate_metric"], values["base_metric"],
        new_candidate=values["new_candidate_metric"], new_base=values["new_base_metric"],
    )  # fmt: skip
    if get_alert_settings(row.model_name).ask_first:
        _move(row.id, (COMPARING,), state=PENDING, **values)
    elif better:
        set_alias(row.model_name, row.alias, candidate.version)
        _move(row.id, (COMPARING,), state=PROMOTED, finished_at=utcnow(), **values)
    else:
        _move(row.id, (COMPARING,), state=KEPT, finished_at=utcnow(), **values)


def is_better(
    candidate_metric: float | None,
    base_metric: float | None,
    *,
    new_candidate: float | None = None,
    new_base: float | None = None,
) -> bool:
    """The promotion rule, on the same items for both versions; a tie keeps the current version.

    Without held-back new items: strictly higher accuracy on the old validation items. With them, the
    new items are what drift is about but usually few, so counting them among hundreds of old items
    would drown them: each set counts half (the mean of the two accuracies must be strictly higher),
    and the candidate may not lose more than :data:`OLD_DROP_LIMIT` on the old items, so learning the
    new photos cannot silently unlearn the old ones.
    """
    if new_candidate is None or new_base is None:
        if candidate_metric is None:
            return False
        return base_metric is None or candidate_metric > base_metric
    if candidate_metric is None or base_metric is None:
        return new_candidate > new_base
    if candidate_metric < base_metric - OLD_DROP_LIMIT:
        return False
    return (candidate_metric + new_candidate) / 2 > (base_metric + new_base) / 2


def _accuracy(items: list[dict[str, Any]], which: str) -> float | None:
    if not items:
        return None
    return sum(item[f"{which}_predicted"] == item["label"] for item in items) / len(items)


def compare_on_same_items(base: ModelVersionInfo, candidate: ModelVersionInfo) -> list[dict[str, Any]]:
    """Both versions' predictions on the candidate run's validation items, one dict per item; ``new``
    marks the items the candidate's dataset version held back from its labelled drift items."""
    from canvascraft.gallery.detail import read_predictions
    from canvascraft.gallery.predict import Predictor
    from canvascraft.modalities import get_modality
    from canvascraft.tracking.runs import tracking_client

    if not candidate.run_id:
        raise RetrainError(f"{candidate.ref} has no run, so it has no validation items")
    _, members = read_predictions(tracking_client().get_run(candidate.run_id))
    if not members:
        raise RetrainError(f"{candidate.ref}'s run logged no validation predictions to compare on")
    base_model, candidate_model = Predictor.from_version(base), Predictor.from_version(candidate)
    held = _held_back_names(candidate)
    items = [{"index": m.index, "name": m.name, "sha256": m.sha256, "label": m.label,
              "new": m.name in held} for m in members]  # fmt: skip
    if get_modality(candidate_model.modality).rows:
        frame = candidate_model.sample_rows([m.index for m in members])
        for which, model in (("base", base_model), ("candidate", candidate_model)):
            out = model.predict_rows(frame)
            for item, predicted, probability in zip(items, out["predicted"], out["probability"], strict=True):
                item[f"{which}_predicted"] = str(predicted)
                item[f"{which}_probability"] = round(float(probability), 6)
        for position in _shown_first(items)[:SIDE_ROWS]:
            record = frame.iloc[position].to_dict()
            items[position]["row"] = {str(k): _json_value(v) for k, v in record.items()}
        return items
    for which, model in (("base", base_model), ("candidate", candidate_model)):
        for item, (predicted, probability) in zip(items, _predict_items(model, items), strict=True):
            item[f"{which}_predicted"] = predicted
            item[f"{which}_probability"] = round(probability, 6)
    return items


def _held_back_names(candidate: ModelVersionInfo) -> set[str]:
    """Names of the items the candidate's dataset version held back (its own labelling's new items)."""
    from canvascraft.data.reads import open_version

    lineage = candidate.lineage
    if lineage is None or not lineage.dataset or not (lineage.dataset_version or "").isdigit():
        return set()
    number = int(str(lineage.dataset_version))
    try:
        view = open_version(lineage.dataset, number)
    except CanvasCraftError:
        return set()
    return {item.name for item in view.items if item.held_back == number}


def _predict_items(model: Predictor, items: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """Stored images or clips, predicted in batches (clips of different lengths one at a time)."""
    import torch

    from canvascraft.data.reads import item_bytes

    found: list[tuple[str, float]] = []
    for start in range(0, len(items), BATCH):
        tensors = [model.prepare_file(item_bytes(i["sha256"]), i["name"] or i["sha256"][:12])
                   for i in items[start : start + BATCH]]  # fmt: skip
        shapes = {tuple(t.shape[1:]) for t in tensors}
        batches = [torch.cat(tensors)] if len(shapes) == 1 else tensors
        for batch in batches:
            for row in model.probabilities(batch):
                top = int(row.argmax())
                found.append((model.classes[top], float(row[top])))
    return found


def _json_value(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def _shown_first(items: list[dict[str, Any]]) -> list[int]:
    """Positions of the items the approval view shows: where the versions disagree first, in order."""
    differ = [i for i, item in enumerate(items) if item["base_predicted"] != item["candidate_predicted"]]
    same = [i for i, item in enumerate(items) if item["base_predicted"] == item["candidate_predicted"]]
    return differ + same


# --- deciding -----------------------------------------------------------------------------------------


def approve(retrain_id: int) -> RetrainView:
    """Move the alias to the candidate of a retrain waiting for approval."""
    from canvascraft.gallery.registry import set_alias

    row = get_retrain(retrain_id)
    if row.state != PENDING or row.candidate_version is None:
        raise RetrainError(f"retrain {retrain_id} is {row.words}, not waiting for approval")
    set_alias(row.model_name, row.alias, row.candidate_version)
    if not _move(retrain_id, (PENDING,), state=PROMOTED, finished_at=utcnow()):
        raise RetrainError(f"retrain {retrain_id} was decided meanwhile; reload to see how")
    return get_retrain(retrain_id)


def reject(retrain_id: int) -> RetrainView:
    """Keep the current version; the candidate stays registered, without the alias."""
    row = get_retrain(retrain_id)
    if row.state != PENDING or not _move(retrain_id, (PENDING,), state=REJECTED, finished_at=utcnow()):
        raise RetrainError(f"retrain {retrain_id} is {row.words}, not waiting for approval")
    return get_retrain(retrain_id)


def side_by_side(retrain_id: int, limit: int = 12) -> SideBySide:
    """Both versions' predictions on the same validation items, for the approval view: the items where
    they disagree first, each with its picture, clip or row values; the held-back new items apart."""
    view = get_retrain(retrain_id)
    with open_session() as session:
        row = session.get(Retrain, retrain_id)
        items = list(row.items or []) if row is not None else []
    old = [item for item in items if not item.get("new")]
    new = [item for item in items if item.get("new")]
    return SideBySide(retrain=view, items=_side_items(old, limit), new_items=_side_items(new, limit))


def _side_items(items: list[dict[str, Any]], limit: int) -> list[SideItem]:
    from canvascraft.data.preview import thumbnail_png
    from canvascraft.data.reads import item_bytes

    shown: list[SideItem] = []
    for position in _shown_first(items)[:limit]:
        item = items[position]
        image = audio = None
        if item.get("row") is None and item.get("sha256"):
            try:
                data = item_bytes(item["sha256"])
            except (OSError, ValueError, CanvasCraftError):
                data = None
            if data is not None:
                try:
                    image = thumbnail_png(data)
                except OSError:  # not a picture (PIL cannot identify it): a clip
                    audio = data
        shown.append(
            SideItem(
                index=int(item["index"]),
                name=item.get("name"),
                sha256=item.get("sha256"),
                label=str(item["label"]),
                base_predicted=str(item["base_predicted"]),
                base_probability=float(item["base_probability"]),
                candidate_predicted=str(item["candidate_predicted"]),
                candidate_probability=float(item["candidate_probability"]),
                image=image,
                audio=audio,
                row=item.get("row"),
                new=bool(item.get("new")),
            )
        )
    return shown


def wait_for_retrain(retrain_id: int, timeout_s: float | None = None) -> RetrainView:
    """Drive the pool until the retrain's job ends, then finish it (the CLI's ``--wait``)."""
    import time

    from canvascraft.jobs.pool import JobPool

    view = get_retrain(retrain_id)
    if view.job_id is not None:
        JobPool().wait(view.job_id, timeout_s=timeout_s)
    view = finish_retrain(retrain_id)
    deadline = time.monotonic() + 600
    while view.state == COMPARING and time.monotonic() < deadline:  # another process is comparing
        time.sleep(0.5)
        view = get_retrain(retrain_id)
    return view
