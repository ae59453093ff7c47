"""The studio's own observers (``standard_observers()``: the alert log and the retrain observer) pass
the shipped ``ObserverContract`` on a real, migrated database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from canvascraft.events import Event, RetrainRequested, Subscription, standard_observers
from canvascraft.store.models import Alert, Retrain
from canvascraft.store.session import open_session
from canvascraft.testing.observers import MODEL, ObserverContract

COVERED = {"alert-log", "retrain"}


def standard(name: str) -> Subscription:
    (observer,) = [o for o in standard_observers() if o.name == name]
    return observer


def test_every_standard_observer_is_covered_here() -> None:
    assert {o.name for o in standard_observers()} == COVERED, "add a contract class for the new one"


class TestAlertLog(ObserverContract):
    @pytest.fixture
    def observer(self, db: str) -> Subscription:
        return standard("alert-log")

    def assert_handled(self, event: Event) -> None:
        """Every event is logged as an alert under its correlation id; nobody asked to hear, so it has
        no deliveries."""
        with open_session() as session:
            (alert,) = session.scalars(select(Alert).where(Alert.correlation_id == event.correlation_id))
            assert (alert.event, alert.model_name, alert.deliveries) == (event.name, MODEL, [])


class TestRetrainObserver(ObserverContract):
    @pytest.fixture
    def observer(self, db: str) -> Subscription:
        return standard("retrain")

    def assert_handled(self, event: Event) -> None:
        """Drift on a model whose settings leave auto-retrain off starts no retrain, and a retrain request
        (announced by the retrain itself) never starts a second one."""
        assert isinstance(event, RetrainRequested) or event.name == "drift_detected"
        with open_session() as session:
            assert session.scalar(select(func.count()).select_from(Retrain)) == 0
