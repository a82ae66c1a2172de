"""One running app per data folder, by an OS file lock the kernel drops if the process dies.

Written against fcntl/msvcrt directly rather than the `filelock` package: that package now
imports asyncio and ssl, which cost ~50 ms of start-up (measured with bench/run.py), for ~20 lines."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from kapsession.errors import AlreadyOpenError
from kapsession.storage.paths import LOCK_NAME


class InstanceLock:
    def __init__(self, folder: Path) -> None:
        self._path = folder / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if sys.platform == "win32":
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise AlreadyOpenError(
                "kapsession is already open on this data folder; use that window."
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    def __del__(self) -> None:
        self.release()
