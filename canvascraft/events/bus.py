"""The in-process event bus (Observer) and the studio's default wiring.

A subscriber that raises is logged and skipped; the others still get the event, and ``publish``
returns the failures so a producer that cares can say so. Subscribing copies the subscriber list
(copy on write) and clears the per-type dispatch cache, so ``publish`` takes no lock: events can be
published from any thread while others subscribe.

The default bus (``default_bus()``, ``publish()``) is built on first use with the studio's standard
observers (``standard_observers()``): the alert log (which writes every event into the database and
fans out to the deliveries of the model's alert settings, one per channel target), the retrain observer
when it is installed (``canvascraft.events.observers.retrain``: its ``on_event``, for its
``EVENT_TYPES`` or every event), and whatever ``register_observer`` added.

An observer is a callable taking the event, the event types it wants (None: every event) and a name
(shown in ``EventBus.subscribers`` and in the log when it fails): a ``Subscription``. It must raise
only ``Exception``s; the bus logs them and returns them from ``publish``, the others still run.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from canvascraft.errors import CanvasCraftError
from canvascraft.events.types import Event
from canvascraft.observability.logs import correlation

log = logging.getLogger(__name__)

Callback = Callable[[Event], object]
Failure = tuple[str, Exception]
RETRAIN_MODULE = "canvascraft.events.observers.retrain"


@dataclass(frozen=True, slots=True)
class Subscription:
    """One subscriber: its callback, the event types it wants (None: every event) and its name in logs."""

    callback: Callback
    event_types: tuple[type[Event], ...] | None
    name: str

    def wants(self, event_type: type[Event]) -> bool:
        return self.event_types is None or issubclass(event_type, self.event_types)


def _name_of(callback: Callback) -> str:
    name = getattr(callback, "name", None)
    if isinstance(name, str):
        return name
    module = getattr(callback, "__module__", "") or ""
    qualname = getattr(callback, "__qualname__", None) or type(callback).__qualname__
    return f"{module}.{qualname}" if module else qualname


class EventBus:
    """Synchronous publish/subscribe by event type; subscribers run in the order they subscribed."""

    def __init__(self) -> None:
        self._subscriptions: tuple[Subscription, ...] = ()
        self._by_type: dict[type[Event], tuple[Subscription, ...]] = {}
        self._lock = threading.Lock()

    def subscribe(
        self,
        callback: Callback,
        event_types: type[Event] | Iterable[type[Event]] | None = None,
        *,
        name: str | None = None,
    ) -> Callable[[], None]:
        """Call ``callback(event)`` for every published event of ``event_types`` (subclasses included;
        None: all). Returns the handle that unsubscribes it (calling it twice is harmless)."""
        if isinstance(event_types, type):
            event_types = (event_types,)
        types = tuple(event_types) if event_types is not None else None
        for kind in types or ():
            if not (isinstance(kind, type) and issubclass(kind, Event)):
                raise TypeError(f"event_types must be Event subclasses, got {kind!r}")
        subscription = Subscription(callback, types, name or _name_of(callback))
        with self._lock:
            self._subscriptions = (*self._subscriptions, subscription)
            self._by_type = {}

        def unsubscribe() -> None:
            with self._lock:
                self._subscriptions = tuple(s for s in self._subscriptions if s is not subscription)
                self._by_type = {}

        return unsubscribe

    @property
    def subscribers(self) -> list[str]:
        return [s.name for s in self._subscriptions]

    def _targets(self, event_type: type[Event]) -> tuple[Subscription, ...]:
        cache = self._by_type  # read once: a subscribe meanwhile swaps in a new, empty dict
        targets = cache.get(event_type)
        if targets is None:
            targets = tuple(s for s in self._subscriptions if s.wants(event_type))
            cache[event_type] = targets
        return targets

    def publish(self, event: Event) -> list[Failure]:
        """Give ``event`` to every subscriber that wants it; returns (subscriber name, exception) for each
        that raised. A failing subscriber is logged with its traceback and never stops the others."""
        failures: list[Failure] = []
        for subscription in self._targets(type(event)):
            try:
                # Inside the event's chain: what the observer logs, publishes or queues carries its id.
                with correlation(event.correlation_id, step=f"{subscription.name} on {event.name}"):
                    subscription.callback(event)
            except CanvasCraftError as error:  # a refusal in plain words (a locked database): no traceback
                log.error(
                    "event subscriber %s could not handle %s (correlation id %s): %s; the other subscribers "
                    "still ran",
                    subscription.name,
                    event.name,
                    event.correlation_id,
                    error,
                )
                failures.append((subscription.name, error))
            except Exception as error:
                log.exception(
                    "event subscriber %s failed on %s (correlation id %s); the other subscribers still ran",
                    subscription.name,
                    event.name,
                    event.correlation_id,
                )
                failures.append((subscription.name, error))
        return failures


# --- The process-wide default bus ----------------------------------------------------------------------

_default: EventBus | None = None
_default_lock = threading.RLock()  # re-entrant: an observer module may register while being wired


@dataclass(eq=False)
class _Registration:
    """An observer added with ``register_observer``, and its handle on the current default bus."""

    callback: Callback
    event_types: tuple[type[Event], ...] | None
    name: str | None
    handle: Callable[[], None] | None = None

    def attach(self, bus: EventBus) -> None:
        self.handle = bus.subscribe(self.callback, self.event_types, name=self.name)


_registered: list[_Registration] = []


def register_observer(
    callback: Callback,
    event_types: type[Event] | Iterable[type[Event]] | None = None,
    *,
    name: str | None = None,
) -> Callable[[], None]:
    """Add an observer to the default wiring: subscribed to the default bus now if it is built, and to
    every default bus built later (``reset_default_bus`` rebuilds it). Returns the handle that removes it."""
    if isinstance(event_types, type):
        event_types = (event_types,)
    entry = _Registration(callback, tuple(event_types) if event_types is not None else None, name)
    with _default_lock:
        _registered.append(entry)
        if _default is not None:
            entry.attach(_default)

    def unregister() -> None:
        with _default_lock:
            if entry in _registered:
                _registered.remove(entry)
            if entry.handle is not None:
                entry.handle()
                entry.handle = None

    return unregister


def standard_observers() -> list[Subscription]:
    """The studio's own observers as the default bus subscribes them, in order: the alert log first (so
    an alert exists before anything reacts to it), then the retrain observer when installed. Their
    tests run ``canvascraft.testing.observers.ObserverContract`` over this list."""
    from canvascraft.events.observers.alert_log import AlertLog

    observers = [Subscription(AlertLog(), None, AlertLog.name)]
    try:
        retrain = importlib.import_module(RETRAIN_MODULE)
    except ImportError as error:
        if error.name != RETRAIN_MODULE:  # the module exists but something it imports is missing
            log.exception("the retrain observer could not be loaded; auto-retrain is off")
    else:
        types = getattr(retrain, "EVENT_TYPES", None)
        if isinstance(types, type):
            types = (types,)
        observers.append(Subscription(retrain.on_event, None if types is None else tuple(types), "retrain"))
    return observers


def _wire(bus: EventBus) -> None:
    """The standard observers, then the registered ones (in the order they were registered)."""
    for observer in standard_observers():
        bus.subscribe(observer.callback, observer.event_types, name=observer.name)
    for entry in _registered:
        entry.attach(bus)


def default_bus() -> EventBus:
    """This process's bus with the standard observers, built on first use."""
    global _default
    bus = _default
    if bus is not None:
        return bus
    with _default_lock:
        if _default is None:
            bus = EventBus()
            _wire(bus)
            _default = bus
        return _default


def reset_default_bus() -> None:
    """Forget the default bus (tests; a settings change): the next use builds and wires a new one."""
    global _default
    with _default_lock:
        _default = None


def publish(event: Event) -> list[Failure]:
    """Publish on the default bus; what producers call. Never raises for a subscriber's error."""
    return default_bus().publish(event)
