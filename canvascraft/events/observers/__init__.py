"""The studio's observers and alert channels, one module each: ``alert_log`` (every event into the
database, deliveries into the outbox) and ``retrain`` (auto-retrain after drift, when installed) are
bus observers; ``webhook`` and ``email`` are the alert channels the outbox sends through (registered in
``canvascraft.events.channels``). The default bus wires the observers
(``canvascraft.events.bus.default_bus``); nothing here is imported until an event is published.
"""
