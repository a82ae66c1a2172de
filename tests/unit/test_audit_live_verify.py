"""`verify` during a live session: a writer adding 50 notes a second through the real Store and
session service, on its own connection, while verify runs 200 times. Every run reads the rows
and the trail in one snapshot, so every run is OK (before, a row written between the two reads
was "has no audit entry" in about 4 % of runs)."""

from __future__ import annotations

import threading
from pathlib import Path

from kapsession.clock import SystemClock
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage import audit
from kapsession.storage.store import Store

RUNS = 200
NOTES_PER_SECOND = 50


class Writer(threading.Thread):
    def __init__(self, folder: Path) -> None:
        super().__init__(daemon=True)
        self.folder = folder
        self.written = 0
        self.started_writing = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            store = Store.open(self.folder)  # its own connection, in its own thread
            try:
                service = SessionService(store, SystemClock(), "UTC", "live-writer")
                plan = SessionPlan("LIVE-1", "Synthetic", "sublingual", 100.0, 60)
                live = service.give_dose(service.plan(plan).id)
                # The pace of a busy session, not a synchronisation: stop is an event.
                while not self.stop.wait(1 / NOTES_PER_SECOND):
                    live.add_note(f"synthetic note {self.written}")
                    self.written += 1
                    self.started_writing.set()
            finally:
                store.close()
        except BaseException as exc:  # reported by the test, not lost on this thread
            self.error = exc
            self.started_writing.set()


def test_verify_is_ok_on_every_run_while_a_session_writes_50_notes_a_second(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    Store.open(folder).close()
    writer = Writer(folder)
    writer.start()
    assert writer.started_writing.wait(60), "the writer never wrote"
    assert writer.error is None
    failures, written_during = [], []
    try:
        for run in range(RUNS):
            before = writer.written
            store = Store.open_readonly(folder)
            try:
                report = audit.verify(store.db.conn)
            finally:
                store.close()
            written_during.append(writer.written - before)
            if not report.ok:
                failures.append((run, [str(p) for p in report.problems]))
    finally:
        writer.stop.set()
        writer.join(60)
    assert writer.error is None
    assert failures == []
    # The runs really overlapped the writes (not a quiet database verified 200 times).
    assert sum(1 for n in written_during if n > 0) >= RUNS // 20, written_during


def test_verify_reads_in_one_transaction_and_leaves_none_open(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    Store.open(folder).close()
    store = Store.open_readonly(folder)
    seen: list[bool] = []
    store.db.conn.set_trace_callback(lambda sql: seen.append(store.db.conn.in_transaction))
    try:
        assert audit.verify(store.db.conn).ok
        assert not store.db.conn.in_transaction
    finally:
        store.close()
    assert seen[0] is False and all(seen[1:]), "BEGIN first, every read inside it"
