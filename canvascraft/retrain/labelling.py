"""Label a drift check's new files and add them to the model's training data, so a retrain learns them.

Retraining on the dataset version the model already learned teaches it nothing new: the drifted photos
must be labelled and added first. :func:`check_items` lists the files a check read, most drifted first
(``canvascraft.drift.items``), each with the checked model's guess and confidence as the default label.
:func:`apply_labels` takes the labels someone accepted or corrected (skipped files are left out) and
imports the files as a new version of the model's training dataset with the data package's own importer:
stored under their content hash, a file that cannot be read skipped and listed, the old items kept.

A share of the new items is *held back* (:data:`HOLD_BACK`, at least one per label with two or more
items, drawn by ``stratified_split`` with a seed, so the same labels hold back the same items): they are
marked in the new version (``Item.held_back``), never trained on and always validated, so the retrain
compares both versions on new items neither learned as well as on the old validation items.

:func:`retrain_advice` tells a Retrain now button whether retraining would only repeat the training
data, and which check's new files were never labelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from canvascraft.drift.items import RankedFiles, RankedItem
from canvascraft.errors import NothingImportedError, RetrainError
from canvascraft.store.models import DriftCheck, DriftMonitor, DriftSeenFile
from canvascraft.store.session import open_session

HOLD_BACK = 0.25
"""Share of the newly labelled items kept out of training to measure both versions on."""
SEED = 0
MAX_LABEL = 200
"""Labels are stored in a 200-character column."""


@dataclass(frozen=True)
class CheckItems:
    """What the label-and-add view shows for one check."""

    check_id: int
    model_name: str
    model_ref: str
    """``NAME/VERSION``: the version the check ran (its guesses are the defaults)."""
    dataset: str
    """The model's training dataset, which the labelled items join."""
    trained_version: int | None
    latest_version: int
    ranked: RankedFiles
    missing: list[str] = field(default_factory=list)
    """Files the check read that are gone from (or changed in) its folder since."""
    labelled: dict[str, Any] | None = None
    """How the items were labelled already (``{"dataset", "version", "added", "held_back", "skipped"}``)."""

    @property
    def items(self) -> list[RankedItem]:
        return self.ranked.items


@dataclass(frozen=True)
class LabelReport:
    """What applying labels did: the new version, what joined it, what was held back or skipped."""

    check_id: int
    dataset: str
    version: int
    added: list[str]
    """Names of the labelled files that joined the version (as the check's folder named them)."""
    held_back: list[str]
    skipped: list[tuple[str, str]]
    """(file, why) for every file that could not be added."""
    unchanged: bool = False

    @property
    def summary(self) -> str:
        if self.unchanged:
            return f"every labelled file is already in {self.dataset} v{self.version}; no version was made"
        count = len(self.added)
        text = (
            f"{count} labelled file{'s' if count != 1 else ''} added to {self.dataset} as version "
            f"{self.version}; {len(self.held_back)} held back to compare the retrained model on"
        )
        if self.skipped:
            text += f"; {len(self.skipped)} could not be added (listed)"
        return text


@dataclass(frozen=True)
class RetrainAdvice:
    """Whether a retrain of a model would learn anything: which data it would train on, and the newest
    check whose new files were never labelled."""

    dataset: str
    trained_version: int | None
    latest_version: int
    unlabelled_check: int | None
    unlabelled_items: int

    @property
    def same_data(self) -> bool:
        """The latest version is the one the model trained on: a retrain would relearn the same items."""
        return self.trained_version is not None and self.latest_version <= self.trained_version


