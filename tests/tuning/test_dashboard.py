"""``canvascraft studies dashboard``: optuna-dashboard on the workspace's storage shows the studio's studies.

A study is written the way the studio writes one (``studies.create`` with its user attributes, then
ask-and-tell with intermediate values, a pruned and a failed trial), the server is started from
``dashboard_command`` (exactly what the CLI runs) on a free loopback port, and read through the JSON API
the dashboard's own pages call. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from canvascraft.config import get_settings
from canvascraft.tuning import studies
from canvascraft.tuning.dashboard import dashboard_command, dashboard_url
from tests.local_servers import HOST, free_port, get_json, started, stop, wait_answering

START_S = 60.0
"""The dashboard imports Optuna and starts gunicorn; bounded, but generous on a busy machine."""
VALUES = (0.61, 0.74, 0.68)


@pytest.fixture
def study(workspace: Path) -> str:
    """A finished three-trial study plus a pruned and a failed trial, as the driver records them."""
    workspace.mkdir(parents=True)  # SQLite does not create the folder of its file
    name = "table-starter-table-mlp-1"
    space = {"hyper.learning_rate": FloatDistribution(1e-4, 1e-2, log=True)}
    made = studies.create(name, "val_accuracy", "tpe", {"trials": 5, "parallel": 2, "epochs": 2})
    for number, value in enumerate(VALUES):
        trial = made.ask(space)
        trial.set_user_attr("job_id", 10 + number)
        trial.report(value - 0.1, 1)
        trial.report(value, 2)
        made.tell(trial, value)
    pruned = made.ask(space)
    pruned.report(0.2, 1)
    made.tell(pruned, state=TrialState.PRUNED)
    made.tell(made.ask(space), state=TrialState.FAIL)
    return name


def test_the_dashboard_serves_the_study_its_trials_and_values(study: str, cwd: Path, tmp_path: Path) -> None:
    port = free_port()
    url = dashboard_url(HOST, port)
    assert url == f"http://127.0.0.1:{port}"
    command = dashboard_command(HOST, port)
    assert get_settings().optuna_url in command and command[-4:] == ["--host", HOST, "--port", str(port)]
    log = tmp_path / "dashboard.log"
    with started(command, cwd, log) as server:
        wait_answering(url, server, log, path="/api/meta", timeout=START_S)
        listed = get_json(url, "/api/studies")["study_summaries"]
        (summary,) = listed
        detail = get_json(url, f"/api/studies/{summary['study_id']}")

    assert summary["study_name"] == study and summary["directions"] == ["maximize"]
    attrs = {a["key"]: a["value"] for a in summary["user_attrs"]}
    assert (attrs["metric"], attrs["sampler"], attrs["trials"]) == ("val_accuracy", "tpe", "5")
    trials = detail["trials"]
    assert [t["state"] for t in trials] == ["Complete", "Complete", "Complete", "Pruned", "Fail"]
    assert [t["values"] for t in trials[:3]] == [[v] for v in VALUES]
    assert [t["intermediate_values"] for t in trials[:3]] == [
        [{"step": 1, "value": v - 0.1}, {"step": 2, "value": v}] for v in VALUES
    ]
    assert {p["name"] for t in trials for p in t["params"]} == {"hyper.learning_rate"}
    assert {a["key"]: a["value"] for a in trials[0]["user_attrs"]} == {"job_id": "10"}
    (best,) = detail["best_trials"]
    assert (best["number"], best["values"]) == (1, [max(VALUES)])
    assert list(cwd.iterdir()) == []  # nothing written where the server was started


def test_serve_dashboard_prints_the_url_first_serves_a_fresh_workspace_and_stops_on_ctrl_c(
    workspace: Path, cwd: Path, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    code = (
        "import sys; from canvascraft.tuning.dashboard import serve_dashboard; "
        f"sys.exit(serve_dashboard({HOST!r}, {port}))"
    )
    with started([sys.executable, "-c", code], cwd, log) as server:
        url = f"http://127.0.0.1:{port}"
        wait_answering(url, server, log, path="/api/meta", timeout=START_S)
        listed = get_json(url, "/api/studies")["study_summaries"]
        stop(server, signal.SIGINT)  # what Ctrl+C in a terminal sends to the whole group
        assert server.returncode == 0, log.read_text()[-3000:]

    first_line = log.read_text().splitlines()[0]
    assert first_line.startswith("Optuna dashboard for") and url in first_line
    assert str(workspace) in first_line
    assert listed == []
    assert (workspace / "optuna.db").is_file()
    assert list(cwd.iterdir()) == []
