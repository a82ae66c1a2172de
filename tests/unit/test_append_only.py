"""Clinical entries are append-only, enforced by the database itself: not our code, not a bug,
not a hand-run SQL statement can rewrite what was recorded. Corrections are amendments."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from kapsession.clock import FakeClock
from kapsession.errors import InvalidEntry, StateError
from kapsession.session.live import LiveSession, SessionService, current_notes
from kapsession.storage import audit
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store

from .conftest import PlanFactory

APPEND_ONLY = "timeline entries are append-only: amend instead"
FORWARD_ONLY = "a session only moves planned -> running -> ended"
DOSE_FIXED = "a started session's plan and dose are part of the record"


@pytest.fixture
def live(file_service: SessionService, make_plan: PlanFactory, clock: FakeClock) -> LiveSession:
    session = file_service.give_dose(file_service.plan(make_plan()).id)
    clock.advance(120)
    session.add_note("q: the room is breathing")
    return session


@pytest.fixture
def raw(tmp_path: Path, live: LiveSession) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to the same file: none of our code in the way. Autocommit,
    so a refused statement leaves no transaction holding the write lock. It gets the audit
    trail's SQL functions, or SQLite would refuse every write for want of them before the
    append-only triggers are even reached (test_audit_trail.py covers that)."""
    with closing(sqlite3.connect(tmp_path / "data" / DB_NAME, isolation_level=None)) as conn:
        audit.register_functions(conn, lambda: "2026-03-02T09:00:00.000Z", lambda: "raw")
        yield conn


def _note_count(store: Store, session_id: int) -> int:
    return sum(1 for e in store.events(session_id) if e.kind == "note")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE events SET data = json_object('text', 'rewritten') WHERE kind = 'note'",
        "UPDATE events SET t = 0 WHERE kind = 'note'",
        "DELETE FROM events WHERE kind = 'note'",
        "DELETE FROM events",
    ],
)
def test_the_database_refuses_to_rewrite_or_delete_timeline_entries(
    live: LiveSession, raw: sqlite3.Connection, sql: str
) -> None:
    before = live.events()

    with pytest.raises(sqlite3.IntegrityError, match=APPEND_ONLY):
        live.store.db.execute(sql)
    with pytest.raises(sqlite3.IntegrityError, match=APPEND_ONLY):
        raw.execute(sql)

    assert live.events() == before


def test_sessions_are_never_deleted(live: LiveSession, raw: sqlite3.Connection) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="sessions are never deleted"):
        raw.execute("DELETE FROM sessions")
    with pytest.raises(sqlite3.IntegrityError, match="clients are never deleted"):
        raw.execute("DELETE FROM clients")
    with pytest.raises(sqlite3.IntegrityError, match="a client code cannot change"):
        raw.execute("UPDATE clients SET code = 'someone-else'")
    assert live.store.session(live.record.id).state == "running"


def test_a_session_never_moves_backwards(
    live: LiveSession, raw: sqlite3.Connection, file_service: SessionService, make_plan: PlanFactory
) -> None:
    with pytest.raises(sqlite3.IntegrityError, match=FORWARD_ONLY):
        raw.execute("UPDATE sessions SET state = 'planned' WHERE id = ?", [live.record.id])
    live.end("synthetic test: ended without discharge check")
    with pytest.raises(sqlite3.IntegrityError, match=FORWARD_ONLY):
        raw.execute("UPDATE sessions SET state = 'running' WHERE id = ?", [live.record.id])
    with pytest.raises(sqlite3.IntegrityError, match=FORWARD_ONLY):
        raw.execute("UPDATE sessions SET state = 'planned' WHERE id = ?", [live.record.id])
    planned = file_service.plan(make_plan(client_code="C-018"))
    with pytest.raises(sqlite3.IntegrityError, match=FORWARD_ONLY):
        raw.execute(
            "UPDATE sessions SET state = 'ended', ended_at = '2026-03-02T10:00:00.000Z' "
            "WHERE id = ?",
            [planned.id],
        )
    assert live.store.session(live.record.id).state == "ended"
    assert live.store.session(planned.id).state == "planned"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("dose_mg", 20.0),
        ("route", "intravenous"),
        ("dose_at", "2026-03-02T08:00:00.000Z"),
        ("planned_minutes", 120),
        ("rehearsal", 1),
    ],
)
def test_a_started_sessions_dose_and_route_are_fixed(
    live: LiveSession, raw: sqlite3.Connection, column: str, value: object
) -> None:
    before = live.store.session(live.record.id)
    with pytest.raises(sqlite3.IntegrityError, match=DOSE_FIXED):
        raw.execute(f"UPDATE sessions SET {column} = ? WHERE id = ?", [value, live.record.id])
    assert live.store.session(live.record.id) == before


def test_a_planned_session_can_still_be_changed_before_the_dose(
    file_service: SessionService, make_plan: PlanFactory
) -> None:
    planned = file_service.plan(make_plan())
    file_service.store.db.execute("UPDATE sessions SET dose_mg = 150 WHERE id = ?", [planned.id])
    assert file_service.store.session(planned.id).dose_mg == 150


def test_only_one_session_runs_at_a_time(
    live: LiveSession, file_service: SessionService, make_plan: PlanFactory, raw: sqlite3.Connection
) -> None:
    second = file_service.plan(make_plan(client_code="C-018"))

    with pytest.raises(StateError, match=r"Another session is already running.*end it first"):
        file_service.give_dose(second.id)

    store = file_service.store
    assert store.session(second.id).state == "planned"
    assert store.session(second.id).anchor is None
    assert store.events(second.id) == [], "no dose entry for a session that did not start"
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        raw.execute(
            "UPDATE sessions SET state = 'running', dose_at = '2026-03-02T09:00:00.000Z', "
            "anchor_mono = 1 WHERE id = ?",
            [second.id],
        )

    live.end("synthetic test: ended without discharge check")
    assert file_service.give_dose(second.id).record.state == "running"


