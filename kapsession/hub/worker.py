"""The background sync: a Qt-free thread that pushes the folder's pending rows to the clinic hub
every few seconds (sooner when nudged), backing off while the hub is away. Nothing in the room
waits on it: it has its own connection to the folder's database and to the hub, and what it
reports (SyncStatus) is for the live screen to show, through whatever hands it over."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kapsession.clock import Clock, SystemClock
from kapsession.errors import KapsessionError
from kapsession.hub import sync
from kapsession.hub.connection import HubError, HubUnavailable, connect
from kapsession.hub.settings import HubSettings

if TYPE_CHECKING:
    import psycopg

INTERVAL_S = 5.0
FIRST_BACKOFF_S = 5.0
MAX_BACKOFF_S = 300.0


@dataclass(frozen=True)
class SyncStatus:
    synced: bool  # nothing waiting after the last round
    waiting: int  # entries not on the hub yet
    offline_since: datetime | None  # when the hub was first found away (None: reachable)
    problem: str | None  # one line when a person must act (a conflict, a refused login)
    # What kind of fault `problem` is (HubError.kind, or "unexpected" / "folder"), for the live
    # screen's short line (kapsession/hub/status_text.py); None while nothing needs a person.
    fault: str | None = None


class SyncWorker:
    def __init__(
        self,
        open_db: Callable[[], sqlite3.Connection],
        settings: HubSettings,
        *,
        clock: Clock | None = None,
        interval: float = INTERVAL_S,
        first_backoff: float = FIRST_BACKOFF_S,
        max_backoff: float = MAX_BACKOFF_S,
        on_status: Callable[[SyncStatus], None] | None = None,
    ) -> None:
        self._open_db = open_db
        self._settings = settings
        self._clock = clock or SystemClock()
        self._interval, self._first, self._max = interval, first_backoff, max_backoff
        self._on_status = on_status or (lambda _status: None)
        self._wake = threading.Event()
        self._recount = False  # woken only to count what waits (the hub away): no round
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kapsession-hub-sync", daemon=True)
        self.status = SyncStatus(False, 0, None, None)

    def start(self) -> None:
        self._thread.start()

    def nudge(self) -> None:
        """Sync soon (the hub may be back, or a person asked)."""
        self._recount = False
        self._wake.set()

    def committed(self) -> None:
        """An entry was just committed on this laptop: sync it now if the hub was reachable at
        the last round (the room board then sees it within seconds). While the hub is away or a
        fault waits on a person, the back-off stands (a busy room never hammers a hub that is
        down): the worker only counts the entries waiting again, so "37 waiting" stays true.
        Safe from any thread."""
        status = self.status
        if status.offline_since is None and status.problem is None:
            self.nudge()
        else:
            self._recount = True
            self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            db = self._open_db()
        except (sqlite3.Error, KapsessionError) as exc:
            self._report(
                SyncStatus(False, 0, None, f"The data folder cannot be read ({exc}).", "folder")
            )
            return
        pg: psycopg.Connection[Any] | None = None
        backoff = 0.0  # the wait while the hub is away: first_backoff, doubling, up to max
        try:
            while not self._stopping.is_set():
                try:
                    if pg is None or pg.closed:
                        pg = connect(self._settings.dsn, self._settings.password)
                    sync.push_pending(db, self._settings, pg)
                    left = sync.waiting(db)
                    self._report(SyncStatus(left == 0, left, None, None))
                    delay, backoff = self._interval, 0.0
                except HubUnavailable:
                    _closed(pg)
                    pg = None
                    since = self.status.offline_since or self._clock.now()
                    self._report(SyncStatus(False, _waiting(db), since, None))
                    # Each outage starts again from the first back-off.
                    backoff = min(max(backoff * 2, self._first), self._max)
                    delay = backoff
                except HubError as exc:
                    _closed(pg)
                    pg = None
                    self._report(SyncStatus(False, _waiting(db), None, str(exc), exc.kind))
                    delay = self._max
                except sqlite3.Error:
                    delay = self._interval  # the folder busy: the next round reads again
                except Exception as exc:
                    # Never a traceback (it could quote a row): one line, and the room goes on.
                    _closed(pg)
                    pg = None
                    problem = f"The clinic hub sync met an unexpected error ({type(exc).__name__})."
                    self._report(SyncStatus(False, _waiting(db), None, problem, "unexpected"))
                    delay = self._max
                self._pause(db, delay)
        finally:
            _closed(pg)
            db.close()

    def _pause(self, db: sqlite3.Connection, delay: float) -> None:
        """Wait DELAY seconds or until nudged; an entry committed meanwhile while the hub is
        away only refreshes the count of what waits."""
        deadline = time.monotonic() + delay
        while not self._stopping.is_set():
            woken = self._wake.wait(max(0.0, deadline - time.monotonic()))
            self._wake.clear()
            if not (woken and self._recount):
                return
            self._recount = False
            self._report(replace(self.status, waiting=_waiting(db)))

    def _report(self, status: SyncStatus) -> None:
        self.status = status
        with contextlib.suppress(Exception):  # a listener's fault never stops the sync
            self._on_status(status)


def _waiting(db: sqlite3.Connection) -> int:
    try:
        return sync.waiting(db)
    except sqlite3.Error:
        return 0


def _closed(pg: psycopg.Connection[Any] | None) -> None:
    if pg is not None:
        with contextlib.suppress(Exception):
            pg.close()


def start_for_folder(
    folder: Path, key: bytes | None, on_status: Callable[[SyncStatus], None] | None = None
) -> SyncWorker | None:
    """The app's worker for a data folder that has joined a hub, started; None for one that has
    not (the app then never imports anything of the hub's)."""
    from kapsession.hub import settings
    from kapsession.storage.paths import DB_NAME
    from kapsession.storage.store import open_connection

    hub = settings.load(folder)
    if hub is None:
        return None
    worker = SyncWorker(lambda: open_connection(folder / DB_NAME, key), hub, on_status=on_status)
    worker.start()
    return worker
