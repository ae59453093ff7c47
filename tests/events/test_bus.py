"""The event bus: typed immutable events, isolation of failing subscribers, filtering, default wiring."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import threading
import types
from datetime import UTC, datetime

import pytest

from canvascraft.events import (
    EVENT_TYPES,
    CheckCompleted,
    DriftDetected,
    Event,
    EventBus,
    RetrainRequested,
    TrainingCompleted,
    TrainingFailed,
    default_bus,
    event_from_dict,
    register_observer,
)
from canvascraft.events.bus import RETRAIN_MODULE


def drift(**changes: object) -> DriftDetected:
    values: dict[str, object] = {
        "model_name": "paints",
        "model_ref": "paints@champion",
        "model_version": 3,
        "check_id": 12,
        "drifted_features": ("hue", "size"),
        "sentences": ("hue moved up by 0.4 standard deviations",),
        "link": "http://localhost:8501/drift?model=paints&check=12",
    }
    return DriftDetected(**{**values, **changes})  # type: ignore[arg-type]


def failed() -> TrainingFailed:
    return TrainingFailed(job_id=4, reason="exit code 3", dataset="shapes", trainer="image-cnn")


def test_a_raising_subscriber_is_logged_and_the_others_still_get_the_event(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    seen: list[tuple[str, Event]] = []

    def broken(event: Event) -> None:
        raise RuntimeError("observer bug")

    bus.subscribe(lambda e: seen.append(("first", e)), name="first")
    bus.subscribe(broken, name="broken")
    bus.subscribe(lambda e: seen.append(("last", e)), name="last")
    event = drift()

    with caplog.at_level(logging.ERROR, logger="canvascraft.events.bus"):
        failures = bus.publish(event)

    assert seen == [("first", event), ("last", event)]
    assert [(name, str(error)) for name, error in failures] == [("broken", "observer bug")]
    (record,) = caplog.records
    assert "broken" in record.getMessage() and event.correlation_id in record.getMessage()
    assert record.exc_info is not None, "the traceback is logged"
    assert bus.publish(failed()) != [], "it stays subscribed: one bad event does not remove it"


def test_subscribers_get_only_the_types_they_asked_for_and_subclasses() -> None:
    bus = EventBus()
    drifts: list[Event] = []
    training: list[Event] = []
    everything: list[Event] = []
    bus.subscribe(drifts.append, DriftDetected)
    bus.subscribe(training.append, [TrainingCompleted, TrainingFailed])
    bus.subscribe(everything.append, Event)
    events = [
        drift(),
        failed(),
        CheckCompleted(model_name="m", model_ref="m/1", model_version=1, check_id=1, drifted=False, link=""),
        RetrainRequested(model_name="m", model_ref="m/1", reason="drift"),
    ]

    for event in events:
        assert bus.publish(event) == []

    assert drifts == [events[0]]
    assert training == [events[1]]
    assert everything == events
    with pytest.raises(TypeError, match="Event subclasses"):
        bus.subscribe(print, [str])  # type: ignore[list-item]


def test_unsubscribe_stops_delivery_and_is_idempotent() -> None:
    bus = EventBus()
    seen: list[Event] = []
    unsubscribe = bus.subscribe(seen.append, DriftDetected)
    bus.publish(drift())
    unsubscribe()
    unsubscribe()
    bus.publish(drift())
    assert len(seen) == 1
    assert bus.subscribers == []


def test_events_are_immutable_with_their_own_correlation_id_and_utc_time() -> None:
    first, second = drift(), drift()
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.check_id = 13  # type: ignore[misc]
    assert first.correlation_id != second.correlation_id and len(first.correlation_id) == 32
    assert first.at.tzinfo is UTC and abs((datetime.now(UTC) - first.at).total_seconds()) < 5
    assert drift(correlation_id="abc").correlation_id == "abc", "a producer may carry an id along"
    with pytest.raises(TypeError):
        DriftDetected("paints")  # type: ignore[misc]  # keyword-only, so fields are never swapped


def test_every_event_says_what_happened_and_round_trips_through_json() -> None:
    events: list[Event] = [
        drift(),
        CheckCompleted(model_name="m", model_ref="m/2", model_version=2, check_id=5, drifted=True, link="L"),
        TrainingCompleted(
            job_id=7, run_id="r1", dataset="shapes", trainer="image-cnn", metrics=(("val_accuracy", 0.91),)
        ),
        failed(),
        RetrainRequested(model_name="m", model_ref="m@champion", reason="drift in hue", check_id=12),
    ]
    assert {type(e) for e in events} == set(EVENT_TYPES.values())

    for event in events:
        assert event.title() and "\n" not in event.title()
        data = json.loads(json.dumps(event.to_dict()))
        assert data["event"] == event.name
        assert event_from_dict(data) == event

    assert events[0].title() == "Drift detected on paints@champion: 2 features moved (check 12)"
    assert "hue moved up" in events[0].body()
    assert "val_accuracy: 0.91" in events[2].body()
    assert events[3].body().endswith("failed: exit code 3")
    assert events[2].to_dict()["metrics"] == {"val_accuracy": 0.91}


def test_publishing_from_threads_while_others_subscribe_loses_nothing() -> None:
    bus = EventBus()
    counts = [0]
    lock = threading.Lock()

    def count(event: Event) -> None:
        with lock:
            counts[0] += 1

    bus.subscribe(count)
    late: list[Event] = []

    def publisher() -> None:
        for _ in range(2000):
            bus.publish(failed())

    threads = [threading.Thread(target=publisher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(50):
        bus.subscribe(late.append, DriftDetected)()
    for thread in threads:
        thread.join()
    assert counts[0] == 8000


def test_the_default_bus_wires_the_alert_log_the_retrain_hook_and_registered_observers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    retrained: list[Event] = []
    fake = types.ModuleType(RETRAIN_MODULE)
    fake.on_event = retrained.append  # type: ignore[attr-defined]
    fake.EVENT_TYPES = (DriftDetected,)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, RETRAIN_MODULE, fake)
    extra: list[Event] = []
    remove = register_observer(extra.append, TrainingFailed, name="extra")
    try:
        bus = default_bus()
        assert bus is default_bus()
        assert bus.subscribers == ["alert-log", "retrain", "extra"]
        later: list[Event] = []
        remove_later = register_observer(later.append, name="later")
        assert bus.subscribers[-1] == "later", "registering after the bus is built subscribes at once"
        remove_later()
        assert "later" not in bus.subscribers
    finally:
        remove()
    assert "extra" not in default_bus().subscribers
