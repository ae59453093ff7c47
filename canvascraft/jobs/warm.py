"""Warm job processes: a fork server that has already imported torch, MLflow and the studio.

A fresh interpreter spends seconds importing torch, torchvision and MLflow before a job does any work,
and every trial of a study and every drift check paid it again. The warm server imports them once and
forks for each job, so a job starts at once and is still its own OS process: its own pid and session
(signals reach it and its workers as before), its own log, its own exit code.

Each job gets a small supervisor of its own, forked from the server. It is the job's parent: it waits
on the job and records how it ended (exit code or signal), so whichever pool polls later learns the
outcome even after the launcher and the server are gone. ``lost`` is left for a job whose supervisor
went too (the machine restarted).

There is one server per interpreter, code version and import-time environment (the key in its socket's
name): a server of older code is never asked again and exits when idle. It never initialises CUDA, so
a job's ``CUDA_VISIBLE_DEVICES`` takes effect when the job first touches a GPU. When anything on this
path fails the executor starts a fresh interpreter instead, so warm starts only ever save time.

Protocol: one JSON line per connection, ``{"argv", "env", "cwd", "log"}``; the answer is one JSON line,
``{"pid", "ticks", "supervisor", "supervisor_ticks"}`` or ``{"error"}``.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import hashlib
import importlib
import io
import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from canvascraft.jobs.processes import ExitInfo, process_stat, read_exit_record, write_exit_record

IDLE_S = 900.0
"""A server nobody asked for this long exits (a new one starts on the next job)."""
START_TIMEOUT_S = 120.0
"""Longest a launcher waits for a new server to import everything (a loaded machine is slow)."""
ANSWER_TIMEOUT_S = 30.0
RECORD_DAYS = 30
IMPORT_TIME_ENV = ("PYTHONPATH", "PYTHONHASHSEED", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""Variables read when torch and the interpreter start, so a server only serves launches that agree."""
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
CODE_FOLDERS = ("canvascraft", "jobs")
SERVER_MAIN = "from canvascraft.jobs.warm import main; main()"
"""Not ``-m``: the package imports this module first, and running it again as ``__main__`` would
make two copies of it."""


class WarmStartError(RuntimeError):
    """The warm path could not start this job; the executor starts a fresh interpreter instead."""


def runtime_dir() -> Path:
    """A folder only this user can enter: whoever can reach a server's socket can run code as us."""
    folder = Path(tempfile.gettempdir()) / f"canvascraft-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise WarmStartError(f"{folder} is not private to this user; remove it to allow warm starts")
    return folder


def exit_record(pid: int, ticks: int) -> Path:
    """Where the supervisor of job process ``pid`` (started at ``ticks``) records how it ended."""
    return runtime_dir() / "exits" / f"{pid}-{ticks}.exit"


def can_start(command: Sequence[str]) -> bool:
    """Only ``python -m MODULE …`` and ``python -c CODE …`` of this interpreter run warm."""
    return len(command) >= 3 and command[0] == sys.executable and command[1] in ("-m", "-c")


def server_key(env: Mapping[str, str]) -> str:
    """Names the server that may run a launch with ``env``: same interpreter, installed packages,
    studio code and import-time variables."""
    parts = [sys.executable, str(PACKAGE_ROOT), *(f"{name}={env.get(name, '')}" for name in IMPORT_TIME_ENV)]
    for folder in sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}):
        with contextlib.suppress(OSError):
            parts.append(f"{folder}@{os.stat(folder).st_mtime_ns}")  # changes when packages do
    parts.append(str(_code_stamp()))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]


def _code_stamp() -> int:
    newest = 0
    for folder in CODE_FOLDERS:
        for root, _dirs, files in os.walk(PACKAGE_ROOT / folder):
            for name in files:
                if name.endswith(".py"):
                    with contextlib.suppress(OSError):
                        newest = max(newest, os.stat(os.path.join(root, name)).st_mtime_ns)
    return newest


# --- the launcher's side -----------------------------------------------------------------------------


def prepare(env: Mapping[str, str]) -> None:
    """Make sure the server for launches with ``env`` runs (started here if not), so the next job
    starts warm; raises ``WarmStartError``."""
    _start_server(_socket_for(env), env)


def _socket_for(env: Mapping[str, str]) -> Path:
    try:
        socket_path = runtime_dir() / f"{server_key(env)}.sock"
    except OSError as error:
        raise WarmStartError(f"no private folder for warm starts: {error}") from error
    if len(str(socket_path)) > 100:
        raise WarmStartError(f"the socket path {socket_path} is too long for this system")
    return socket_path