def test_a_session_is_started_only_once(live: LiveSession, file_service: SessionService) -> None:
    with pytest.raises(StateError, match="Only a planned session can be started"):
        file_service.give_dose(live.record.id)
    assert [e.kind for e in live.events()].count("dose") == 1


def test_an_amendment_keeps_the_original_and_the_latest_amendment_is_current(
    live: LiveSession, clock: FakeClock
) -> None:
    original = live.events()[-1]
    clock.advance(30)
    first = live.amend_note(original.seq, "the room is breathing slowly", ["quote"], "misheard")
    clock.advance(30)
    # Amending the amendment still amends the note: one chain per note.
    second = live.amend_note(first.seq, "the room breathes with me", ["quote"], "client corrected")
    other = live.add_note("b: warm hands")

    assert live.store.event(original.seq) == original, "the original stays on the record"
    assert (first.amends, second.amends) == (original.seq, original.seq)
    assert (second.reason, second.author) == ("client corrected", live.author)
    assert second.t == 180.0
    assert [(n.seq, a.seq if a else None) for n, a in current_notes(live.events())] == [
        (original.seq, second.seq),
        (other.seq, None),
    ]
    current = current_notes(live.events())[0][1]
    assert current is not None and current.data["text"] == "the room breathes with me"


def test_an_amendment_needs_a_reason_in_the_service_and_in_the_database(
    live: LiveSession,
) -> None:
    note = live.events()[-1]
    with pytest.raises(InvalidEntry, match="needs a reason"):
        live.amend_note(note.seq, "changed", [], "   ")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        live.store.append(
            live.record.id, "amendment", live.clock.now(), "UTC", 1.0, {}, amends=note.seq
        )
    assert [e.kind for e in live.events()].count("amendment") == 0


def test_only_notes_can_be_amended_here(live: LiveSession) -> None:
    dose = live.events()[0]
    with pytest.raises(InvalidEntry, match="Only notes"):
        live.amend_note(dose.seq, "400 mg", [], "typo")


def test_an_entry_of_another_session_cannot_be_amended(
    live: LiveSession, file_service: SessionService, make_plan: PlanFactory
) -> None:
    theirs = live.events()[-1]
    live.end("synthetic test: ended without discharge check")
    mine = file_service.give_dose(file_service.plan(make_plan(client_code="C-018")).id)

    with pytest.raises(InvalidEntry, match="not part of this session"):
        mine.amend_note(theirs.seq, "edited", [], "wrong client")
    with pytest.raises(InvalidEntry, match="not part of this session"):
        mine.amend_note(10_000, "edited", [], "no such entry")
    with pytest.raises(sqlite3.IntegrityError, match="same session"):
        mine.store.append(
            mine.record.id,
            "amendment",
            mine.clock.now(),
            "UTC",
            1.0,
            {"text": "edited"},
            amends=theirs.seq,
            reason="bypassing the service",
        )
    assert [e.kind for e in mine.events()] == ["dose"]


def test_after_the_end_only_amendments_are_added(live: LiveSession, clock: FakeClock) -> None:
    note = live.events()[-1]
    live.end("synthetic test: ended without discharge check")
    clock.advance(600)
    count = len(live.events())

    with pytest.raises(StateError, match="only amendments"):
        live.add_note("one more thought")
    with pytest.raises(StateError, match="already ended"):
        live.end("synthetic test: ended without discharge check")
    assert live.tick() == [], "a late timer tick after the end writes nothing"
    clock.jump_wall(3600)
    assert live.tick() == []
    with pytest.raises(sqlite3.IntegrityError, match="only amendments can be added"):
        live.store.append(live.record.id, "note", clock.now(), "UTC", 5000.0, {"text": "x"})
    assert len(live.events()) == count
    assert live.store.last_heartbeat(live.record.id) is None

    amendment = live.amend_note(note.seq, "the room was breathing", ["quote"], "reviewed later")
    export = live.store.append(
        live.record.id, "export", clock.now(), "UTC", None, {"format": "pdf"}
    )

    assert [e.seq for e in live.events()[-2:]] == [amendment.seq, export.seq]
    assert _note_count(live.store, live.record.id) == 1


def test_the_arc_chosen_at_planning_is_fixed_once_the_dose_is_given(
    live: LiveSession, raw: sqlite3.Connection
) -> None:
    with pytest.raises(sqlite3.IntegrityError, match=DOSE_FIXED):
        raw.execute("UPDATE sessions SET arc = 'other.arc.toml'")


def test_a_planned_sessions_arc_is_stored_and_can_still_change(
    file_service: SessionService, make_plan: PlanFactory
) -> None:
    record = file_service.plan(make_plan(arc="  playlists/im-45.arc.toml "))
    assert record.arc == "playlists/im-45.arc.toml"
    file_service.store.db.execute("UPDATE sessions SET arc = NULL WHERE id = ?", [record.id])
    assert file_service.store.session(record.id).arc is None


def test_after_the_end_only_corrections_exports_and_integration_work_are_added(
    live: LiveSession, raw: sqlite3.Connection
) -> None:
    live.end("client resting, ended early")
    store = live.store
    for kind in ("worksheet", "handout", "export"):
        store.append(live.record.id, kind, live.clock.now(), "UTC", None, {"v": 1})
    with pytest.raises(sqlite3.IntegrityError, match="the session has ended"):
        store.append(live.record.id, "note", live.clock.now(), "UTC", None, {"text": "late"})
