"""The studio's observers, one module each: ``alert_log`` (every event into the database, deliveries
into the outbox), ``webhook`` and ``email`` (the delivery channels the outbox sends through) and
``retrain`` (auto-retrain after drift, when installed). The default bus wires them
(``canvascraft.events.bus.default_bus``); nothing here is imported until an event is published.
"""
