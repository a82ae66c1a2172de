"""Wrong tries at the screen lock, and how long the next one has to wait, kept on the audit
trail so that killing and restarting the app does not reset them.

Each wrong try is an `unlock_failed` audit entry (no detail: what was typed is never kept).
The trail is append-only and hash-chained (and encrypted with the rest of an encrypted
folder), so removing those entries to skip the wait breaks the chain, which `verify` names;
a separate state file with a MAC would have needed its own key and its own tamper story.
The count runs from the last `unlock` entry (the app writes one on every unlock).

Unreadable history (a damaged trail) must neither lock the clinic out nor let anyone skip the
wait: it counts as FREE_TRIES wrong tries with no wait pending, so the first try is taken
at once and every wrong one waits (5 s, 10 s, ...)."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from kapsession.clock import Clock
from kapsession.errors import KapsessionError
from kapsession.storage.store import parse_iso

if TYPE_CHECKING:
    from kapsession.storage.store import Store

log = logging.getLogger("kapsession.storage.unlock_tries")

FREE_TRIES = 5  # wrong tries before each further one has to wait
FIRST_WAIT_S = 5.0
MAX_WAIT_S = 300.0
FAILED = "unlock_failed"
_HISTORY = 10_000  # newest lock entries read at start: far more than any back-off needs


def wait_after(failures: int) -> float:
    """After FREE_TRIES wrong tries, each further one waits longer (5 s, 10 s, ... 5 min):
    guessing a 4-digit PIN at the keyboard stops being practical."""
    if failures < FREE_TRIES:
        return 0.0
    return min(MAX_WAIT_S, FIRST_WAIT_S * 2.0 ** min(failures - FREE_TRIES, 16))


@dataclass(frozen=True)
class Backoff:
    failures: int  # wrong tries since the last unlock
    wait_s: float  # seconds before the next try is taken (0: now)


class UnlockTries:
    """The wrong tries since the last unlock, read from the store's audit trail on start and
    appended to it as they happen. Without a store (tests, --smoke) they live in memory.
    A subclass names its own actions (clinician PINs: kapsession.storage.clinicians)."""

    FAILED = FAILED
    SUCCEEDED = "unlock"

    def __init__(self, store: Store | None, clock: Clock) -> None:
        self._store, self._clock = store, clock
        self._failures = 0
        self._last: datetime | None = None
        self.locked_at_exit = False  # the app stopped while its screen was locked
        if store is not None:
            self._read(store)

    def _read(self, store: Store) -> None:
        try:
            rows = store.conn.execute(
                "SELECT action, at FROM audit WHERE action IN ('lock', ?, ?) "
                "ORDER BY id DESC LIMIT ?",
                [self.SUCCEEDED, self.FAILED, _HISTORY],
            ).fetchall()
            seen_lock_state = False
            for action, at in rows:
                if action != self.FAILED and not seen_lock_state:
                    seen_lock_state = True
                    self.locked_at_exit = action == "lock"
                if action == self.SUCCEEDED:
                    break
                if action == self.FAILED:
                    self._failures += 1
                    self._last = self._last or parse_iso(str(at))
        except (sqlite3.Error, ValueError, TypeError) as exc:
            log.error("wrong unlock tries not readable: %s", type(exc).__name__)
            self._failures, self._last = FREE_TRIES, None

    def state(self) -> Backoff:
        wait = wait_after(self._failures)
        if self._last is None:
            return Backoff(self._failures, 0.0)  # unreadable history: the next wrong try waits
        elapsed = (self._clock.now() - self._last).total_seconds()
        if elapsed >= 0:  # a clock set back gives the whole wait, never a shorter one
            wait = max(0.0, wait - elapsed)
        return Backoff(self._failures, wait)

    def failed(self) -> Backoff:
        """One more wrong try, on the audit trail; counted here even when the write fails."""
        self._failures += 1
        self._last = self._clock.now()
        if self._store is not None:
            try:
                self._store.audit(self.FAILED, "app", at=self._last)
            except (sqlite3.Error, OSError, KapsessionError) as exc:
                log.error("wrong unlock try not audited: %s", type(exc).__name__)
        return self.state()

    def succeeded(self) -> None:
        """The count starts again (on disk, from the `unlock` entry the app writes)."""
        self._failures, self._last = 0, None
        self.locked_at_exit = False