def start(
    command: Sequence[str], env: Mapping[str, str], cwd: Path, log_path: Path
) -> tuple[int, int, int, int]:
    """Run ``command`` as a job forked from the warm server for ``env`` (started here if none runs).

    Returns (job pid, its start ticks, supervisor pid, its start ticks); raises ``WarmStartError``."""
    if not can_start(command):
        raise WarmStartError(f"{command[:2]} is not a Python module or code launch")
    socket_path = _socket_for(env)
    request = {"argv": list(command), "env": dict(env), "cwd": str(cwd), "log": str(log_path)}
    try:
        return _ask(socket_path, request)
    except (FileNotFoundError, ConnectionRefusedError):
        _start_server(socket_path, env)
        try:
            return _ask(socket_path, request)
        except OSError as error:
            raise WarmStartError(f"the warm server did not answer: {error}") from error
    except OSError as error:
        raise WarmStartError(f"the warm server did not answer: {error}") from error


def _ask(socket_path: Path, request: dict[str, Any]) -> tuple[int, int, int, int]:
    answer = _request(socket_path, request)
    if "pid" not in answer:
        raise WarmStartError(answer.get("error") or "the warm server closed the connection")
    return (
        int(answer["pid"]),
        int(answer["ticks"]),
        int(answer["supervisor"]),
        int(answer["supervisor_ticks"]),
    )


