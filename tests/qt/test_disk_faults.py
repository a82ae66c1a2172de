"""Fault drill: the disk fills up in the middle of a live session.

The data folder is a small real tmpfs (mounted here as root; skipped where mounting is not
permitted) holding a real Store, plaintext and SQLCipher-encrypted. A filler file takes every
free byte; the therapist types a note and presses Enter: the live screen says NOT_SAVED, the
text stays in the field, nothing is added to the stream, and every entry saved before is still
there. Once space is freed, Enter again saves that note exactly once. Afterwards the database
passes integrity_check and `kapsession verify` reports it whole."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from monitorhelpers import open_view
from PySide6.QtCore import Qt
from qthelpers import stream_texts

from kapsession import cli, keys
from kapsession.clock import FakeClock
from kapsession.paths import DB_NAME
from kapsession.session import SessionPlan, SessionService
from kapsession.store import Store
from ui.live_view import NOT_SAVED, LiveView

PASS = "orchard pebble winter song"
FAST = keys.KdfParams(time_cost=1, memory_cost_kib=1024, parallelism=1)
SIZE = "4m"


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small-disk"
    mount.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", str(mount)],
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip("mount is not available here")
    if done.returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here (needs root)")
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(folder: Path) -> Path:
    """Take every free byte of the file system (what a runaway download or a full disk does)."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for size in (1 << 16, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def _enter(qtbot, view: LiveView, text: str) -> None:
    view.note.setText(text)
    qtbot.keyClick(view.note, Qt.Key.Key_Return)


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_a_full_disk_mid_session_keeps_the_note_and_the_retry_saves_it_once(
    qtbot,
    tmpfs: Path,
    clock: FakeClock,
    encrypted: bool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmpfs / "data"
    folder.mkdir()
    key = keys.create_key(folder, PASS, FAST) if encrypted else None
    store = Store.open(folder, key=key)
    try:
        service = SessionService(store, clock, "Europe/Berlin", "therapist")
        live = service.give_dose(
            service.plan(SessionPlan("C-FULL", "KAP sublingual", "sublingual", 200.0, 75)).id
        )
        view = open_view(qtbot, live)
        saved = []
        for i in range(20):
            clock.advance(30)
            _enter(qtbot, view, f"before the disk filled {i}")
            assert view.note.text() == "" and view.status.text() == ""
            saved.append(f"before the disk filled {i}")
        # The WAL emptied into the database: the next entry needs new space on the disk.
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        filler = _fill(tmpfs)
        shown = stream_texts(view.stream)

        failures = 0
        for attempt in range(3):  # pressing Enter again while the disk is still full
            clock.advance(10)
            view._on_tick()  # the clock keeps running; its heartbeat cannot be written
            _enter(qtbot, view, "the note typed while the disk was full")
            assert view.status.text() == NOT_SAVED, attempt
            assert view.note.text() == "the note typed while the disk was full"
            failures += 1
        assert stream_texts(view.stream) == shown
        notes = [e.data["text"] for e in live.events() if e.kind == "note"]
        assert notes == saved

        filler.unlink()  # space freed
        qtbot.keyClick(view.note, Qt.Key.Key_Return)  # the text is still there: retry
        assert view.status.text() == "" and view.note.text() == ""
        notes = [e.data["text"] for e in live.events() if e.kind == "note"]
        assert notes == [*saved, "the note typed while the disk was full"]
        _enter(qtbot, view, "after the disk was freed")
        view.stop()
        assert failures == 3
    finally:
        store.close()

    # Reopened from disk: every note once, the database whole, the audit chain whole.
    reopened = Store.open(folder, key=key)
    try:
        texts = [e.data["text"] for e in reopened.events_of_kind("note")]
        assert texts == [
            *saved,
            "the note typed while the disk was full",
            "after the disk was freed",
        ]
        assert reopened.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        reopened.close()
    if encrypted:
        monkeypatch.setenv(keys.PASSPHRASE_ENV, PASS)
        with (
            closing(sqlite3.connect(f"file:{folder / DB_NAME}?mode=ro", uri=True)) as plain,
            pytest.raises(sqlite3.DatabaseError),
        ):
            plain.execute("SELECT count(*) FROM sqlite_master").fetchone()
    assert cli.main(["verify", "--data-dir", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("OK: integrity ok") and err == "", (out, err)
    assert os.statvfs(tmpfs).f_bavail > 0
