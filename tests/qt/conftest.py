"""Widget tests run on real Qt, offscreen, with real SQLite stores and a fake clock."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import shiboken6
from helpers.monitoring import mlive, mview, pservice  # noqa: F401 (fixtures for tests/qt)
from helpers.qt import ModalDriver, show_active
from PySide6.QtCore import QCoreApplication, QSettings

from kapsession.clock import FakeClock
from kapsession.session.live import LiveSession, SessionPlan, SessionService
from kapsession.storage.store import Store
from ui.live.screen import LiveView
from ui.main_window import MainWindow


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    s = Store.open(tmp_path / "data")
    yield s
    s.close()


@pytest.fixture
def service(store: Store, clock: FakeClock) -> SessionService:
    return SessionService(store, clock, "Europe/Berlin", "therapist")


@pytest.fixture
def live(service: SessionService) -> LiveSession:
    record = service.plan(
        SessionPlan("C-014", "KAP sublingual", "sublingual", 200.0, 75, "to rest")
    )
    return service.give_dose(record.id)


# --- shared widget fixtures ------------------------------------------------------------------


@pytest.fixture
def view(qtbot, live: LiveSession) -> Iterator[LiveView]:
    v = LiveView(live)
    qtbot.addWidget(v)
    v.resize(1100, 760)
    show_active(qtbot, v)
    yield v
    v.stop()


@pytest.fixture
def modal() -> Iterator[ModalDriver]:
    driver = ModalDriver()
    yield driver
    driver.cancelled = True


@pytest.fixture(autouse=True)
def settings_sandbox(tmp_path: Path) -> Iterator[None]:
    """The window's geometry and the live screen's chime switch live in QSettings: every test
    gets its own, never the user's."""
    old_org = QCoreApplication.organizationName()
    QCoreApplication.setOrganizationName("kapsession-tests")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield
    QCoreApplication.setOrganizationName(old_org)


@pytest.fixture
def make_window(
    qtbot, service: SessionService, clock: FakeClock, tmp_path: Path, settings_sandbox: None
) -> Iterator[Callable[..., MainWindow]]:
    """Builds a shown, active MainWindow whose questions are answered by `confirm`.

    The windows are closed here, while the store is still open (closing a window with a
    running session writes to it), rather than by qtbot after the store fixture closed it."""
    windows: list[MainWindow] = []
    tearing_down = False

    def start_rehearsal(scale: float) -> LiveSession:
        svc = SessionService(service.store, clock, service.tz, service.author)
        return svc.give_dose(svc.plan_rehearsal(scale, clock.now()).id)

    def make(
        confirm: Callable[[str, str], bool],
        start: Callable[[float], LiveSession] = start_rehearsal,
    ) -> MainWindow:
        def ask(title: str, text: str) -> bool:
            return True if tearing_down else confirm(title, text)

        window = MainWindow(service, start, data_dir=tmp_path, smoke=False, confirm=ask)
        windows.append(window)
        show_active(qtbot, window)
        return window

    yield make
    tearing_down = True
    for window in windows:
        if shiboken6.isValid(window):
            window.close()
    windows.clear()
