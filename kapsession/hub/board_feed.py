"""The room board's feed, Qt-free: a thread that LISTENs on the hub (the h002 trigger notifies
the room's name on every new row), reads the board's rows again when told (board.read) and hands
each Snapshot over; it also reads every POLL_S seconds, so it falls back to polling when LISTEN
fails (a pooler in between) and never misses a change for long. When the hub is away it says
"hub unreachable since 14:02" (one line, never a traceback), keeps the last snapshot, and
reconnects with back-off."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kapsession.clock import Clock, SystemClock
from kapsession.hub import board
from kapsession.hub.connection import HubError, HubUnavailable, connect, explain
from kapsession.hub.server_schema import BOARD_CHANNEL, check_level

if TYPE_CHECKING:
    import psycopg

POLL_S = 5.0
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class FeedStatus:
    listening: bool  # LISTEN works (False: polling only)
    unreachable_since: datetime | None
    problem: str | None  # one line: the hub away, or something a person must fix


class BoardFeed:
    def __init__(
        self,
        dsn: str,
        on_snapshot: Callable[[board.Snapshot], None],
        on_status: Callable[[FeedStatus], None] | None = None,
        *,
        clock: Clock | None = None,
        poll_s: float = POLL_S,
        first_backoff: float = FIRST_BACKOFF_S,
        max_backoff: float = MAX_BACKOFF_S,
    ) -> None:
        self._dsn = dsn
        self._on_snapshot = on_snapshot
        self._on_status = on_status or (lambda _status: None)
        self._clock = clock or SystemClock()
        self._poll, self._first, self._max = poll_s, first_backoff, max_backoff
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kapsession-board", daemon=True)
        self.status = FeedStatus(False, None, None)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        import psycopg

        delay = 0.0
        while not self._stopping.is_set():
            conn: psycopg.Connection[Any] | None = None
            try:
                conn = connect(self._dsn, autocommit=True)
                check_level(conn)
                listening = self._listen(conn)
                self._report(FeedStatus(listening, None, None))
                delay = 0.0
                self._serve(conn, listening)
            except psycopg.OperationalError as exc:
                self._away(str(explain(exc, self._dsn)))
            except HubUnavailable as exc:
                self._away(str(exc))
            except HubError as exc:
                self._report(FeedStatus(False, self.status.unreachable_since, str(exc)))
            except Exception as exc:
                # Never a traceback: one line, and the board tries again.
                self._away(f"The room board met an unexpected error ({type(exc).__name__}).")
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
            delay = min(max(delay * 2, self._first), self._max)
            self._stopping.wait(delay)

    def _listen(self, conn: psycopg.Connection[Any]) -> bool:
        import psycopg

        try:
            conn.execute(f"LISTEN {BOARD_CHANNEL}")
            return True
        except psycopg.OperationalError:
            raise
        except psycopg.Error:
            return False  # poll only

    def _serve(self, conn: psycopg.Connection[Any], listening: bool) -> None:
        while not self._stopping.is_set():
            self._on_snapshot(board.read(conn, self._clock.now()))
            # A notification that came during the read waits in psycopg's backlog: the first
            # notifies() returns it at once, and the rows are read again. Wakes on the first notification (the payload, a room, is not needed: the read is
            # of every room, a few hundred rows), else after POLL_S; looks at stop() twice a
            # second.
            deadline = self._clock.monotonic() + self._poll
            while not self._stopping.is_set():
                left = deadline - self._clock.monotonic()
                if left <= 0:
                    break
                if not listening:
                    self._stopping.wait(min(left, 0.5))
                elif list(conn.notifies(timeout=min(left, 0.5), stop_after=1)):
                    break

    def _away(self, line: str) -> None:
        since = self.status.unreachable_since or self._clock.now()
        self._report(FeedStatus(False, since, line))

    def _report(self, status: FeedStatus) -> None:
        self.status = status
        with contextlib.suppress(Exception):  # a listener's fault never stops the feed
            self._on_status(status)
