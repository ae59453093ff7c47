"""The one guard on every action that changes something: the role it needs, checked before the
service runs, and an audit record once it has run.

``@action(role="admin", does="move a model's alias", audit="model.alias", target="{name}@{alias}")``
on a service function makes a page, the CLI and the API refuse the same way (``RoleTooLow``, naming the
role needed; HTTP 403) and leave the same record (``canvascraft.auth.audit``). Reads need no guard: a
viewer may browse everything. A guarded action that calls another one is one action: the inner call is
neither checked again nor recorded twice. :func:`as_the_studio` runs the studio's own work (preparing
a new workspace) the same way, as nobody's action.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from canvascraft.auth.audit import record
from canvascraft.auth.identity import ROLES, require_role

P = ParamSpec("P")
R = TypeVar("R")

MAX_TEXT = 200
"""Longer text arguments (a recipe's YAML) are cut to this many characters in an audit record."""


@dataclass(frozen=True)
class Guard:
    """What a guarded action needs and what it records: ``audit`` is None for actions that change
    nothing stored (trying a model)."""

    name: str
    role: str
    does: str
    audit: str | None


GUARDS: dict[str, Callable[..., Any]] = {}
"""Every guarded service function by ``module.name`` (its ``guard`` attribute says what it needs): the
roles table the README shows, and what the tests walk through."""

_inside: ContextVar[bool] = ContextVar("canvascraft_inside_action", default=False)


@contextmanager
def as_the_studio() -> Iterator[None]:
    """Run the studio's own work (migrations and samples on a new workspace): no person asked for it,
    so nothing inside is checked or recorded."""
    token = _inside.set(True)
    try:
        yield
    finally:
        _inside.reset(token)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, bytes | bytearray):
        return f"{len(value)} bytes"
    if isinstance(value, Path | datetime):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        if items and all(isinstance(i, tuple) and len(i) == 2 and isinstance(i[1], bytes) for i in items):
            return [str(name) for name, _ in items]  # uploads: (name, bytes) pairs, kept as names
        return [_jsonable(v) for v in items]
    named = getattr(value, "name", None)  # a recipe, a summary: what it is called
    return named if isinstance(named, str) else type(value).__name__


def _detail(arguments: dict[str, Any], result: Any, hide: tuple[str, ...]) -> dict[str, Any]:
    detail = {
        k: ("(given, not recorded)" if v else v) if k in hide else _jsonable(v)
        for k, v in arguments.items()
        if not callable(v)
    }
    if isinstance(result, int | str) and not isinstance(result, bool):
        detail["result"] = result
    return detail


def _target(target: str | Callable[[dict[str, Any]], str] | None, values: dict[str, Any]) -> str:
    if target is None:
        return ""
    if callable(target):
        return str(target(values))
    return target.format_map(values)


def action(
    *,
    role: str,
    does: str,
    audit: str | None = None,
    target: str | Callable[[dict[str, Any]], str] | None = None,
    hide: tuple[str, ...] = (),
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Guard a service function: the acting person needs ``role`` to ``does`` (a phrase: "move a
    model's alias"); once it returns, ``audit`` (``model.alias``) is recorded with ``target`` (a
    ``str.format`` over the call's arguments and ``result``, or a function of them) and the arguments as
    the record's detail, less the ones named in ``hide`` (a webhook URL is a secret)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(fn)
        name = f"{fn.__module__}.{fn.__name__}"

        @functools.wraps(fn)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            if _inside.get():
                return fn(*args, **kwargs)
            person = require_role(role, does)
            token = _inside.set(True)
            try:
                result = fn(*args, **kwargs)
            finally:
                _inside.reset(token)
            if audit is not None:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                values = {**bound.arguments, "result": result}
                record(person, audit, _target(target, values), _detail(dict(bound.arguments), result, hide))
            return result

        guarded.guard = Guard(name, role, does, audit)  # type: ignore[attr-defined]
        GUARDS[name] = guarded
        return guarded

    return wrap
