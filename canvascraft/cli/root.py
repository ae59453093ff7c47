"""The root ``canvascraft`` Typer app and its command groups, declared in one place so ``--help``
lists them in a stable order; each group's commands live in their own module of this package."""

import typer

app = typer.Typer(help="CanvasCraft ML Studio: train your own models on your own art, sound and tables.",
                  no_args_is_help=True, pretty_exceptions_enable=False)  # fmt: skip
datasets_app = typer.Typer(help="Import and list datasets.", no_args_is_help=True)
db_app = typer.Typer(help="The studio database.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")
app.add_typer(db_app, name="db")
recipe_app = typer.Typer(help="Check, list, import and export preprocessing recipes.", no_args_is_help=True)
app.add_typer(recipe_app, name="recipe")
brushes_app = typer.Typer(help="The registered preprocessing brushes.", no_args_is_help=True)
app.add_typer(brushes_app, name="brushes")
trainers_app = typer.Typer(help="The model trainers.", no_args_is_help=True)
app.add_typer(trainers_app, name="trainers")
jobs_app = typer.Typer(help="Background jobs: list, follow, cancel and resume.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
runs_app = typer.Typer(help="Training runs tracked in MLflow.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
studies_app = typer.Typer(
    help="Tuning studies (Optuna): list, show, stop, train the best.", no_args_is_help=True
)
app.add_typer(studies_app, name="studies")

link_app = typer.Typer(
    help="Signed share links to one view (run, comparison, model, Try, drift check): make, list, revoke.",
    no_args_is_help=True,
)
app.add_typer(link_app, name="link")
models_app = typer.Typer(
    help="Registered models: register runs, list versions, move aliases.", no_args_is_help=True
)
app.add_typer(models_app, name="models")
drift_app = typer.Typer(help="Check a model's current data against its training data.", no_args_is_help=True)
app.add_typer(drift_app, name="drift")
alerts_app = typer.Typer(help="Alerts: settings per model, the alert log, deliveries.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")
tokens_app = typer.Typer(help="Bearer tokens for the studio's HTTP API (/api/v1).", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")
encryption_app = typer.Typer(
    help="Encryption at rest of stored files and checkpoints: make a key, seal what is stored.",
    no_args_is_help=True,
)
app.add_typer(encryption_app, name="encryption")
people_app = typer.Typer(
    help="People who signed in to the studio and their roles (viewer, artist, admin).", no_args_is_help=True
)
app.add_typer(people_app, name="people")
audit_app = typer.Typer(help="The audit log: who changed what and when (admins).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
