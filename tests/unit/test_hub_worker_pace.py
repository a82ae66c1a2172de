"""The sync worker's pace without a hub: every INTERVAL while the hub answers; while it is away,
the first back-off doubling up to the longest, starting again from the first at each outage;
an entry committed is sent at once while the hub answers and only recounted while it is away."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from kapsession.hub import worker as worker_module
from kapsession.hub.connection import HubUnavailable
from kapsession.hub.settings import HubSettings
from kapsession.hub.worker import SyncStatus, SyncWorker

SETTINGS = HubSettings("host=hub.invalid dbname=kap", "a", b"k" * 32, None)


class _Hub:
    closed = False

    def close(self) -> None:
        self.closed = True


class _Paced(SyncWorker):
    """Records each wait instead of waiting, and stops after the script's last round."""

    def __init__(self, rounds: int) -> None:
        super().__init__(lambda: sqlite3.connect(":memory:"), SETTINGS, interval=5,
                         first_backoff=5, max_backoff=40)  # fmt: skip
        self.delays: list[float] = []
        self._rounds = rounds

    def _pause(self, db: sqlite3.Connection, delay: float) -> None:
        self.delays.append(delay)
        if len(self.delays) == self._rounds:
            self._stopping.set()


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Each round's fate: 'up' (pushed) or 'down' (the hub away)."""
    fates: list[str] = []

    def connect(_dsn: str, _password: str | None) -> _Hub:
        return _Hub()

    def push(_db: object, _settings: object, _pg: object) -> None:
        if fates.pop(0) == "down":
            raise HubUnavailable("The clinic hub at hub.invalid:5432/kap cannot be reached.")

    monkeypatch.setattr(worker_module, "connect", connect)
    monkeypatch.setattr(worker_module.sync, "push_pending", push)
    monkeypatch.setattr(worker_module.sync, "waiting", lambda _db: 0)
    yield fates


def test_the_back_off_doubles_while_the_hub_is_away_and_starts_again_at_each_outage(
    script: list[str],
) -> None:
    script += ["up", "down", "down", "down", "down", "down", "up", "down", "down"]
    paced = _Paced(len(script))
    paced._run()
    assert paced.delays == [5, 5, 10, 20, 40, 40, 5, 5, 10]


def test_a_commit_syncs_at_once_while_the_hub_answers_and_only_recounts_while_it_is_away() -> None:
    statuses: list[SyncStatus] = []
    w = SyncWorker(lambda: sqlite3.connect(":memory:"), SETTINGS, on_status=statuses.append)
    db = sqlite3.connect(":memory:")
    w.status = SyncStatus(True, 0, None, None)
    w.committed()
    assert w._wake.is_set() and not w._recount, "a round now"
    w._wake.clear()
    w.status = SyncStatus(False, 3, datetime(2026, 12, 6, 14, 2, tzinfo=UTC), None)
    w.committed()
    assert w._wake.is_set() and w._recount
    # The pause wakes, recounts (this folder has no outbox: 0), reports and goes on waiting
    # until stopped: no round.
    stopper = threading.Timer(0.2, lambda: (w._stopping.set(), w._wake.set()))
    stopper.start()
    w._pause(db, 30)
    stopper.join()
    assert [s.waiting for s in statuses] == [0] and statuses[0].offline_since is not None
