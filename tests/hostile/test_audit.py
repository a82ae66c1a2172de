"""Hostile audit trails: a chain rebuilt without its key (plain SHA-256, or HMAC with a wrong
key), and audit rows holding anything at all. `verify` names each, and never raises."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kapsession.clock import SystemClock
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage import audit, chain_key
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store

COLUMNS = ("id", "at", "author", "action", "target", "target_id", "digest", "fields", "detail")


def _folder_with_a_session(folder: Path) -> Path:
    """A plain data folder holding one synthetic session with a few notes."""
    store = Store.open(folder)
    try:
        service = SessionService(store, SystemClock(), "UTC", "hostile-test")
        live = service.give_dose(
            service.plan(SessionPlan("HOST-1", "Synthetic", "sublingual", 100.0, 60)).id
        )
        for n in range(3):
            live.add_note(f"synthetic note {n}")
    finally:
        store.close()
    return folder


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _folder_with_a_session(tmp_path_factory.mktemp("template") / "data")


def _copy(template: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in (DB_NAME, chain_key.FILE_NAME):
        (dest / name).write_bytes((template / name).read_bytes())
    return dest


def _problems(folder: Path) -> list[str]:
    store = Store.open_readonly(folder)
    try:
        return [str(p) for p in audit.verify(store.db.conn).problems]
    finally:
        store.close()


@pytest.fixture
def raw(template: Path, tmp_path: Path) -> Iterator[tuple[Path, sqlite3.Connection]]:
    """A copy of the folder and a plain sqlite3 connection to it with the guards dropped: what
    someone with the database file (not the chain key) can do."""
    folder = _copy(template, tmp_path / "data")
    with closing(sqlite3.connect(folder / DB_NAME, isolation_level=None)) as conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            conn.execute(f"DROP TRIGGER {name}")
        yield folder, conn


def _rebuild(conn: sqlite3.Connection, link: Callable[[str, list[object]], str]) -> None:
    """Every entry re-linked with `link`, in order: a consistent rewrite of the whole chain."""
    rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM audit ORDER BY id").fetchall()
    prev = audit.GENESIS
    for row in rows:
        new = link(prev, list(row))
        conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", [prev, new, row[0]])
        prev = new


def _edit_a_note_and_its_entry(conn: sqlite3.Connection) -> None:
    seq = conn.execute("SELECT max(seq) FROM events WHERE kind = 'note'").fetchone()[0]
    conn.execute("UPDATE events SET data = json_object('text', 'rewritten') WHERE seq = ?", [seq])
    names = [d[1] for d in conn.execute("PRAGMA table_info(events)")]
    values = conn.execute("SELECT * FROM events WHERE seq = ?", [seq]).fetchone()
    row = dict(zip(names, values, strict=True))
    conn.execute(
        "UPDATE audit SET digest = ?, fields = ? WHERE target = 'events' AND target_id = ?",
        [audit.row_digest("events", row), audit.field_hints(row), seq],
    )


def test_a_chain_rebuilt_unkeyed_as_an_older_schema_is_named(
    raw: tuple[Path, sqlite3.Connection],
) -> None:
    """The whole downgrade: the marker and the m004 record removed, every entry re-linked with
    plain SHA-256. Only the chain key file (which says where the keyed chain starts) can tell."""
    folder, conn = raw
    _edit_a_note_and_its_entry(conn)
    conn.execute("DELETE FROM audit WHERE action = 'chain_keyed'")
    conn.execute("UPDATE audit SET id = id - 1")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = ?", [audit.KEYED_MIGRATION])
    _rebuild(conn, audit.chain_hash)
    problems = _problems(folder)
    assert problems == [
        "audit #1: should start the keyed chain (the chain key file says so) but the chain is "
        "not keyed (rebuilt without its key)"
    ]


def test_a_chain_rebuilt_with_plain_sha256_under_the_keyed_schema_is_named(
    raw: tuple[Path, sqlite3.Connection],
) -> None:
    folder, conn = raw
    _edit_a_note_and_its_entry(conn)
    _rebuild(conn, audit.chain_hash)
    problems = _problems(folder)
    n = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    assert len(problems) == n, "every entry from the marker on is named as forged"
    assert all(p.endswith("the audit entry itself was altered or forged (hash)") for p in problems)
    assert problems[0].startswith("audit #1 (audit, chain_keyed)")


def test_a_chain_rebuilt_with_a_wrong_key_is_named(raw: tuple[Path, sqlite3.Connection]) -> None:
    folder, conn = raw
    _edit_a_note_and_its_entry(conn)
    wrong = secrets.token_bytes(32)
    _rebuild(conn, lambda prev, body: audit.keyed_hash(wrong, prev, body))
    problems = _problems(folder)
    n = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    assert len(problems) == n
    assert all(p.endswith("altered or forged (hash)") for p in problems), problems


def test_the_same_rewrite_with_the_right_key_passes(raw: tuple[Path, sqlite3.Connection]) -> None:
    """The control: what the key file's holder can do (and why the README says a plain folder
    is protected against a copied database, not against someone with the whole folder)."""
    folder, conn = raw
    _edit_a_note_and_its_entry(conn)
    own = chain_key.read(folder)
    assert own is not None
    _rebuild(conn, lambda prev, body: audit.keyed_hash(own.key, prev, body))
    assert _problems(folder) == []


def test_an_entry_whose_time_is_not_a_date_is_named(raw: tuple[Path, sqlite3.Connection]) -> None:
    folder, conn = raw
    conn.execute("UPDATE audit SET at = 'yesterday-ish' WHERE id = 3")
    problems = _problems(folder)
    assert "audit #3: at is not a time" in problems
    assert "audit #3: the audit entry itself was altered or forged (hash)" in problems


HOSTILE = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=80),
    st.binary(max_size=40),
    st.sampled_from(["", "2026-13-45T99:99:99Z", "f" * 64, "F" * 64, "z" * 64, "chain_keyed"]),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    changes=st.lists(
        st.tuples(st.integers(min_value=1, max_value=20), st.sampled_from(COLUMNS[1:]), HOSTILE),
        min_size=1,
        max_size=4,
    )
)
def test_random_corruption_of_audit_rows_is_reported_never_raised(
    template: Path, tmp_path_factory: pytest.TempPathFactory, changes: list[tuple[int, str, object]]
) -> None:
    folder = _copy(template, tmp_path_factory.mktemp("fuzz") / "data")
    with closing(sqlite3.connect(folder / DB_NAME, isolation_level=None)) as conn:
        # The trail re-made without its constraints (NOT NULL, the integer key, the guards),
        # as someone with the file can: any value may land anywhere.
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("CREATE TABLE loose AS SELECT * FROM audit")
        conn.execute("DROP TABLE audit")
        conn.execute("ALTER TABLE loose RENAME TO audit")
        n = conn.execute("SELECT max(id) FROM audit").fetchone()[0]
        changed = 0
        for entry, column, value in changes:
            if entry > n:
                continue
            before = conn.execute(f"SELECT {column} FROM audit WHERE id = ?", [entry]).fetchone()
            conn.execute(f"UPDATE audit SET {column} = ? WHERE id = ?", [value, entry])
            after = conn.execute(f"SELECT {column} FROM audit WHERE id = ?", [entry]).fetchone()
            changed += before != after
    problems = _problems(folder)  # must not raise, whatever the rows hold
    if changed:
        assert problems, f"{changes} changed the trail and went unnoticed"
    else:
        assert problems == []
