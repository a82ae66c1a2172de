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
from helpers.monitoring import open_view
from helpers.qt import stream_texts
from PySide6.QtCore import Qt

from kapsession.cli import commands
from kapsession.clock import FakeClock
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage import datakey
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store
from ui.live.saving import NOT_SAVED
from ui.live.screen import LiveView

PASS = "orchard pebble winter song"
FAST = datakey.KdfParams(time_cost=1, memory_cost_kib=1024, parallelism=1)
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
    key = datakey.create_key(folder, PASS, FAST) if encrypted else None
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
        # One-line vitals (Alt+V) take the same path: refused, kept in their field.
        qtbot.keyClick(view.note, Qt.Key.Key_V, Qt.KeyboardModifier.AltModifier)
        assert view.vitals_edit.isVisible()
        view.vitals_edit.setText("128/82 76 98")
        qtbot.keyClick(view.vitals_edit, Qt.Key.Key_Return)
        assert view.status.text() == NOT_SAVED
        assert view.vitals_edit.isVisible() and view.vitals_edit.text() == "128/82 76 98"
        assert stream_texts(view.stream) == shown
        notes = [e.data["text"] for e in live.events() if e.kind == "note"]
        assert notes == saved
        assert [e for e in live.events() if e.kind == "vitals"] == []

        filler.unlink()  # space freed
        qtbot.keyClick(view.vitals_edit, Qt.Key.Key_Return)  # still there: retry
        assert not view.vitals_edit.isVisible() and view.status.text() == ""
        qtbot.keyClick(view.note, Qt.Key.Key_Return)  # the text is still there: retry
        assert view.status.text() == "" and view.note.text() == ""
        notes = [e.data["text"] for e in live.events() if e.kind == "note"]
        assert notes == [*saved, "the note typed while the disk was full"]
        vitals = [e.data for e in live.events() if e.kind == "vitals"]
        assert [(v["systolic"], v["diastolic"], v["heart_rate"]) for v in vitals] == [(128, 82, 76)]
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
        monkeypatch.setenv(datakey.PASSPHRASE_ENV, PASS)
        with (
            closing(sqlite3.connect(f"file:{folder / DB_NAME}?mode=ro", uri=True)) as plain,
            pytest.raises(sqlite3.DatabaseError),
        ):
            plain.execute("SELECT count(*) FROM sqlite_master").fetchone()
    assert commands.main(["verify", "--data-dir", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("OK: integrity ok") and err == "", (out, err)
    assert os.statvfs(tmpfs).f_bavail > 0


# --- read-only mid-session ---------------------------------------------------------------------
# Linux refuses `mount -o remount,ro` while a file on the mount is open for writing (EBUSY: tried
# here on tmpfs with the database open), so a data folder never turns read-only under a running
# session by a remount. It does when the kernel remounts a file system read-only after an I/O
# error (ext4 errors=remount-ro, "emergency_ro"): drilled on a real ext4 image through a loop
# device, with the error raised by ext4's own trigger_fs_error.


@pytest.fixture
def ext4(tmp_path: Path) -> Iterator[tuple[Path, Path, str]]:
    image, mount = tmp_path / "disk.img", tmp_path / "ext4-disk"
    mount.mkdir()
    with image.open("wb") as out:
        out.truncate(16 * 1024 * 1024)
    made = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("mkfs.ext4 is not available")
    options = "loop,errors=remount-ro"
    mounted = subprocess.run(["mount", "-o", options, str(image), str(mount)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("mounting a loop device is not permitted here (needs root)")
    device = subprocess.run(
        ["findmnt", "-n", "-o", "SOURCE", str(mount)], capture_output=True, text=True
    ).stdout.strip()
    trigger = Path("/sys/fs/ext4") / Path(device).name / "trigger_fs_error"
    try:
        if not trigger.exists():
            pytest.skip("this kernel has no ext4 trigger_fs_error")
        yield image, mount, str(trigger)
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _options(mount: Path) -> set[str]:
    found = subprocess.run(
        ["findmnt", "-n", "-o", "OPTIONS", str(mount)], capture_output=True, text=True
    )
    return set(found.stdout.strip().split(","))


def test_a_file_system_turned_read_only_mid_session_keeps_the_note_and_loses_nothing(
    qtbot,
    ext4: tuple[Path, Path, str],
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    image, mount, trigger = ext4
    folder = mount / "data"
    folder.mkdir()
    key = datakey.create_key(folder, PASS, FAST)
    store = Store.open(folder, key=key)
    saved: list[str] = []
    try:
        service = SessionService(store, clock, "Europe/Berlin", "therapist")
        live = service.give_dose(
            service.plan(SessionPlan("C-RO", "KAP sublingual", "sublingual", 200.0, 75)).id
        )
        view = open_view(qtbot, live)
        for i in range(10):
            clock.advance(30)
            _enter(qtbot, view, f"before the disk failed {i}")
            assert view.note.text() == ""
            saved.append(f"before the disk failed {i}")
        # A remount is refused while the database is open for writing...
        refused = subprocess.run(["mount", "-o", "remount,ro", str(mount)], capture_output=True)
        assert refused.returncode != 0 and "ro" not in _options(mount)
        # ...the kernel's own remount after an error is not.
        Path(trigger).write_text("kapsession fault drill\n")
        assert {"ro", "emergency_ro"} & _options(mount)
        shown = stream_texts(view.stream)
        for attempt in range(3):
            clock.advance(10)
            view._on_tick()  # the clock keeps running; its heartbeat cannot be written
            _enter(qtbot, view, "the note typed on a read-only disk")
            assert view.status.text() == NOT_SAVED, attempt
            assert view.note.text() == "the note typed on a read-only disk"
        assert stream_texts(view.stream) == shown
        assert view.clock.text().startswith("T+")
        view.stop()
    finally:
        store.close()

    # Repaired and mounted again (a restart of the app): everything saved before is there.
    assert subprocess.run(["umount", str(mount)], capture_output=True).returncode == 0
    fsck = subprocess.run(["e2fsck", "-fy", str(image)], capture_output=True)
    assert fsck.returncode in (0, 1), fsck.stdout
    options = "loop,errors=remount-ro"
    assert subprocess.run(["mount", "-o", options, str(image), str(mount)]).returncode == 0
    reopened = Store.open(folder, key=key)
    try:
        texts = [e.data["text"] for e in reopened.events_of_kind("note")]
        assert texts == saved
        assert reopened.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        reopened.close()
    monkeypatch.setenv(datakey.PASSPHRASE_ENV, PASS)
    assert commands.main(["verify", "--data-dir", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("OK: integrity ok") and err == "", (out, err)
