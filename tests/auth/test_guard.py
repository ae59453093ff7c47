"""The one guard on every action: a role too low is refused before anything happens, with the role it
needs named, and every action that went through leaves an audit record with who and when."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from canvascraft.cli import app as cli
from canvascraft.errors import AuditError, RoleTooLow, UnknownTokenError
from canvascraft.services import alerts, datasets, drift, gallery, jobs, recipes, retrain, tokens, tuning
from canvascraft.services.audit import list_audit
from canvascraft.services.guard import GUARDS
from canvascraft.services.people import ROLES, Person, acting_as
from canvascraft.store.models import utcnow

VIEWER = Person("viewer-1", "Vic Viewer", "viewer")
ARTIST = Person("artist-1", "Ada Artist", "artist")
ADMIN = Person("admin-1", "Ana Admin", "admin")
SERVICES = (alerts, datasets, drift, gallery, jobs, recipes, retrain, tokens, tuning)
"""Importing them fills ``GUARDS``."""

ROLE_OF = {
    "datasets.import_uploads": "artist",
    "datasets.import_path": "artist",
    "datasets.set_dataset_licence": "artist",
    "datasets.export_dataset": "artist",
    "datasets.add_generated": "artist",
    "recipes.save_recipe": "artist",
    "recipes.import_recipe_text": "artist",
    "jobs.launch_training": "artist",
    "jobs.cancel_job": "artist",
    "jobs.resume_job": "artist",
    "tuning.start_study": "artist",
    "gallery.register": "artist",
    "gallery.predict_files": "artist",
    "gallery.set_alias": "admin",
    "retrain.request_retrain": "artist",
    "retrain.apply_labels": "artist",
    "retrain.approve": "admin",
    "retrain.reject": "admin",
    "alerts.save_alert_settings": "admin",
    "drift.save_monitor": "admin",
    "drift.remove_monitor": "admin",
    "tokens.create_token": "viewer",
    "tokens.revoke_token": "viewer",
}
"""The issue's roles, action by action (artist: import, brushes, train, tune, try, register a
candidate; admin: aliases, retrain decisions, alert settings, watches; tokens: anyone, for themselves)."""


def service(name: str) -> Callable[..., Any]:
    module, function = name.split(".")
    return getattr(next(m for m in SERVICES if m.__name__.endswith(f".{module}")), function)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("name", sorted(ROLE_OF))
def test_each_action_needs_the_role_the_issue_gives_it(name: str) -> None:
    assert service(name).guard.role == ROLE_OF[name]


@pytest.mark.parametrize("name", sorted(n for n, f in GUARDS.items() if f.guard.role != "viewer"))
def test_every_guarded_action_refuses_the_role_below_before_it_runs(name: str) -> None:
    guarded = GUARDS[name]
    below = ROLES[ROLES.index(guarded.guard.role) - 1]
    with acting_as(Person("someone", "Sam", below)), pytest.raises(RoleTooLow) as refused:
        guarded()  # no arguments at all: the guard refuses before the function would look at them
    assert f"Sam is a {below} and cannot {guarded.guard.does}" in str(refused.value)
    assert f"that needs the {guarded.guard.role} role" in str(refused.value)


def test_a_viewer_cannot_import_and_nothing_is_imported_or_recorded(sample_workspace: Path) -> None:
    before = [d.name for d in datasets.list_datasets()]
    with acting_as(VIEWER), pytest.raises(RoleTooLow, match="needs the artist role"):
        datasets.import_uploads([("red.png", png())], "stolen", label="red")
    assert [d.name for d in datasets.list_datasets()] == before
    assert list_audit(action="dataset.import") == []


def _launch() -> int:
    return jobs.launch_training("sample-table", "table-starter", "table-mlp", epochs=1)


CHANGES: list[tuple[str, Callable[[], Any], str, str]] = [
    ("import", lambda: datasets.import_uploads([("red.png", png())], "reds", label="red"), "dataset.import",
     "reds"),
    ("licence", lambda: datasets.set_dataset_licence("sample-table", licence=datasets.OWN_WORK),
     "dataset.licence", "sample-table"),
    ("export", lambda: datasets.export_dataset("sample-table", 1), "dataset.export", "sample-table v1"),
    ("save recipe", lambda: recipes.save_recipe(recipes.load_recipe("table-starter")), "recipe.save",
     "table-starter"),
    ("duplicate recipe", lambda: recipes.duplicate_recipe("table-starter", "my-table"), "recipe.duplicate",
     "table-starter → my-table"),
    ("launch", _launch, "job.launch", "sample-table"),
    ("cancel", lambda: jobs.cancel_job(_launch()), "job.cancel", "job "),
    ("alert settings", lambda: alerts.save_alert_settings("sample-table", webhook_url="http://127.0.0.1:9/x"),
     "alerts.settings", "sample-table"),
    ("token", lambda: tokens.create_token("read", name="ci"), "token.create", "(read)"),
    ("revoke", lambda: tokens.revoke_token(tokens.create_token("read").info.id), "token.revoke", "token "),
]  # fmt: skip


@pytest.mark.parametrize(("what", "change", "action", "target"), CHANGES, ids=[c[0] for c in CHANGES])
def test_every_guarded_change_is_in_the_audit_log_with_who_and_when(
    sample_workspace: Path, what: str, change: Callable[[], Any], action: str, target: str
) -> None:
    started = utcnow()
    with acting_as(ADMIN):
        change()
        entry = list_audit(action=action)[0]
    assert (entry.subject, entry.name, entry.role) == ("admin-1", "Ana Admin", "admin")
    assert started - timedelta(seconds=1) <= entry.at <= utcnow()
    assert target in entry.target
    assert "http://127.0.0.1:9/x" not in str(entry.detail)  # a webhook address is a secret


def test_the_audit_log_is_for_admins(sample_workspace: Path) -> None:
    with acting_as(ARTIST), pytest.raises(RoleTooLow, match="cannot read the audit log"):
        list_audit()
    with acting_as(ADMIN), pytest.raises(AuditError, match="limit: give a number from 1"):
        list_audit(limit=0)


def test_a_persons_older_changes_are_found_past_newer_ones_of_others(sample_workspace: Path) -> None:
    with acting_as(ARTIST):
        recipes.duplicate_recipe("table-starter", "ada-table")
    for name in ("admin-1", "admin-2"):
        with acting_as(ADMIN):
            recipes.duplicate_recipe("table-starter", name)
    by_name = list_audit(who="ada", limit=1)  # a part of the name, any case: filtered before the limit
    assert [(e.name, e.target) for e in by_name] == [("Ada Artist", "table-starter → ada-table")]
    assert [e.subject for e in list_audit(who="admin-1", limit=5)] == ["admin-1", "admin-1"]


def test_an_artist_cancels_their_own_job_but_not_someone_elses(sample_workspace: Path) -> None:
    with acting_as(ARTIST):
        own = _launch()
    theirs = _launch()  # the local admin's
    with acting_as(ARTIST):
        jobs.cancel_job(own)
        with pytest.raises(RoleTooLow, match="cannot cancel someone else's job: that needs the admin role"):
            jobs.cancel_job(theirs)
    assert jobs.get_job(own).state == "cancelled" and jobs.get_job(theirs).state == "queued"
    with acting_as(ADMIN):
        jobs.cancel_job(theirs)
    assert jobs.get_job(theirs).state == "cancelled"


def test_tokens_are_their_makers(sample_workspace: Path) -> None:
    with acting_as(ARTIST):
        mine = tokens.create_token("train").info
        with pytest.raises(RoleTooLow, match="their tokens can have scope train at most, not admin"):
            tokens.create_token("admin")
    with acting_as(VIEWER):
        theirs = tokens.create_token("read").info
        assert [t.id for t in tokens.list_tokens()] == [theirs.id]
        with pytest.raises(UnknownTokenError):
            tokens.revoke_token(mine.id)
    assert mine.person == ARTIST
    with acting_as(ADMIN):
        assert {t.id for t in tokens.list_tokens()} == {mine.id, theirs.id}


def test_who_moved_champion(trained_runs_workspace: Any) -> None:
    run_id = trained_runs_workspace.run_ids["table"]
    with acting_as(ARTIST):
        with pytest.raises(RoleTooLow, match="register a model as 'champion'"):
            gallery.register(run_id, "paints", "champion")
        version = gallery.register(run_id, "paints").version  # a candidate, no alias
        with pytest.raises(RoleTooLow, match="cannot move a model's alias"):
            gallery.set_alias("paints", "champion", version)
    with acting_as(ADMIN):
        gallery.set_alias("paints", "champion", version)
    shown = CliRunner().invoke(cli, ["audit", "list", "--action", "model."])
    assert shown.exit_code == 0, shown.output
    moved, registered = shown.stdout.splitlines()[1:3]
    assert "Ana Admin" in moved and "model.alias" in moved and f"paints@champion → v{version}" in moved
    assert "Ada Artist" in registered and "model.register" in registered
    assert f"paints from run {run_id}" in registered
