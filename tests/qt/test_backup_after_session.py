"""Automatic backups from the app: ending a session writes a verified backup (off the GUI thread
in the app; here through the synchronous executor) and puts it on the audit trail; a backup that
cannot be written is reported, not swallowed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kapsession.clock import FakeClock
from kapsession.session.live import LiveSession
from kapsession.storage import backup
from kapsession.storage.store import Store
from ui import app
from ui.backup_runner import BackupRunner
from ui.executor import SynchronousExecutor
from ui.main_window import MainWindow


def test_ending_a_session_writes_a_verified_backup(
    qtbot, make_window: Callable[..., MainWindow], live: LiveSession, store: Store, tmp_path: Path
) -> None:
    target = tmp_path / "chosen-backups"
    window = make_window(lambda _title, _text: True)
    window.settings.backup_folder = str(target)
    runner = app._backups(window, store, tmp_path / "data", SynchronousExecutor())
    assert runner.target == target
    window.show_live(live)
    assert window.live_view is not None
    record = live.end("drill")

    with qtbot.waitSignal(runner.written, timeout=30_000):
        window.live_view.ended.emit(record)

    (made,) = backup.backups_in(target)
    verified = backup.verify_file(made)
    assert verified.problems == []
    assert verified.rows == len(store.events(live.record.id)) + 2  # + the client and session
    last = store.db.execute("SELECT action, detail FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    assert last[0] == "backup" and last[1].startswith(made.name)
    assert window.live_view is None, "the home screen is back"
    assert window.home.form_status.text() == (
        f"Session #{record.id} ended and saved. Backup written and verified."
    )
    # A second look right after is not due: one backup per session end or per day.
    assert runner.start(after_session=False) is False


def test_a_backup_that_cannot_be_written_is_reported(
    qtbot, store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    runner = BackupRunner(
        store, tmp_path / "data", blocker / "backups", clock, SynchronousExecutor()
    )
    with qtbot.waitSignal(runner.failed, timeout=30_000) as failed:
        assert runner.start(after_session=True)
    assert failed.args is not None
    assert failed.args[0].startswith("Cannot create the backup folder")
    # The drive is still missing an hour later: no new attempt (and no new message) until
    # RETRY_AFTER_FAILURE has passed, except after a session.
    clock.advance(3600)
    assert runner.start(after_session=False) is False
    clock.advance(6 * 3600)
    with qtbot.waitSignal(runner.failed, timeout=30_000):
        assert runner.start(after_session=False)
