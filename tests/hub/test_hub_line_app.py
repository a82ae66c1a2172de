"""The clinic hub's line through the app's own path (ui/app.py's _start_hub_sync, the real
MainWindow, the real worker at its real pace) against a real PostgreSQL that is stopped and
started again: the line goes from synced to "offline since … · N waiting" and back to synced."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import run
from PySide6.QtCore import QCoreApplication, QSettings

from kapsession.clock import SystemClock
from kapsession.hub.worker import SyncWorker
from kapsession.session.live import LiveSession, SessionService
from kapsession.storage.store import Store
from tests.hub.conftest import Hub
from ui.app import _start_hub_sync
from ui.main_window import MainWindow


@pytest.fixture
def own_settings(tmp_path: Path) -> Iterator[None]:
    old = QCoreApplication.organizationName()
    QCoreApplication.setOrganizationName("kapsession-tests")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield
    QCoreApplication.setOrganizationName(old)


def test_the_line_goes_offline_with_the_hub_and_back_to_synced(
    qtbot, hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str], own_settings: None
) -> None:
    folder = tmp_path / "room-a"
    Store.open(folder).close()
    code, _, err = run(
        ["hub", "join", "--data-dir", str(folder), "--dsn", hub.room_dsn("a"), "--room", "a",
         "--clinic-key", str(hub.key_file)], capsys
    )  # fmt: skip
    assert (code, err) == (0, "")
    store = Store.open(folder)
    service = SessionService(store, SystemClock(), "UTC", "Test")

    def start_rehearsal(scale: float) -> LiveSession:
        return service.give_dose(service.plan_rehearsal(scale, service.clock.now()).id)

    window = MainWindow(service, start_rehearsal, data_dir=folder, smoke=True)
    qtbot.addWidget(window)
    window.show()
    started: list[SyncWorker] = []
    try:
        _start_hub_sync(window, folder, store, started)
        line = window.hub_line
        qtbot.waitUntil(lambda: line.text() == "clinic hub: synced", timeout=30_000)
        assert line.isVisible()

        hub.cluster.stop()
        try:
            window._on_rehearsal()  # the room goes on: a rehearsal starts with the hub away
            assert window.live_view is not None

            # Every entry of the rehearsal waits (none reached the hub): the count follows what
            # the room commits (the worker recounts on each commit while the hub is away).
            def waits() -> str:
                count = store.conn.execute("SELECT count(*) FROM events").fetchone()[0]
                return f" · {count} waiting"

            qtbot.waitUntil(
                lambda: (
                    line.text().startswith("clinic hub: offline since ")
                    and line.text().endswith(waits())
                ),
                timeout=30_000,
            )
            assert line.tone == "offline" and "on this laptop" in line.detail
            first = line.text()
            view = window.live_view
            qtbot.keyClicks(view.note, "the room is quiet")
            qtbot.keyClick(view.note, "\r")
            qtbot.waitUntil(
                lambda: line.text() != first and line.text().endswith(waits()), timeout=30_000
            )
        finally:
            hub.cluster.start()
        # The worker's own back-off brings it back (5 s, then 10 s: a hang guard, not a timing).
        qtbot.waitUntil(lambda: line.text() == "clinic hub: synced", timeout=60_000)
    finally:
        for worker in started:
            worker.stop()
        window.close()
        store.close()
