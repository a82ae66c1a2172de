"""Property-based tests over the last inputs without them (the security settings file and the
command line), and a stateful test of a whole session: any sequence of notes, amendments,
vitals (valid or not), checks, clock steps, crashes and reopenings keeps every invariant —
every saved entry is back with its latest text, no check is due twice, the database is intact
and its audit chain verifies."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sqlite3
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from kapsession.cli import commands
from kapsession.clock import FakeClock
from kapsession.errors import KapsessionError
from kapsession.monitoring.protocol import builtin_protocols
from kapsession.session.live import LiveSession, SessionPlan, SessionService, current_notes
from kapsession.storage import audit, security_settings
from kapsession.storage.store import Store

from .conftest import T0

# --- the security settings file ----------------------------------------------------------------


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_any_settings_file_gives_usable_settings(tmp_path: Path, raw: bytes) -> None:
    (tmp_path / security_settings.SETTINGS_FILE).write_bytes(raw)
    _assert_usable(security_settings.load(tmp_path))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    doc=st.dictionaries(
        st.sampled_from(["encryption", "pin_hash", "idle_minutes", "other"]), json_values
    )
)
def test_any_settings_values_give_usable_settings(tmp_path: Path, doc: dict[str, object]) -> None:
    (tmp_path / security_settings.SETTINGS_FILE).write_text(json.dumps(doc), encoding="utf-8")
    _assert_usable(security_settings.load(tmp_path))


def _assert_usable(found: security_settings.SecuritySettings) -> None:
    assert found.encryption in (None, "on", "declined")
    assert found.pin_hash is None or found.pin_hash.startswith("$argon2id$")
    assert 0.05 <= found.idle_minutes <= 240
    assert found.idle_ms > 0


# --- the command line ----------------------------------------------------------------------------

TOKENS = [
    "sessions",
    "export",
    "handout",
    "verify",
    "backup",
    "restore",
    "encrypt",
    "passphrase",
    "playlist",
    "check",
    "import",
    "--format",
    "json",
    "md",
    "pdf",
    "fhir",
    "xml",
    "--session",
    "latest",
    "7",
    "-1",
    "--which",
    "preparation",
    "integration",
    "--data-dir",
    "/nonexistent",
    "-o",
    "--to",
    "--yes",
    "--rehearsal",
    "--time-scale",
    "0",
    "60",
    "1e9",
    "nan",
    "--smoke",
    "--planned-minutes",
    "--phases",
    "--minutes",
    "--help-not",
    "",
    "é",
    "\x00x",
]


@settings(max_examples=300)
@given(argv=st.lists(st.sampled_from(TOKENS) | st.text(max_size=6), max_size=7))
def test_any_command_line_parses_or_is_refused_with_exit_2(argv: list[str]) -> None:
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args = commands.parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 2
        text = err.getvalue()
        assert text.startswith("kapsession: ") and text.count("\n") == 1, text
        return
    if args.time_scale is not None:
        assert args.rehearsal and args.time_scale > 0
    if args.command:
        assert not (args.rehearsal or args.smoke)


# --- a whole session, stateful ---------------------------------------------------------------------

NOTE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40
).filter(lambda s: s.strip() != "")
VITALS = st.sampled_from(
    ["128/82 76 98", "150/95 110 93 16", "118/70 64 99 14 36.8", "300/20 1 1", "abc", "120/80"]
)


class SessionMachine(RuleBasedStateMachine):
    """The model: what the therapist saw saved. The system: a real SQLite file, a fake clock,
    and crashes that drop the process's objects without closing anything."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="kap-stateful-"))
        self.clock = FakeClock(T0)
        self.protocols = builtin_protocols()
        self.store = Store.open(self.tmp / "data")
        service = self._service()
        record = service.plan(SessionPlan("C-900", "sublingual", "sublingual", 200.0, 75))
        self.live: LiveSession = service.give_dose(record.id)
        self.notes: dict[int, str] = {}  # seq -> the latest text the therapist saw saved
        self.crashes = 0
        self.rolled_back = 0  # entries written, never committed, gone after the reopening

    def _service(self) -> SessionService:
        return SessionService(self.store, self.clock, "Europe/Berlin", "tester", self.protocols)

    @rule(text=NOTE_TEXT)
    def note(self, text: str) -> None:
        try:
            event = self.live.add_note(text)
        except KapsessionError:
            return  # refused: nothing stored, nothing shown
        self.notes[event.seq] = str(event.data["text"])

    @precondition(lambda self: bool(self.notes))
    @rule(data=st.data(), text=NOTE_TEXT)
    def amend(self, data: st.DataObject, text: str) -> None:
        seq = data.draw(st.sampled_from(sorted(self.notes)))
        try:
            event = self.live.amend_note(seq, text, (), "a correction")
        except KapsessionError:
            return
        self.notes[seq] = str(event.data["text"])

    @rule(entry=VITALS)
    def vitals(self, entry: str) -> None:
        with contextlib.suppress(KapsessionError):  # impossible values are refused whole
            self.live.add_vitals(entry)

    @rule(seconds=st.floats(min_value=0.5, max_value=900))
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.live.tick()
        self.live.evaluate_checks()

    @rule(text=NOTE_TEXT)
    def crash_mid_save_and_reopen(self, text: str) -> None:
        """Killed mid-save: a note is written inside a transaction that never commits, and the
        connection goes away without COMMIT (as when the process dies); the next launch opens
        the file with a new Store and finds the uncommitted note rolled back."""
        self.crashes += 1
        conn = self.store.db.conn
        before = self._event_rows(conn)
        conn.execute("BEGIN IMMEDIATE")
        with contextlib.suppress(KapsessionError):  # a refused note writes nothing anyway
            self.live.add_note(text)  # never committed: never shown as saved
        pending = self._event_rows(conn) - before
        conn.close()  # no COMMIT: SQLite rolls the transaction back
        self.clock.advance(30)
        self.store = Store.open(self.tmp / "data")
        assert self._event_rows(self.store.db.conn) == before, "uncommitted work survived"
        self.rolled_back += pending
        resumed = self._service().resume()
        assert resumed is not None, "the running session resumes"
        self.live = resumed
        self.live.evaluate_checks()

    @staticmethod
    def _event_rows(conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])

    @invariant()
    def every_saved_note_is_there_with_its_latest_text(self) -> None:
        shown = {
            note.seq: str((latest or note).data["text"])
            for note, latest in current_notes(self.live.events())
        }
        assert shown == self.notes

    @invariant()
    def no_check_is_due_twice(self) -> None:
        due = [
            (e.kind, e.data.get("check"))
            for e in self.live.events()
            if e.kind in ("check_due", "check_missed")
        ]
        assert len(due) == len(set(due)), due

    def teardown(self) -> None:
        conn = self.store.db.conn
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        report = audit.verify(conn)
        assert report.ok, [str(p) for p in report.problems]
        gaps = [e for e in self.live.events() if e.kind == "gap"]
        assert len(gaps) == self.crashes  # each reopening is on the timeline, once
        SEEN.update({"crashes": self.crashes, "rolled back": self.rolled_back})
        self.store.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


# 15 whole sessions under the dev profile, 100 under ci (tests/conftest.py).
CI = settings.default.max_examples >= settings.get_profile("ci").max_examples
STATEFUL = settings(max_examples=100 if CI else 15, stateful_step_count=25, deadline=None)
SEEN: Counter[str] = Counter()


def test_any_session_keeps_its_invariants() -> None:
    SEEN.clear()
    run_state_machine_as_test(SessionMachine, settings=STATEFUL)
    # The crashes were real: uncommitted notes were written and then found rolled back.
    assert SEEN["crashes"] >= 5 and SEEN["rolled back"] >= 5, SEEN
