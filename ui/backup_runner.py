"""Automatic backups from the app: after each session ends and once a day, off the GUI thread (an
Executor) so the window never waits for the disk. The result comes back on the GUI thread; the
audit entry is written there (the Store belongs to the GUI thread) and a failure reaches the
therapist through ui/messages.py. An encrypted store's backups are encrypted with its data
key (the key the open Store holds: never asked for again)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from kapsession.clock import Clock
from kapsession.errors import KapsessionError
from kapsession.storage import backup
from kapsession.storage.store import Store

from .executor import Executor, ThreadExecutor

log = logging.getLogger("kapsession.ui.backup")

RETRY_AFTER_FAILURE = timedelta(hours=6)


class BackupRunner(QObject):
    written = Signal(object)  # backup.BackupResult, on the GUI thread
    failed = Signal(str)  # a message for the therapist, on the GUI thread

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        target: Path,
        clock: Clock,
        executor: Executor | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store, self._data_dir, self._target, self._clock = store, data_dir, target, clock
        self._executor = executor or ThreadExecutor("kapsession-backup", self)
        self._running = False
        self._failed_at: datetime | None = None
        self.written.connect(self._on_written)
        self.failed.connect(self._on_failed)

    @property
    def target(self) -> Path:
        return self._target

    def start(self, after_session: bool) -> bool:
        """Begin a backup if one is due and none is running; returns whether one began."""
        if self._running:
            return False
        now = self._clock.now()
        if not after_session and self._failed_at and now - self._failed_at < RETRY_AFTER_FAILURE:
            return False  # e.g. the backup drive is not plugged in: ask again later, not hourly
        if not backup.due(self._target, now, after_session, backup.owner_of_store(self._store)):
            return False
        self._running = True
        key = self._store.key
        self._executor.submit(lambda: self._work(now, key), self._on_done)
        return True

    def _work(self, now: datetime, key: bytes | None) -> backup.BackupResult | str:
        """Off the GUI thread: the backup, or the message saying why there is none."""
        try:
            return backup.create(self._data_dir, self._target, now, key)
        except KapsessionError as exc:
            log.warning("backup failed: %s", type(exc).__name__)
            return str(exc)
        except Exception as exc:  # a worker thread must report, never die silently
            log.error("backup failed: %s", type(exc).__name__)
            return f"The automatic backup failed ({type(exc).__name__})."

    def _on_done(self, outcome: backup.BackupResult | str) -> None:
        self._running = False
        if isinstance(outcome, str):
            self.failed.emit(outcome)
        else:
            self.written.emit(outcome)

    def _on_failed(self, _message: str) -> None:
        self._failed_at = self._clock.now()

    def _on_written(self, result: backup.BackupResult) -> None:
        self._failed_at = None
        log.info("backup written: %s", result.path.name)
        try:
            backup.record(self._store, result)
        except Exception as exc:  # the backup is fine; only its audit line is missing
            log.warning("backup not put on the audit trail: %s", type(exc).__name__)
        if result.verified.problems:
            self.failed.emit(
                f"The backup {result.path.name} was written, but the record has "
                f"{len(result.verified.problems)} audit problem(s). "
                "Run `kapsession verify` for the details."
            )
