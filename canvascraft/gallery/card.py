"""A registered model version's card: what it is for, what data (on what terms) it learned from, how it
was trained, how well it does beside its baseline, its drift history and where it came from.

``model_card(name, version)`` gathers a ``ModelCard`` from the stores (the registry and the run in
MLflow, the dataset and its licence, drift checks and retrains in the studio database);
``card_markdown(name, version)`` renders it as Markdown. Both are plain functions of a name and a
version with no UI, so the Gallery, the CLI and every model export show the same card. Text the user
typed (names, labels, the description, the source of a dataset) is escaped, so the card forms no
link, image or HTML in any Markdown viewer.

The licence and consent are read when the card is made, not when the model was trained: a correction
to a dataset's terms shows on every card of a model that learned from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mlflow.exceptions import MlflowException
from sqlalchemy import select

from canvascraft.data.catalog import version_view
from canvascraft.data.health import assess
from canvascraft.data.licence import LicenceTerms, get_terms
from canvascraft.errors import CanvasCraftError, GalleryError, ModelError
from canvascraft.gallery.registry import resolve
from canvascraft.store.models import DriftCheck, DriftMonitor, Retrain
from canvascraft.store.session import open_session
from canvascraft.tracking.runs import tracking_client

if TYPE_CHECKING:
    from mlflow.entities import Run

    from canvascraft.gallery.detail import ClassMetrics, RunDetail

MAX_DESCRIPTION = 500
DRIFT_ROWS = 20
FORK_DEPTH = 8
DESCRIPTION_MISSING = "Nobody has said yet what this model is for."


@dataclass(frozen=True)
class DatasetTerms:
    """One dataset a model learned from, with its terms as they are now; ``how`` says how it reached
    the model (``trained on``, ``through the run it was forked from``, ``through generated pictures``)."""

    dataset: str
    version: str | None
    how: str
    terms: LicenceTerms | None

    @property
    def problems(self) -> list[str]:
        if self.terms is None:
            return ["the dataset is no longer in the workspace, so its licence and consent are unknown"]
        return self.terms.problems

    @property
    def warning(self) -> str | None:
        if not self.problems:
            return None
        return f"{self.dataset}: {'; '.join(self.problems)}"


@dataclass(frozen=True)
class Figure:
    """One validation figure of the model beside its baseline's (``baseline`` None without one)."""

    label: str
    model: str | None
    baseline: str | None


@dataclass(frozen=True)
class DriftEntry:
    when: datetime
    drifted: bool | None
    current: str
    sentence: str


@dataclass(frozen=True)
class ModelCard:
    """Everything a model's card says, as plain data (``render_markdown`` writes it out)."""

    name: str
    version: int
    aliases: list[str]
    created: datetime
    run_id: str | None
    run_name: str | None
    description: str
    task: str
    modality: str | None
    dataset: str | None
    dataset_version: str | None
    items_per_label: dict[str, int]
    data_note: str | None
    health_warnings: list[str]
    recipe: str | None
    recipe_version: str | None
    recipe_steps: list[str]
    trainer: str | None
    trainer_settings: dict[str, str]
    training: dict[str, str]
    figures: list[Figure]
    baseline_model: str | None
    behind_baseline: str | None
    per_class: list[ClassMetrics]
    quality: list[str]
    quality_note: str | None
    learned_from: list[DatasetTerms]
    watched: str | None
    drift: list[DriftEntry]
    lineage: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.name}/{self.version}"

    @property
    def data_warnings(self) -> list[str]:
        """One line per dataset the model learned from without a licence or without consent."""
        return [w for d in self.learned_from if (w := d.warning) is not None]


