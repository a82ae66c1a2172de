"""Property tests for the audit trail: whatever a session did (notes, amendments, vitals, closing
and reopening), the trail verifies; and whichever single row or entry is then tampered with by
hand, verify reports a break that names it."""

from __future__ import annotations

import sqlite3
import tempfile
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from kapsession.clock import FakeClock
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage import audit
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Words after a fixed start: the note parser's own properties are tested in test_notes.py.
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40).map(
    lambda s: "said " + s
)
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("note"), TEXT),
        st.tuples(st.just("amend"), TEXT),
        st.tuples(st.just("vitals"), st.sampled_from(["120/80 70 98", "140/90 88 95 16"])),
        st.tuples(st.just("reopen"), st.just("")),
        st.tuples(st.just("audit"), st.sampled_from(["export", "lock", "unlock", "key_change"])),
    ),
    max_size=12,
)
TAMPER = st.tuples(
    st.sampled_from(["edit", "delete", "unaudited", "forge", "drop_entry"]),
    st.integers(min_value=0, max_value=10_000),
)


def _run(folder: Path, ops: list[tuple[str, str]]) -> None:
    clock = FakeClock(T0)
    store = Store.open(folder)
    service = SessionService(store, clock, "UTC", "prop")
    live = service.give_dose(
        service.plan(SessionPlan("P-1", "Sublingual", "sublingual", 200.0, 75, "rest", "Ana")).id
    )
    notes: list[int] = []
    try:
        for op, arg in ops:
            clock.advance(30)
            if op == "note":
                notes.append(live.add_note(arg).seq)
            elif op == "amend" and notes:
                live.amend_note(notes[-1], arg, [], "correction")
            elif op == "vitals":
                live.add_vitals(arg)
            elif op == "reopen":
                live.close()
                store.close()
                store = Store.open(folder)
                service = SessionService(store, clock, "UTC", "prop")
                resumed = service.resume()
                assert resumed is not None
                live = resumed
            elif op == "audit":
                store.audit(arg, "app")
    finally:
        store.close()


def _report(folder: Path) -> audit.Report:
    store = Store.open_readonly(folder)
    try:
        return audit.verify(store.db.conn)
    finally:
        store.close()


def _tamper(conn: sqlite3.Connection, how: str, pick: int) -> str:
    """Do one kind of hand edit; returns the text verify must mention."""
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
        conn.execute(f"DROP TRIGGER {name}")
    seqs = [r[0] for r in conn.execute("SELECT seq FROM events ORDER BY seq")]
    seq = seqs[pick % len(seqs)]
    if how == "edit":
        conn.execute("UPDATE events SET t = coalesce(t, 0) + 1 WHERE seq = ?", [seq])
        return f"events seq {seq}: changed since audit #"
    if how == "delete":
        conn.execute("DELETE FROM events WHERE seq = ?", [seq])
        return f"events seq {seq}: recorded by audit #"
    if how == "unaudited":
        cur = conn.execute(
            "INSERT INTO events (session_id, kind, at, tz, data) "
            "VALUES (1, 'note', '2026-03-02T09:30:00.000Z', 'UTC', '{\"text\": \"x\"}')"
        )
        return f"events seq {cur.lastrowid}: has no audit entry"
    ids = [r[0] for r in conn.execute("SELECT id FROM audit ORDER BY id")]
    entry = ids[pick % len(ids)]
    if how == "forge":
        conn.execute("UPDATE audit SET author = 'mallory' WHERE id = ?", [entry])
        return f"audit #{entry} "
    target, target_id = conn.execute(
        "SELECT target, target_id FROM audit WHERE id = ?", [entry]
    ).fetchone()
    conn.execute("DELETE FROM audit WHERE id = ?", [entry])
    if entry == ids[-1]:  # the newest entry: the chain before it is whole on its own
        if target in audit.AUDITED:  # ... but its row no longer matches an entry
            return audit.describe(target, target_id) + ": "
        return ""  # a non-row action cut off the end: only a backup's head shows it
    return f"audit entry #{entry} is missing"


@settings(max_examples=40, deadline=None)
@given(ops=OPS, tamper=TAMPER)
def test_any_session_verifies_and_any_single_tamper_is_named(
    ops: list[tuple[str, str]], tamper: tuple[str, int]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        _run(folder, ops)
        report = _report(folder)
        assert report.ok, report.problems
        assert report.entries >= report.rows["events"] + 2

        with closing(sqlite3.connect(folder / DB_NAME, isolation_level=None)) as conn:
            expected = _tamper(conn, *tamper)
        problems = [str(p) for p in _report(folder).problems]
        if expected:
            assert any(expected in p for p in problems), (expected, problems)
        else:
            assert problems == [], "the known limit (see audit.py): nothing else is hidden"