def _read_line(connection: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _start_server(socket_path: Path, env: Mapping[str, str]) -> None:
    """Start the server for ``socket_path`` unless another launcher just did; returns once it serves."""
    with open(socket_path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.connect(str(socket_path))
            return  # someone else started it while we waited for the lock
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()  # left by a server that was killed
        log = socket_path.with_suffix(".log")
        with open(log, "ab") as output:
            # The server forks once it is ready and this first process exits: its exit is the signal,
            # and the server itself is nobody's child here, so it leaves no zombie when it idles out.
            process = subprocess.Popen(
                [sys.executable, "-c", SERVER_MAIN, str(socket_path)],
                cwd=PACKAGE_ROOT,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            code = process.wait(timeout=START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise WarmStartError(
                f"the warm server took over {START_TIMEOUT_S:g} s to start; see {log}"
            ) from None
        if code != 0:
            raise WarmStartError(f"the warm server could not start (exit code {code}); see {log}")


def stop(env: Mapping[str, str]) -> bool:
    """Stop the server for launches with ``env`` if one runs (its jobs go on); ``True`` if it did."""
    try:
        return bool(_request(_socket_for(env), {"stop": True}).get("stopping"))
    except (OSError, ValueError, WarmStartError):
        return False


def _request(socket_path: Path, request: dict[str, Any]) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(ANSWER_TIMEOUT_S)
        connection.connect(str(socket_path))
        connection.sendall(json.dumps(request).encode() + b"\n")
        return dict(json.loads(_read_line(connection) or b"{}"))


def poll(pid: int, ticks: int, supervisor: int, supervisor_ticks: int) -> ExitInfo | None:
    """``None`` while the job's supervisor lives; then what it recorded, or ``lost`` without a record."""
    stat = process_stat(supervisor)
    if stat is not None and stat[0] != "Z" and (not supervisor_ticks or stat[1] == supervisor_ticks):
        return None
    return read_exit_record(exit_record(pid, ticks)) or ExitInfo(lost=True)


# --- the server's side -------------------------------------------------------------------------------


def serve(socket_path: Path, idle_s: float = IDLE_S) -> None:
    """Import what jobs need, then fork a supervised job for each request until idle for ``idle_s``."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path))
    os.chmod(socket_path, 0o600)
    listener.listen(64)
    identity = os.stat(socket_path).st_ino
    _forget_old_records()
    _preload()
    sys.stdout.flush()
    if os.fork() > 0:
        os._exit(0)  # tells the launcher that started us that we are ready
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    listener.settimeout(idle_s)
    print(f"warm server {os.getpid()} serving {socket_path}", flush=True)
    try:
        while True:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                break
            with connection:
                if not _serve_one(connection, listener):
                    break
    finally:
        with contextlib.suppress(OSError):
            if os.stat(socket_path).st_ino == identity:
                socket_path.unlink()  # a newer server may have taken the name; leave its socket alone
        print(f"warm server {os.getpid()} stopped", flush=True)


def _forget_old_records() -> None:
    """Exit records older than ``RECORD_DAYS``: every pool has long since read them."""
    cutoff = time.time() - RECORD_DAYS * 86400
    for record in (runtime_dir() / "exits").glob("*.exit"):
        with contextlib.suppress(OSError):
            if record.stat().st_mtime < cutoff:
                record.unlink()


def _preload() -> None:
    """Import every job kind's entry module and what it declares it will need."""
    from canvascraft.jobs.kinds import KINDS

    for kind in KINDS.all():
        for name in (kind.entry, *kind.preload):
            try:
                importlib.import_module(name)
            except Exception as error:  # the job itself will meet and report the same error
                print(f"warm server: could not import {name}: {error}", flush=True)


def _serve_one(connection: socket.socket, listener: socket.socket) -> bool:
    """Start the requested job; ``False`` when asked to stop."""
    connection.settimeout(ANSWER_TIMEOUT_S)
    try:
        request = json.loads(_read_line(connection))
    except (OSError, ValueError) as error:
        print(f"warm server: unreadable request: {error}", flush=True)
        return True
    if request.get("stop"):
        connection.sendall(b'{"stopping": true}\n')
        return False
    if _cuda_initialised():
        connection.sendall(json.dumps({"error": "the warm server holds a CUDA context"}).encode() + b"\n")
        return True
    if os.fork() == 0:
        _supervise(connection, listener, request)
    return True


def _cuda_initialised() -> bool:
    torch = sys.modules.get("torch")
    return bool(torch is not None and torch.cuda.is_initialized())


def _supervise(connection: socket.socket, listener: socket.socket, request: dict[str, Any]) -> NoReturn:
    """The job's parent for its whole life: fork it, hand its pid back, wait, record how it ended."""
    try:
        listener.close()
        os.setsid()  # out of the server's session: stopping the server leaves the supervisor be
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        log_fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        job = os.fork()
        if job == 0:
            _become_job(request, log_fd, connection)
        os.close(log_fd)
        job_stat, own_stat = process_stat(job), process_stat(os.getpid())
        ticks = job_stat[1] if job_stat else 0
        answer = {"pid": job, "ticks": ticks, "supervisor": os.getpid(),
                  "supervisor_ticks": own_stat[1] if own_stat else 0}  # fmt: skip
        with contextlib.suppress(OSError):
            connection.sendall(json.dumps(answer).encode() + b"\n")
        connection.close()
        _, status = os.waitpid(job, 0)
        code = os.waitstatus_to_exitcode(status)
        info = ExitInfo(signal=-code) if code < 0 else ExitInfo(exit_code=code)
        write_exit_record(exit_record(job, ticks), info)
    except BaseException:
        traceback.print_exc()
        os._exit(1)
    os._exit(0)


def _become_job(request: dict[str, Any], log_fd: int, connection: socket.socket) -> NoReturn:
    """Turn this forked process into the job, as a fresh ``python -m``/``-c`` would have run it."""
    code = 1
    try:
        connection.close()
        os.setsid()  # its own process group: a cancel signals the job and its workers, nothing else
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(devnull)
        os.close(log_fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.stdin = open(os.devnull)  # noqa: SIM115 - the job's stdin for its whole life
        sys.stdout = io.TextIOWrapper(
            io.FileIO(1, "w", closefd=False), line_buffering=True, write_through=True
        )
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False),
            errors="backslashreplace",
            line_buffering=True,
            write_through=True,
        )
        numpy = sys.modules.get("numpy")
        if numpy is not None:
            numpy.random.seed()  # a fresh interpreter's global generator is seeded from the OS
        code = _run(request["argv"])
    except BaseException:
        with contextlib.suppress(Exception):
            traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _run(argv: Sequence[str]) -> int:
    """Run ``[python, -m|-c, target, *args]`` and return the exit code Python itself would have."""
    try:
        if argv[1] == "-m":
            sys.argv = [argv[2], *argv[3:]]
            runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
        else:
            sys.argv = ["-c", *argv[3:]]
            exec(compile(argv[2], "<string>", "exec"), {"__name__": "__main__", "__builtins__": builtins})
    except SystemExit as stop:
        return _exit_code(stop.code)
    except KeyboardInterrupt:
        traceback.print_exc()
        return 128 + signal.SIGINT
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _exit_code(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def main() -> None:
    started = time.monotonic()
    serve(Path(sys.argv[1]))
    print(f"warm server ran {time.monotonic() - started:.0f} s", flush=True)
