"""One running app per data folder, by an OS file lock the kernel drops if the process dies."""

from __future__ import annotations

from pathlib import Path

import filelock

from .errors import AlreadyOpenError
from .paths import LOCK_NAME


class InstanceLock:
    def __init__(self, folder: Path) -> None:
        self._lock = filelock.FileLock(str(folder / LOCK_NAME), timeout=0)

    def acquire(self) -> None:
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise AlreadyOpenError(
                "kapsession is already open on this data folder; use that window."
            ) from None

    def release(self) -> None:
        self._lock.release()