def _check_files(check_id: int) -> tuple[DriftCheck, list[tuple[str, bytes]], list[str]]:
    """The check's row, the files it read that are still as it read them, and the names of the rest."""
    from canvascraft.drift.views import monitor_folder

    with open_session() as session:
        check = session.get(DriftCheck, check_id)
        if check is None:
            raise RetrainError(f"there is no drift check {check_id}; it may have been removed")
        if check.state != "done":
            raise RetrainError(
                f"drift check {check_id} is {check.state}; only a finished check's items are labelled"
            )
        monitor = session.get(DriftMonitor, check.monitor_id) if check.monitor_id is not None else None
        seen = session.execute(
            select(DriftSeenFile.name, DriftSeenFile.size, DriftSeenFile.mtime_ns)
            .where(DriftSeenFile.check_id == check_id)
            .order_by(DriftSeenFile.mtime_ns, DriftSeenFile.name)
        ).all()
        if monitor is None or monitor.source_kind == "dataset" or not seen:
            source = "a dataset" if monitor is not None and monitor.source_kind == "dataset" else "no files"
            raise RetrainError(
                f"drift check {check_id} read {source}, not new files of a watched folder; its items are "
                "already in a dataset, so there is nothing new to label here"
            )
        folder = monitor_folder(monitor.source_kind, monitor.folder)
        session.expunge(check)
    files: list[tuple[str, bytes]] = []
    missing: list[str] = []
    for name, size, mtime_ns in seen:
        path = Path(folder) / name
        try:
            stat = path.stat()
        except OSError:
            missing.append(name)
            continue
        if path.is_symlink() or stat.st_size != size or stat.st_mtime_ns != mtime_ns:
            missing.append(name)
            continue
        files.append((name, path.read_bytes()))
    return check, files, missing


def _model_dataset(model_ref: str) -> tuple[str, int | None, int]:
    """The training dataset of ``model_ref``, the version it trained on, and that dataset's latest."""
    from canvascraft.data.reads import open_version
    from canvascraft.gallery.registry import resolve
    from canvascraft.retrain.flow import training_settings

    info = resolve(model_ref)
    dataset = training_settings(info)["dataset"]
    trained = info.lineage.dataset_version if info.lineage else None
    latest = open_version(dataset).version.number
    return dataset, int(trained) if trained and str(trained).isdigit() else None, latest


def check_items(check_id: int) -> CheckItems:
    """A finished check's files, most drifted first, each with the model's guess as the default label."""
    from canvascraft.drift.items import rank_files

    check, files, missing = _check_files(check_id)
    model_ref = f"{check.model_name}/{check.model_version}" if check.model_version else check.model_ref
    dataset, trained, latest = _model_dataset(model_ref)
    ranked = rank_files(model_ref, files) if files else RankedFiles([], [], "", "signals")
    return CheckItems(
        check_id=check_id,
        model_name=check.model_name,
        model_ref=model_ref,
        dataset=dataset,
        trained_version=trained,
        latest_version=latest,
        ranked=ranked,
        missing=missing,
        labelled=dict(check.labelled) if check.labelled else None,
    )


def clean_label(label: str) -> str:
    """A label as stored: trimmed, one line, no slash (item names put the label first, as a folder)."""
    text = " ".join(str(label).split())
    if not text:
        raise RetrainError(
            "a label cannot be empty; type one, pick one of the model's labels, or skip the item"
        )
    if "/" in text or "\\" in text:
        raise RetrainError(f"label {text!r} has a slash; labels name folders, so use another character")
    if len(text) > MAX_LABEL:
        raise RetrainError(f"label {text[:40]!r}… is over {MAX_LABEL} characters; shorten it")
    return text


def guesses_above(items: list[RankedItem], confidence: float) -> dict[str, str]:
    """Bulk accept: the model's guess for every item it is at least ``confidence`` sure of."""
    return {item.name: item.guess for item in items if item.confidence >= confidence}


def choose_held_back(labels: Mapping[str, str], share: float = HOLD_BACK, seed: int = SEED) -> list[str]:
    """Names of the labelled items kept for validation: ``share`` of each label, at least one of every
    label with two or more items (a single item trains, where it can at least be learned). The draw is
    training's own stratified split over the names in sorted order, so it depends only on the labels
    and the seed."""
    from canvascraft.training.split import stratified_split

    names = sorted(labels)
    if not names:
        return []
    _, held = stratified_split([labels[name] for name in names], share, seed)
    return [names[position] for position in held]


