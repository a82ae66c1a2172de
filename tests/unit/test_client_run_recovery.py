"""A client-mode run survives the app's death (issue 18): each answer is kept in
open_client_runs (schema m010) as it is given, and the next open of the folder turns a run left
there into an incomplete measure, never scored, audited, in one transaction with removing the
open run; again and again it finds nothing more to do. A run whose instrument changed or was
removed since keeps its answers as given, with the flags they raised then (PHQ-9 item 9)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from kapsession.clock import FakeClock
from kapsession.integration import client_run, measures
from kapsession.integration.client_run import ClientRun, recover_open_runs
from kapsession.integration.instrument import builtin_instruments, instrument
from kapsession.storage import audit
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store
from tests.unit.conftest import T0

PHQ9 = builtin_instruments()["phq9"]
MOOD = (
    '[instrument]\nid = "mood"\nname = "Mood"\nscoring = "sum"\n'
    + '[[items]]\ntext = "I felt low"\n' * 3
    + '[[items]]\ntext = "I felt unsafe"\nflag_above = 0\nflag = "unsafe"\n'
    + "".join(f'[[options]]\nvalue = {v}\ntext = "answer {v}"\n' for v in range(4))
)


def _folder(tmp_path: Path) -> tuple[Store, FakeClock, Path]:
    folder = tmp_path / "data"
    store = Store.open(folder)
    with store.db.atomic():
        store.add_client("K-1", None, False, T0)
    return store, FakeClock(T0), folder


def _open_rows(store: Store) -> list[tuple[object, ...]]:
    return [
        tuple(r)
        for r in store.conn.execute("SELECT instrument, answers, flags FROM open_client_runs")
    ]


def _answer(run: ClientRun, store: Store, clock: FakeClock, keys: str) -> None:
    for key in keys:
        run.key(key)
        run.keep(store, clock)  # what the screen does before it shows the next item


def test_each_answer_is_kept_as_given_and_the_end_removes_it(tmp_path: Path) -> None:
    store, clock, folder = _folder(tmp_path)
    run = ClientRun(PHQ9, "K-1")
    run.keep(store, clock)  # nothing answered yet: nothing written
    assert _open_rows(store) == []
    _answer(run, store, clock, "21")
    assert _open_rows(store) == [("phq9", json.dumps([2, 1] + [None] * 7), "")]
    # kept by another connection: committed, not only in this one's transaction
    other = sqlite3.connect(folder / DB_NAME)
    assert other.execute("SELECT answers FROM open_client_runs").fetchone()[0].startswith("[2, 1")
    other.close()
    _answer(run, store, clock, "1000002")  # the last: item 9 answered 2
    assert _open_rows(store)[0][2] == "self_harm"
    saved = run.save(store, folder, clock)
    assert saved is not None and saved.complete and saved.total == 6
    assert _open_rows(store) == []  # in the save's transaction
    assert recover_open_runs(store, folder, clock) == []
    store.close()


def test_a_run_left_open_becomes_an_incomplete_measure_once_and_audited(
    tmp_path: Path,
) -> None:
    store, clock, folder = _folder(tmp_path)
    run = ClientRun(PHQ9, "K-1")
    _answer(run, store, clock, "210")
    answered = clock.now()
    store.close()  # the app is killed: no save

    clock.advance(86_400)
    again = Store.open(folder)
    [kept] = recover_open_runs(again, folder, clock)
    assert (kept.instrument, kept.complete, kept.total, kept.severity) == ("phq9", False, None, "")
    assert kept.answers == (2, 1, 0, None, None, None, None, None, None)
    assert (kept.source, kept.taken_on) == ("client", answered.astimezone().date().isoformat())
    assert kept.taken_at == "2026-03-02T09:00:00.000Z"  # when it was answered, not recovered
    assert _open_rows(again) == []
    actions = again.conn.execute(
        "SELECT action, detail FROM audit WHERE target = 'measures' AND target_id = ? ORDER BY id",
        [kept.id],
    ).fetchall()
    assert [a for a, _ in actions] == ["create", client_run.RECOVERED]
    assert actions[1][1] == "an interrupted client-mode run, kept as incomplete"
    assert audit.verify(again.conn).ok
    # idempotent: nothing more to do, nothing written
    head = again.audit_head()
    assert recover_open_runs(again, folder, clock) == []
    assert again.audit_head() == head
    [listed] = measures.measures_json(again, folder, "K-1")
    assert "incomplete" in listed["flags"] and listed["total"] is None
    assert measures.course(again, folder, "K-1")[0].points == ()  # never charted as scored
    again.close()


def test_item_9_answered_before_the_kill_still_raises_the_prompt(tmp_path: Path) -> None:
    store, clock, folder = _folder(tmp_path)
    run = ClientRun(PHQ9, "K-1")
    _answer(run, store, clock, "00000000")
    run.key("1")
    run.keep(store, clock)  # item 9 above 0: the run is done but the app dies before the save
    store.close()
    again = Store.open(folder)
    [kept] = recover_open_runs(again, folder, clock)
    assert kept.flags == ("self_harm",) and not kept.complete
    [prompt] = measures.open_prompts(again)
    assert prompt.measure.id == kept.id
    again.close()


def test_a_failed_recovery_leaves_the_open_run_and_writes_nothing(tmp_path: Path) -> None:
    store, clock, folder = _folder(tmp_path)
    run = ClientRun(PHQ9, "K-1")
    _answer(run, store, clock, "3")
    before = store.audit_head()
    store.conn.execute(
        "CREATE TEMP TRIGGER refuse BEFORE INSERT ON measures "
        "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
    )
    with pytest.raises(sqlite3.DatabaseError, match="disk trouble"):
        recover_open_runs(store, folder, clock)
    assert len(_open_rows(store)) == 1 and store.audit_head() == before
    store.conn.execute("DROP TRIGGER temp.refuse")
    assert len(recover_open_runs(store, folder, clock)) == 1
    store.close()


def _clinic_run(tmp_path: Path) -> tuple[Store, FakeClock, Path]:
    store, clock, folder = _folder(tmp_path)
    (folder / "instruments").mkdir()
    (folder / "instruments" / "mood.toml").write_text(MOOD, encoding="utf-8")
    run = ClientRun(instrument(folder, "mood"), "K-1")
    _answer(run, store, clock, "2")
    run.back()  # the client corrects the first answer; then the fourth raises the flag
    _answer(run, store, clock, "1021")
    store.close()
    return Store.open(folder), clock, folder


def test_a_run_of_a_changed_instrument_keeps_its_answers_as_given(tmp_path: Path) -> None:
    store, clock, folder = _clinic_run(tmp_path)
    # The clinic edits its instrument before the app opens again: one item fewer.
    changed = MOOD.replace('[[items]]\ntext = "I felt low"\n', "", 1)
    (folder / "instruments" / "mood.toml").write_text(changed, encoding="utf-8")
    [kept] = recover_open_runs(store, folder, clock)
    assert (kept.instrument, kept.answers, kept.flags) == ("mood", (1, 0, 2, 1), ("unsafe",))
    assert (kept.complete, kept.total) == (False, None)
    detail = store.conn.execute(
        "SELECT detail FROM audit WHERE action = ? AND target_id = ?",
        [client_run.RECOVERED, kept.id],
    ).fetchone()[0]
    assert detail.endswith("its instrument has changed since")
    assert [p.measure.id for p in measures.open_prompts(store)] == [kept.id]
    store.close()


def test_a_run_of_a_removed_instrument_is_kept_too(tmp_path: Path) -> None:
    store, clock, folder = _clinic_run(tmp_path)
    (folder / "instruments" / "mood.toml").unlink()
    [kept] = recover_open_runs(store, folder, clock)
    assert (kept.instrument, kept.answers, kept.flags) == ("mood", (1, 0, 2, 1), ("unsafe",))
    assert _open_rows(store) == []
    [listed] = measures.measures_json(store, folder, "K-1")
    assert listed["answers"] == [1, 0, 2, 1] and "incomplete" in listed["flags"]
    assert audit.verify(store.conn).ok
    store.close()
