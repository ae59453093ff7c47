"""How a job's process looks from outside: whether it still runs, and how it ended.

Only a process's parent can read its exit status, so whoever can (the job itself, its supervisor)
writes it down as an exit record; any pool reads the record later. Standard library only: the warm
server and every executor use it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ExitInfo:
    """How a job's process ended: an exit code, or the signal that killed it, or ``lost`` when the
    process is gone and nobody can tell how it ended (its parent pool died before reaping it)."""

    exit_code: int | None = None
    signal: int | None = None
    lost: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.signal is None and not self.lost


def process_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) of ``pid``, or ``None`` if it is gone.

    The start time tells a live process from a later one that reused its pid; without /proc (macOS)
    only existence can be checked, and start time 0 matches any."""
    if not Path("/proc/self/stat").exists():
        return _existence(pid)
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return _existence(pid)
    fields = raw[raw.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
    return fields[0], int(fields[19])


def _existence(pid: int) -> tuple[str, int] | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return "R", 0


def write_exit_record(path: Path, info: ExitInfo) -> None:
    """Write ``exit N`` or ``signal N`` to ``path`` atomically (a reader never sees half a record)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"signal {info.signal}" if info.signal is not None else f"exit {info.exit_code}"
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)


def read_exit_record(path: Path) -> ExitInfo | None:
    """The record at ``path``; ``None`` when there is none or it cannot be read. A bare number is an
    exit code (the form job processes wrote before signals were recorded)."""
    try:
        words = path.read_text().split()
        if len(words) == 1:
            return ExitInfo(exit_code=int(words[0]))
        kind, number = words
        if kind == "signal":
            return ExitInfo(signal=int(number))
        return ExitInfo(exit_code=int(number)) if kind == "exit" else None
    except (OSError, ValueError):
        return None