def apply_labels(
    check_id: int,
    labels: Mapping[str, str | None],
    *,
    share: float = HOLD_BACK,
    seed: int = SEED,
) -> LabelReport:
    """Add the check's files with these labels (file name → label; None or absent: skipped) to the model's
    training dataset as a new version, holding back ``share`` of them; recorded on the check."""
    from canvascraft.config import get_settings
    from canvascraft.data.importer import import_entries
    from canvascraft.data.sources import Candidate
    from canvascraft.errors import Skipped

    check, files, missing = _check_files(check_id)
    by_name = dict(files)
    unknown = sorted(set(labels) - set(by_name) - set(missing))
    if unknown:
        raise RetrainError(f"drift check {check_id} did not read {', '.join(unknown[:3])}; reload the view")
    chosen = {
        name: clean_label(label) for name, label in labels.items() if label is not None and name in by_name
    }
    skipped = [(name, "gone from the watched folder, or changed since the check read it") for name in missing
               if labels.get(name) is not None]  # fmt: skip
    if not chosen:
        raise RetrainError(
            "no item has a label: accept the model's guesses or label some items, then add them"
        )
    model_ref = f"{check.model_name}/{check.model_version}" if check.model_version else check.model_ref
    dataset, _, _ = _model_dataset(model_ref)
    names = _item_names(dataset, chosen, by_name)
    held = set(choose_held_back(chosen, share, seed))
    candidates = [
        Candidate(names[name], label, len(by_name[name]), read=lambda data=by_name[name]: data)
        for name, label in sorted(chosen.items())
    ]
    entries: list[Candidate | Skipped] = list(candidates)
    try:
        with open_session() as session:
            report = import_entries(
                session,
                get_settings(),
                name=dataset,
                entries=entries,
                source=f"labelled from drift check #{check_id}",
                held_back={names[name] for name in held},
            )
    except NothingImportedError as error:
        listed = "; ".join(f"{s.name}: {s.reason}" for s in error.skipped[:3])
        raise RetrainError(f"none of the labelled files could be added ({listed})") from None
    back = {item: name for name, item in names.items()}
    refused = [(back.get(s.name, s.name), s.reason) for s in report.skipped]
    refused_names = {name for name, _ in refused}
    added = [name for name in sorted(chosen) if name not in refused_names]
    held_names = [] if report.unchanged else [name for name in sorted(held) if name not in refused_names]
    outcome = LabelReport(
        check_id=check_id,
        dataset=dataset,
        version=report.version,
        added=[] if report.unchanged else added,
        held_back=held_names,
        skipped=skipped + refused,
        unchanged=report.unchanged,
    )
    with open_session() as session:
        row = session.get(DriftCheck, check_id)
        if row is not None:
            row.labelled = {
                "dataset": dataset,
                "version": outcome.version,
                "added": len(outcome.added),
                "held_back": len(outcome.held_back),
                "skipped": len(outcome.skipped),
            }
    return outcome


def _item_names(dataset: str, chosen: Mapping[str, str], data: Mapping[str, bytes]) -> dict[str, str]:
    """Each file's name in the dataset: ``LABEL/FILE``, or ``LABEL/HASH-FILE`` when the latest version
    already holds another file under that name (an import replaces a same-named item; nothing may be
    lost)."""
    import hashlib

    from canvascraft.data.reads import open_version

    existing = {item.name: item.sha256 for item in open_version(dataset).items}
    names: dict[str, str] = {}
    for name, label in chosen.items():
        sha256 = hashlib.sha256(data[name]).hexdigest()
        plain = f"{label}/{name}"
        names[name] = plain if existing.get(plain, sha256) == sha256 else f"{label}/{sha256[:12]}-{name}"
    return names


def retrain_advice(model_ref: str) -> RetrainAdvice:
    """Would retraining ``model_ref`` learn anything new, and which check's files wait to be labelled?"""
    from canvascraft.gallery.registry import parse_ref

    dataset, trained, latest = _model_dataset(model_ref)
    name = parse_ref(model_ref)[0]
    with open_session() as session:
        newest = session.scalars(
            select(DriftCheck)
            .where(DriftCheck.model_name == name, DriftCheck.state == "done")
            .where(DriftCheck.id.in_(select(DriftSeenFile.check_id)))
            .order_by(DriftCheck.id.desc())
            .limit(1)
        ).first()
        waiting = newest is not None and not newest.labelled
        return RetrainAdvice(
            dataset=dataset,
            trained_version=trained,
            latest_version=latest,
            unlabelled_check=newest.id if waiting and newest is not None else None,
            unlabelled_items=int(newest.n_current or 0) if waiting and newest is not None else 0,
        )
