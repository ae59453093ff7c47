"""``ObserverContract``: what the bus and the producers rely on from every observer.

An observer is what the bus subscribes: a ``Subscription`` (callback, the event types it wants, its
name). An observer's test subclasses the contract and provides the ``observer`` fixture, the observer
ready to work (its database migrated, its settings in place). It may override ``events`` (what is
published at it; default: one event of each type in ``EVENT_TYPES``), ``assert_handled`` (the
observer's own effect of an event it wanted, checked where it left it: a row, a file) and the
``broken`` fixture (the observer in surroundings where it fails; default: the studio database is one
without tables, which fails every observer that reads or writes it).

Each check runs the real observer on a real ``EventBus``; the only stand-ins are plain recording
subscribers beside it, which say what reached whom.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from canvascraft.config import get_settings
from canvascraft.events import (
    EVENT_TYPES,
    CheckCompleted,
    DriftDetected,
    Event,
    EventBus,
    RetrainRequested,
    Subscription,
    TrainingCompleted,
    TrainingFailed,
    default_bus,
    register_observer,
)

MODEL = "contract"


def sample_events(model_name: str = MODEL) -> list[Event]:
    """One event of every published type, about ``model_name`` (a model with no alert settings, so
    nothing is sent anywhere)."""
    ref = f"{model_name}@champion"
    check: dict[str, Any] = {
        "model_name": model_name,
        "model_ref": ref,
        "model_version": 1,
        "check_id": 1,
        "link": "",
    }
    job: dict[str, Any] = {"dataset": "d", "trainer": "t", "model_name": model_name}
    events: list[Event] = [
        DriftDetected(drifted_features=("hue",), sentences=("hue moved up",), **check),
        CheckCompleted(drifted=False, **check),
        TrainingCompleted(job_id=1, run_id=None, metrics=(("val_loss", 0.5),), **job),
        TrainingFailed(job_id=2, reason="exit code 1", **job),
        RetrainRequested(model_name=model_name, model_ref=ref, reason="contract"),
    ]
    missing = set(EVENT_TYPES.values()) - {type(event) for event in events}
    assert not missing, f"add a sample of {', '.join(sorted(t.__name__ for t in missing))} here"
    return events


def recorder(seen: list[Event], observer: Subscription) -> Callable[[Event], None]:
    """The observer's callback, noting each event it is given before handing it on unchanged."""

    def record(event: Event) -> None:
        seen.append(event)
        observer.callback(event)

    return record


class ObserverContract:
    def events(self) -> list[Event]:
        return sample_events()

    def assert_handled(self, event: Event) -> None:
        """Check the observer's effect of ``event`` (one it wanted); by default there is none to see."""

    @pytest.fixture
    def broken(self, observer: Subscription, tmp_path: Path) -> Iterator[Subscription]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("CANVASCRAFT_DATABASE_URL", f"sqlite:///{tmp_path / 'no-tables.db'}")
            get_settings.cache_clear()
            yield observer
        get_settings.cache_clear()

    def wanted(self, observer: Subscription, events: list[Event] | None = None) -> list[Event]:
        """The events of ``events`` (default: ``self.events()``) the observer asked for, in order."""
        return [event for event in events or self.events() if observer.wants(type(event))]

    def test_declares_a_name_and_the_events_it_wants(self, observer: Subscription) -> None:
        assert isinstance(observer.name, str) and observer.name.strip()
        assert callable(observer.callback)
        if observer.event_types is not None:
            assert observer.event_types, "None means every event; an empty tuple would mean none"
            assert all(isinstance(t, type) and issubclass(t, Event) for t in observer.event_types)
        assert self.wanted(observer), "events() should include events the observer wants"

    def test_its_name_shows_in_subscribers(self, observer: Subscription) -> None:
        bus = EventBus()
        bus.subscribe(observer.callback, observer.event_types, name=observer.name)
        assert bus.subscribers == [observer.name]
        before = default_bus().subscribers.count(observer.name)
        remove = register_observer(observer.callback, observer.event_types, name=observer.name)
        try:
            assert default_bus().subscribers.count(observer.name) == before + 1
        finally:
            remove()
        assert default_bus().subscribers.count(observer.name) == before

    def test_gets_the_events_it_asked_for_and_no_others(self, observer: Subscription) -> None:
        bus = EventBus()
        seen: list[Event] = []
        bus.subscribe(recorder(seen, observer), observer.event_types, name=observer.name)
        events = self.events()
        for event in events:
            assert bus.publish(event) == [], f"{observer.name} failed on {event.name}"
        assert seen == self.wanted(observer, events)
        for event in seen:
            self.assert_handled(event)

    def test_a_raising_observer_stops_neither_the_others_nor_the_publisher(
        self, broken: Subscription
    ) -> None:
        bus = EventBus()
        before: list[Event] = []
        after: list[Event] = []
        bus.subscribe(before.append, name="before")
        bus.subscribe(broken.callback, broken.event_types, name=broken.name)
        bus.subscribe(after.append, name="after")
        wanted = self.wanted(broken)
        failures = [failure for event in wanted for failure in bus.publish(event)]
        assert failures, f"{broken.name} did not fail where it was meant to (see the broken fixture)"
        assert all(name == broken.name for name, _ in failures), "failures name the observer"
        assert all(isinstance(error, Exception) for _, error in failures)
        assert before == wanted and after == wanted, "the other subscribers got every event"