_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*):(?=//)")
_WWW = re.compile(r"(?i)\b(www)\.(?=\S)")
_LINE_START = re.compile(r"^([#>+=-])")
_NUMBERED = re.compile(r"^(\d+)([.)])")


def md(text: object, *, line_start: bool = False) -> str:
    """User text as Markdown that reads as typed: the characters that make links, images, HTML,
    emphasis, code or table cells are escaped, autolinks broken, a leading heading, quote or list
    marker escaped (and a leading ``1.`` where the text starts a line), and line breaks become spaces
    (a card line stays one line)."""
    value = " ".join(str(text).split())
    value = _SPECIAL.sub(r"\\\1", value)
    value = _SCHEME.sub(r"\1\\:", value)
    value = _WWW.sub(r"\1\\.", value)
    if line_start:
        value = _NUMBERED.sub(r"\1\\\2", value)
    return _LINE_START.sub(r"\\\1", value)


def _number(value: str | int | None) -> str:
    return "" if value is None else str(value)


def _version_ref(name: str, version: int | str) -> str:
    text = str(version).strip()
    if text.isdigit():
        return f"{name}/{int(text)}"
    return f"{name}@{text.removeprefix('@')}"


def resolve_card_ref(ref: str) -> tuple[str, int]:
    """``NAME@ALIAS`` or ``NAME/VERSION`` → (name, version number)."""
    info = resolve(ref)
    return info.name, info.version


def describe(name: str, version: int | str, text: str) -> str:
    """Store what the version is for (its MLflow model-version description); returns it as stored."""
    text = " ".join(text.split())
    if len(text) > MAX_DESCRIPTION:
        raise ModelError(
            f"the description is {len(text)} characters; keep it under {MAX_DESCRIPTION} (one or two lines)"
        )
    info = resolve(_version_ref(name, version))
    try:
        tracking_client().update_model_version(info.name, str(info.version), description=text)
    except MlflowException as error:
        raise ModelError(f"cannot describe {info.ref}: {error.message}") from None
    return text


def learned_from(run_id: str | None) -> list[DatasetTerms]:
    """The datasets a run's model learned from, with their current terms: its own dataset, the datasets
    of the runs it was forked from, and those of the generators that made pictures in its data."""
    if not run_id:
        return []
    client = tracking_client()
    found: dict[str, DatasetTerms] = {}
    seen: set[str] = set()
    pending: list[tuple[str, str]] = [(run_id, "trained on")]
    while pending and len(seen) < 2 * FORK_DEPTH:
        current, how = pending.pop(0)
        if current in seen:
            continue
        seen.add(current)
        try:
            run = client.get_run(current)
        except MlflowException:
            continue
        dataset, version = run.data.params.get("dataset"), run.data.params.get("dataset_version")
        if dataset and dataset not in found:
            found[dataset] = DatasetTerms(dataset, version, how, None)
        if parent := run.data.tags.get("canvascraft.forked_from_run"):
            pending.append((parent, "through the run it was forked from"))
        if dataset and how == "trained on":
            pending += [
                (g, "through generated pictures in its data") for g in _generator_runs(dataset, version)
            ]
    with open_session() as session:
        return [DatasetTerms(d.dataset, d.version, d.how, _terms(session, d.dataset)) for d in found.values()]


def _terms(session: Any, dataset: str) -> LicenceTerms | None:
    try:
        return get_terms(session, dataset)
    except CanvasCraftError:
        return None


def _generator_runs(dataset: str, version: str | None) -> list[str]:
    """The runs of the generators whose pictures are in that version (the DiffusionBrush marks them)."""
    try:
        with open_session() as session:
            view = version_view(session, dataset, int(version) if version and version.isdigit() else None)
    except CanvasCraftError:
        return []
    runs: list[str] = []
    for ref in dict.fromkeys(str(i.generated.get("generator")) for i in view.items if i.generated):
        try:
            runs.append((resolve(ref).run_id or "") if ("@" in ref or "/" in ref) else ref)
        except CanvasCraftError:
            continue
    return [r for r in runs if r]


def training_data_warnings(run_id: str) -> list[str]:
    """What registering the run's model should warn about: data without a licence or consent."""
    return [w for d in learned_from(run_id) if (w := d.warning) is not None]


def model_card(name: str, version: int | str) -> ModelCard:
    """The card of version ``version`` (a number, or an alias) of model ``name``."""
    from canvascraft.gallery.detail import get_run, run_detail
    from canvascraft.training.trainers import objective_of

    info = resolve(_version_ref(name, version))
    client = tracking_client()
    description = client.get_model_version(info.name, str(info.version)).description or ""
    detail: RunDetail | None = None
    run: Run | None = None
    if info.run_id:
        try:
            detail, run = run_detail(info.run_id), get_run(info.run_id)
        except GalleryError:
            detail = run = None
    params = detail.params if detail else {}
    tags = detail.tags if detail else {}
    objective = objective_of(params.get("trainer"))
    dataset, dataset_version = params.get("dataset"), params.get("dataset_version")
    counts, data_note, health = _data(dataset, dataset_version, params)
    figures, per_class, quality, quality_note = _performance(detail, objective)
    baseline = detail.card.baseline if detail else None
    return ModelCard(
        name=info.name,
        version=info.version,
        aliases=info.aliases,
        created=info.created,
        run_id=info.run_id,
        run_name=detail.card.name if detail else None,
        description=description,
        task=objective.task,
        modality=tags.get("canvascraft.modality"),
        dataset=dataset,
        dataset_version=dataset_version,
        items_per_label=counts,
        data_note=data_note,
        health_warnings=health,
        recipe=params.get("recipe"),
        recipe_version=params.get("recipe_version"),
        recipe_steps=_recipe_steps(run, params),
        trainer=params.get("trainer"),
        trainer_settings={k.removeprefix("hyper."): v for k, v in params.items() if k.startswith("hyper.")},
        training=_training_facts(detail, params, tags),
        figures=figures,
        baseline_model=baseline.model if baseline else None,
        behind_baseline=detail.card.behind_baseline if detail else None,
        per_class=per_class,
        quality=quality,
        quality_note=quality_note,
        learned_from=learned_from(info.run_id),
        watched=_watched(info.name),
        drift=_drift(info.name, info.version, info.run_id),
        lineage=_lineage(info.name, info.version, detail),
    )


def _data(
    dataset: str | None, version: str | None, params: dict[str, str]
) -> tuple[dict[str, int], str | None, list[str]]:
    if not dataset:
        return {}, "the run does not say which dataset it trained on", []
    try:
        with open_session() as session:
            view = version_view(session, dataset, int(version) if version and version.isdigit() else None)
    except CanvasCraftError:
        return {}, f"dataset {dataset} v{_number(version)} is no longer in the workspace", []
    health = assess(view)
    note = None
    if params.get("max_items") not in (None, "", "None"):
        note = f"training read at most {params['max_items']} items of it (max_items)"
    return dict(health.class_counts), note, list(health.warnings)


def _recipe_steps(run: Run | None, params: dict[str, str]) -> list[str]:
    """The recipe the run logged beside its model (``recipe.yaml``), one line per step."""
    from canvascraft.gallery.detail import artifact_file
    from canvascraft.recipe.io import from_yaml

    if run is None:
        return []
    path = artifact_file(run, "recipe.yaml")
    if path is None:
        return []
    try:
        recipe = from_yaml(path.read_text(encoding="utf-8"))
    except (CanvasCraftError, OSError, ValueError):
        return [f"the run's recipe.yaml ({params.get('recipe')}) cannot be read"]
    steps = []
    for step in recipe.brushes:
        settings = ", ".join(f"{key}={value}" for key, value in step.params.items())
        off = " (off)" if not step.enabled else ""
        steps.append(f"{step.brush}{off}" + (f": {settings}" if settings else ""))
    return steps or ["no steps: items are used as they are"]


def _training_facts(detail: RunDetail | None, params: dict[str, str], tags: dict[str, str]) -> dict[str, str]:
    if detail is None:
        return {}
    names = {
        "planned_epochs": "planned epochs",
        "batch_size_used": "batch size",
        "steps_per_epoch": "steps per epoch",
        "val_fraction": "validation share",
        "split_seed": "split seed",
        "input_shape": "input shape",
    }
    facts = {label: params[key] for key, label in names.items() if params.get(key) not in (None, "", "None")}
    best = detail.card.metrics.get("best_epoch")
    if best is not None:
        facts["best epoch"] = str(int(best))
    if tags.get("canvascraft.stop_reason"):
        facts["stopped"] = tags["canvascraft.stop_reason"]
    return facts


def _performance(
    detail: RunDetail | None, objective: Any
) -> tuple[list[Figure], list[ClassMetrics], list[str], str | None]:
    from canvascraft.training.quality import NOTE, quality_figures

    if detail is None:
        return [], [], [], "the run's figures cannot be read"
    card = detail.card
    if objective.task == "generate":
        found = quality_figures(card.metrics)
        lines = [
            f"{f.label} {f.shown()}"
            + (f" (floor {f.shown(f.floor)})" if f.floor is not None else "")
            + f": {f.meaning}; {f.better} is better"
            for f in found
        ]
        note = NOTE if found else "the run measured no quality figures (too few epochs, or none finished)"
        return [], [], lines, note
    figures = []
    for metric in objective.scores:
        key = metric.key("val")
        mine, theirs = card.model_value(key), card.baseline_value(key)
        figures.append(
            Figure(
                metric.label,
                None if mine is None else metric.shown(mine),
                None if theirs is None else metric.shown(theirs),
            )
        )
    return figures, list(detail.per_class), [], None


def _watched(name: str) -> str | None:
    with open_session() as session:
        monitor = session.scalars(select(DriftMonitor).where(DriftMonitor.model_name == name)).one_or_none()
        if monitor is None:
            return None
        source = {"folder": "its watched folder", "sent": "the files sent to Try"}.get(
            monitor.source_kind, f"dataset {monitor.source}"
        )
        paused = " (paused)" if monitor.paused else ""
        return f"{name}@{monitor.alias} is watched on {source}{paused}"


def _drift(name: str, version: int, run_id: str | None) -> list[DriftEntry]:
    with open_session() as session:
        checks = session.scalars(
            select(DriftCheck)
            .where(DriftCheck.model_name == name, DriftCheck.state == "done")
            .where((DriftCheck.model_version == version) | (DriftCheck.run_id == run_id))
            .order_by(DriftCheck.created_at.desc(), DriftCheck.id.desc())
            .limit(DRIFT_ROWS)
        ).all()
        return [
            DriftEntry(
                check.finished_at or check.created_at,
                check.drifted,
                check.current,
                (check.sentences or [""])[0],
            )
            for check in checks
        ]


def _lineage(name: str, version: int, detail: RunDetail | None) -> list[str]:
    lines = []
    if detail is not None:
        lineage, card = detail.lineage, detail.card
        if card.job_id is not None:
            lines.append(f"trained by job {card.job_id} (run {card.run_id})")
        if lineage.study:
            trial = f"trial {lineage.trial} of " if lineage.trial is not None else "a trial of "
            lines.append(f"{trial}study {md(lineage.study)}")
        if lineage.forked_from_run or lineage.forked_from_job:
            what = f"job {lineage.forked_from_job}'s" if lineage.forked_from_job else "another run's"
            checkpoint = lineage.forked_from_checkpoint or "a"
            epoch = f" (epoch {lineage.forked_from_epoch})" if lineage.forked_from_epoch else ""
            run = f", run {lineage.forked_from_run}" if lineage.forked_from_run else ""
            lines.append(f"forked from {what} {checkpoint} checkpoint{epoch}{run}")
    with open_session() as session:
        retrains = session.scalars(
            select(Retrain)
            .where(Retrain.model_name == name)
            .where((Retrain.candidate_version == version) | (Retrain.base_version == version))
            .order_by(Retrain.id)
        ).all()
        for retrain in retrains:
            state = retrain.state.replace("_", " ")
            if retrain.candidate_version == version:
                why = f": {md(retrain.reason)}" if retrain.reason else ""
                lines.append(f"a retrain of version {retrain.base_version} ({retrain.trigger}{why}); {state}")
            elif retrain.candidate_version is not None:
                lines.append(f"retrained as version {retrain.candidate_version}; {state}")
    return lines


def _percent(value: float) -> str:
    return f"{value:.0%}"


def render_markdown(card: ModelCard, *, top_level: int = 1) -> str:
    """The card as one Markdown document (what ``card.md`` holds); ``top_level`` is its title's heading
    level, so a page that shows the card under a heading of its own can nest it (sections one below)."""
    aliases = f" ({', '.join('@' + md(a) for a in card.aliases)})" if card.aliases else ""
    out = [f"# Model card: {md(card.name)} version {card.version}{aliases}", ""]
    if card.task == "generate":
        kind = "generates pictures"
    else:
        kind = "classifies " + {"table": "table rows", None: "items"}.get(
            card.modality, f"{card.modality} items"
        )
    trainer = card.trainer or "unknown"
    out.append(
        f"{'An' if trainer[0] in 'aeiou' else 'A'} {trainer} model that {kind}"
        + (f", registered {card.created:%Y-%m-%d %H:%M} UTC" if card.created else "")
        + (f" from run {card.run_id}." if card.run_id else ".")
    )
    out += [
        "",
        "## What it is for",
        "",
        md(card.description, line_start=True) if card.description else f"_{DESCRIPTION_MISSING}_",
    ]

    out += ["", "## Licence and consent of its data", ""]
    if card.data_warnings:
        out.append("**Warning: this model learned from data without a licence or without consent.**")
        out += [f"- {md(w)}" for w in card.data_warnings]
        out.append("")
    if card.learned_from:
        out += ["| dataset | how | licence | source or attribution | consent |", "|---|---|---|---|---|"]
        for d in card.learned_from:
            version = f" v{md(d.version)}" if d.version else ""
            terms = d.terms
            out.append(
                f"| {md(d.dataset)}{version} | {d.how} | {md(terms.licence_shown) if terms else 'unknown'} | "
                f"{md(terms.source) if terms and terms.source else 'not given'} | "
                f"{terms.consent if terms else 'unknown'} |"
            )
    else:
        out.append("The run does not say which data it learned from.")

    out += ["", "## Data", ""]
    if card.dataset:
        out.append(f"Dataset {md(card.dataset)} version {md(_number(card.dataset_version))}.")
    if card.data_note:
        out.append(f"Note: {md(card.data_note)}.")
    if card.items_per_label:
        noun = "rows" if card.modality == "table" else "items"
        out += ["", f"| label | {noun} |", "|---|---|"]
        out += [f"| {md(label)} | {count} |" for label, count in card.items_per_label.items()]
    if card.health_warnings:
        out += ["", "Health warnings:"]
        out += [f"- {md(w)}" for w in card.health_warnings]

    out += ["", "## Recipe", ""]
    if card.recipe:
        out.append(f"{md(card.recipe)} version {md(_number(card.recipe_version))}:")
    out += [f"{i}. {md(step)}" for i, step in enumerate(card.recipe_steps, start=1)] or [
        "No recipe recorded."
    ]

    out += ["", "## Trainer", ""]
    out.append(f"{md(card.trainer or 'unknown')}")
    if card.trainer_settings:
        out += [""] + [f"- {md(k)}: {md(v)}" for k, v in card.trainer_settings.items()]
    if card.training:
        out += ["", "Training:"] + [f"- {k}: {md(v)}" for k, v in card.training.items()]

    out += ["", "## Validation", ""]
    if card.task == "generate":
        out.append("A generator has no per-class figures. Quality of its pictures:")
        out += [f"- {md(line)}" for line in card.quality]
        if card.quality_note:
            out.append(f"\n_{md(card.quality_note)}_")
    else:
        if card.figures:
            baseline = f"baseline ({md(card.baseline_model)})" if card.baseline_model else "baseline"
            out += [f"| figure | this model | {baseline} |", "|---|---|---|"]
            out += [f"| {f.label} | {f.model or '—'} | {f.baseline or 'none fitted'} |" for f in card.figures]
        if card.behind_baseline:
            out += ["", f"**{md(card.behind_baseline)}**"]
        if card.per_class:
            out += ["", "Per class on the validation items:", ""]
            out += ["| class | precision | recall | F1 | items |", "|---|---|---|---|---|"]
            out += [
                f"| {md(c.label)} | {_percent(c.precision)} | {_percent(c.recall)} | {_percent(c.f1)} "
                f"| {c.support} |"
                for c in card.per_class
            ]
        elif card.quality_note:
            out.append(md(card.quality_note))

    out += ["", "## Drift", ""]
    if card.watched:
        out.append(f"{md(card.watched)}.")
    else:
        out.append("Not watched for drift.")
    if card.drift:
        out += ["", "| checked (UTC) | drifted | data | finding |", "|---|---|---|---|"]
        for entry in card.drift:
            verdict = {True: "yes", False: "no", None: "—"}[entry.drifted]
            out.append(
                f"| {entry.when:%Y-%m-%d %H:%M} | {verdict} | {md(entry.current)} | {md(entry.sentence)} |"
            )
    elif card.watched:
        out.append("No finished check of this version yet.")

    out += ["", "## Lineage", ""]
    out += [f"- {line}" for line in card.lineage] or ["No lineage recorded."]
    deeper = "#" * (top_level - 1)
    return "\n".join(deeper + line if line.startswith("#") else line for line in out) + "\n"


CARD_FILE = "MODEL_CARD.md"
"""The card's name inside every download and export of a version, beside the model."""


def card_markdown(name: str, version: int | str) -> str:
    """The Markdown card of version ``version`` (a number or an alias) of model ``name``."""
    return render_markdown(model_card(name, version))
