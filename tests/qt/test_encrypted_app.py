"""The app on an ENCRYPTED data folder: Ctrl+L and the unlock go on the audit trail (wired as
run_gui wires them) and `kapsession verify` stays OK; the automatic backup after a session is
encrypted with the open store's key (never asked for again) and verified with it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import shiboken6
from helpers.qt import show_active
from PySide6.QtCore import Qt

from kapsession.cli import commands
from kapsession.clock import FakeClock
from kapsession.session.live import LiveSession, SessionPlan, SessionService
from kapsession.storage import backup, datakey, security_settings
from kapsession.storage.store import Store, is_plaintext
from ui import app
from ui.executor import SynchronousExecutor
from ui.lock import LockConfig
from ui.main_window import MainWindow

PASS = "orchard pebble winter song"
PIN = "4821"
NOTE = "canary-app-note-pangolin"
FAST = datakey.KdfParams(time_cost=1, memory_cost_kib=1024, parallelism=1)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def estore(folder: Path) -> Iterator[Store]:
    folder.mkdir()
    s = Store.open(folder, key=datakey.create_key(folder, PASS, FAST))
    yield s
    s.close()


@pytest.fixture
def elive(estore: Store, clock: FakeClock) -> LiveSession:
    service = SessionService(estore, clock, "Europe/Berlin", "therapist")
    live = service.give_dose(
        service.plan(SessionPlan("C-ENC", "KAP sublingual", "sublingual", 200.0, 75)).id
    )
    live.add_note(NOTE)
    return live


@pytest.fixture
def ewindow(
    qtbot, estore: Store, clock: FakeClock, folder: Path, settings_sandbox: None
) -> Iterator[MainWindow]:
    pin_hash = security_settings.hash_pin(PIN)
    window = MainWindow(
        SessionService(estore, clock, "Europe/Berlin", "therapist"),
        lambda _scale: pytest.fail("no rehearsal here"),
        data_dir=folder,
        confirm=lambda _title, _text: True,
        screen_lock=LockConfig(lambda typed: security_settings.pin_matches(pin_hash, typed), 0),
    )
    app.audit_locks(window, estore)
    window.resize(1100, 760)
    show_active(qtbot, window)
    yield window
    if shiboken6.isValid(window):
        window.unlock()
        window.close()


def _actions(store: Store) -> list[str]:
    return [r[0] for r in store.db.execute("SELECT action FROM audit ORDER BY id")]


def test_ctrl_l_and_unlock_are_audited_and_verify_stays_ok(
    qtbot,
    ewindow: MainWindow,
    elive: LiveSession,
    estore: Store,
    folder: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ewindow.show_live(elive)
    view = ewindow.live_view
    assert view is not None
    before = _actions(estore)
    qtbot.keyClick(view.note, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert ewindow.locked
    secret = ewindow.lock_screen.secret
    qtbot.keyClicks(secret, PIN)
    qtbot.keyClick(secret, Qt.Key.Key_Return)
    assert not ewindow.locked
    assert _actions(estore)[len(before) :] == ["lock", "unlock"]
    rows = estore.db.execute(
        "SELECT target, detail FROM audit WHERE action IN ('lock', 'unlock')"
    ).fetchall()
    assert rows == [("app", ""), ("app", "")]

    monkeypatch.setenv(datakey.PASSPHRASE_ENV, PASS)
    assert commands.main(["verify", "--data-dir", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.startswith("OK: integrity ok")
    assert not is_plaintext(folder / "kapsession.sqlite3")


def test_the_automatic_backup_of_an_encrypted_store_is_encrypted_with_its_key(
    qtbot,
    ewindow: MainWindow,
    elive: LiveSession,
    estore: Store,
    folder: Path,
    tmp_path: Path,
) -> None:
    target = tmp_path / "chosen-backups"
    ewindow.settings.backup_folder = str(target)
    runner = app._backups(ewindow, estore, folder, SynchronousExecutor())
    ewindow.show_live(elive)
    assert ewindow.live_view is not None
    record = elive.end("drill")
    with qtbot.waitSignal(runner.written, timeout=30_000):
        ewindow.live_view.ended.emit(record)

    (made,) = backup.backups_in(target)
    assert not is_plaintext(made) and NOTE.encode() not in made.read_bytes()
    with (
        closing(sqlite3.connect(f"file:{made}?mode=ro", uri=True)) as plain,
        pytest.raises(sqlite3.DatabaseError),
    ):
        plain.execute("SELECT count(*) FROM sqlite_master").fetchone()
    assert estore.key is not None
    verified = backup.verify_file(made, estore.key)
    assert verified.problems == []
    beside = backup.key_file_beside(made)  # the wrapped key beside the backups, by folder id
    assert datakey.key_from_file(beside, env={datakey.PASSPHRASE_ENV: PASS}) == estore.key
    assert _actions(estore)[-1] == "backup"
