"""File hygiene: private permissions, a rotating log without clinical text, and crash output that
names what failed but never repeats an exception's message (which may quote what was typed).

Called once at start by the app and the command line (private_umask, setup_logging,
install_excepthook; keep_secrets_in_process by ui.app.main, the one entry point of both) and
after the database is opened (tighten)."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import TextIO

from kapsession.storage.paths import DB_NAME, LOCK_NAME

LOG_SUBFOLDER = "logs"
LOG_NAME = "kapsession.log"
LOG_MAX_BYTES = 512 * 1024
LOG_BACKUPS = 4
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600

log = logging.getLogger("kapsession")


def private_umask() -> None:
    """Everything this process creates is readable by this user only (files 0600, folders 0700)."""
    os.umask(0o077)


# Read once at start and taken out of the environment (child processes never inherit them).
SECRET_ENV = ("KAPSESSION_PASSPHRASE",)
_taken: dict[str, str] = {}
PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


def keep_secrets_in_process() -> None:
    """What is in memory (the data key, the passphrase, notes) stays in this process:

    - no core dumps: RLIMIT_CORE 0 (soft and hard), and not dumpable (prctl PR_SET_DUMPABLE 0),
      which also makes /proc/PID/mem, environ, maps... readable by root only and refuses a
      debugger's attach by this user's other processes;
    - the passphrase variable is taken out of os.environ (and the C environment), so no child
      process inherits it, and its value is wiped from the initial environment block that
      /proc/PID/environ shows.

    What remains: the value in this process's memory while it runs (Python strings cannot be
    wiped), readable by root. Each step is best effort: a platform without it keeps the rest."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _prctl(PR_SET_DUMPABLE, 0)
    for name in SECRET_ENV:
        value = os.environ.pop(name, None)  # unsetenv too
        if value is not None:
            _taken[name] = value
            _wipe_initial_environment(name)


def secret_from_env(name: str) -> str | None:
    """A secret variable: from the environment (a test, a caller that set it since), else the
    value taken out of it at start."""
    return os.environ.get(name) or _taken.get(name)


def _prctl(option: int, arg: int) -> int | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, arg, 0, 0, 0))
    except (OSError, AttributeError):
        return None


def dumpable() -> int | None:
    """prctl(PR_GET_DUMPABLE): 0 once keep_secrets_in_process ran (None: not Linux)."""
    return _prctl(PR_GET_DUMPABLE, 0)


def _wipe_initial_environment(name: str) -> None:
    """Zero `name`'s value in the block the kernel shows as /proc/self/environ (the strings
    the process started with, on its stack; unsetenv only drops libc's pointer to them)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end (fields 50, 51)
        if not 0 < start < end or end - start > 1 << 24:
            return
        block = ctypes.string_at(start, end - start)
        prefix = name.encode() + b"="
        at = 0
        while (at := block.find(prefix, at)) >= 0:
            if at == 0 or block[at - 1] == 0:
                value = at + len(prefix)
                stop = block.find(b"\0", value)
                stop = len(block) if stop < 0 else stop
                ctypes.memset(start + value, 0, stop - value)
            at += len(prefix)
    except (OSError, ValueError, IndexError):
        return


def _chmod(path: Path, mode: int) -> None:
    with contextlib.suppress(OSError):
        if path.exists() and not path.is_symlink():
            path.chmod(mode)


def tighten(folder: Path) -> None:
    """The data folder 0700, and every file kapsession keeps in it 0600: the database with its
    -wal/-shm, the lock, the logs, replaced databases and backups kept there."""
    _chmod(folder, PRIVATE_DIR)
    for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", LOCK_NAME):
        _chmod(folder / name, PRIVATE_FILE)
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            if path.name.startswith(DB_NAME + ".replaced-"):
                _chmod(path, PRIVATE_FILE)
    for sub in (LOG_SUBFOLDER, "backups"):
        d = folder / sub
        if d.is_dir() and not d.is_symlink():
            _chmod(d, PRIVATE_DIR)
            with contextlib.suppress(OSError):
                for path in d.iterdir():
                    if path.is_file():
                        _chmod(path, PRIVATE_FILE)


def setup_logging(folder: Path | None, stream: TextIO | None = None) -> Path | None:
    """Warnings to stderr; with a data folder, also a rotating log (logs/kapsession.log, 4 x
    512 KiB). Log messages name what failed (type names, ids), never what was written."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    fmt = logging.Formatter("%(asctime)s kapsession %(levelname)s %(name)s: %(message)s")
    for h in list(root.handlers):
        if getattr(h, "_kapsession", False):
            root.removeHandler(h)
            h.close()
    err = logging.StreamHandler(stream or sys.stderr)
    err.setLevel(logging.WARNING)
    err.setFormatter(logging.Formatter("kapsession %(levelname)s %(name)s: %(message)s"))
    err._kapsession = True  # type: ignore[attr-defined]
    root.addHandler(err)
    if folder is None:
        return None
    # Imported here: logging.handlers brings socket, pickle and queue (~10 ms of start-up),
    # and is needed only once the data folder is known.
    from logging.handlers import RotatingFileHandler

    class PrivateRotatingHandler(RotatingFileHandler):
        """Every log file, the rotated ones too, is created 0600 whatever the umask."""

        def _open(self) -> io.TextIOWrapper:
            fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
            os.close(fd)
            _chmod(Path(self.baseFilename), PRIVATE_FILE)
            return super()._open()

    logs = folder / LOG_SUBFOLDER
    try:
        logs.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        handler = PrivateRotatingHandler(
            logs / LOG_NAME, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    except OSError as exc:
        log.warning("log file unavailable: %s", type(exc).__name__)
        return None
    handler.setLevel(logging.INFO)
    handler.setFormatter(fmt)
    handler._kapsession = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    return logs / LOG_NAME


def describe_exception(kind: type[BaseException], tb: TracebackType | None, limit: int = 30) -> str:
    """The exception's type and where it was raised; never its message or local values."""
    import traceback

    frames = traceback.extract_tb(tb, limit=limit)
    where = "".join(f"\n  {Path(f.filename).name}:{f.lineno} in {f.name}" for f in frames)
    return f"unexpected error {kind.__module__}.{kind.__qualname__}{where}"


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    logging.getLogger("kapsession.crash").error(describe_exception(kind, tb))


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    logging.getLogger("kapsession.crash").error(
        describe_exception(args.exc_type, args.exc_traceback)
    )


def install_excepthook() -> None:
    """Uncaught exceptions (Qt slots included: PySide routes them here) are logged by type and
    place only."""
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
