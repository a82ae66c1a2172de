"""The window fits a small clinic laptop: a 1366 x 768 screen less a taskbar and a title bar
leaves about 1280 x 680 for the window. Home, live and lock screens must not ask for more
(a minimum past the screen puts the note field or the dose button below its bottom edge)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QApplication, QPushButton, QScrollArea

from kapsession.clock import FakeClock
from kapsession.integration import measures
from kapsession.session.live import LiveSession, SessionPlan, SessionService
from kapsession.storage import clinicians
from kapsession.storage.store import Store
from ui import theme
from ui.main_window import MainWindow

ROOM = QSize(1280, 680)


@pytest.fixture(autouse=True)
def app_theme() -> Iterator[None]:
    """The app's own theme (its padded buttons and larger type make every screen wider)."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    sheet, palette = app.styleSheet(), app.palette()
    theme.apply(app)
    yield
    app.setStyleSheet(sheet)
    app.setPalette(palette)


def _fits(what: str, hint: QSize) -> None:
    assert hint.width() <= ROOM.width() and hint.height() <= ROOM.height(), (
        f"the {what} asks for at least {hint.width()} x {hint.height()} px"
    )


def test_home_live_and_lock_fit_a_small_laptop_screen(
    qtbot, make_window: Callable[..., MainWindow], live: LiveSession
) -> None:
    window = make_window(lambda _title, _text: True)
    _fits("home screen", window.minimumSizeHint())
    window.show_live(live)
    assert window.live_view is not None
    live.add_vitals("181/84 77 97")  # an alert banner and the trend line take room too
    qtbot.wait(20)
    _fits("live screen", window.minimumSizeHint())
    window.lock()
    qtbot.wait(20)
    _fits("lock screen", window.minimumSizeHint())
    window.unlock()  # a locked window refuses to close: the fixture's close would leave it


def test_a_home_screen_with_many_lists_and_client_mode_still_fit(
    qtbot,
    make_window: Callable[..., MainWindow],
    live: LiveSession,
    service: SessionService,
    store: Store,
    clock: FakeClock,
) -> None:
    """Flagged answers, sessions waiting for a signature and a form each grow the home screen
    (two item-9 prompts and four unsigned sessions asked for 1120 x 836): it scrolls as one
    page instead. Client mode's questionnaire keeps every answer on the screen."""
    who = clinicians.add(store, "A. Rivera", "therapist", "LCSW", "1357", clock.now())
    clinicians.charting_as(store, who)
    live.end(reason="test")
    for _ in range(3):
        plan = SessionPlan("C-014", "KAP sublingual", "sublingual", 200.0, 75, "to rest")
        service.give_dose(service.plan(plan).id).end(reason="test")
    for _ in range(2):
        measures.add_measure(store, None, "C-014", "phq9", [1] * 9, clock)
    window = make_window(lambda _title, _text: True)
    window.home.refresh()
    assert len(window.home.measure_prompts.buttons) == 2
    _fits("home screen with its lists", window.minimumSizeHint())
    # It scrolls down, never sideways: its page is no wider than the room.
    [page_scroll] = window.home.findChildren(QScrollArea)
    page_width = page_scroll.widget().minimumSizeHint().width()
    assert page_width <= ROOM.width(), f"the home page asks for {page_width} px across"
    # The page's scroll area is no Tab stop of its own (the keyboard path through the form
    # stays as it was: scripts/screenshots.py's home scene pressed a button once it was).
    assert page_scroll.focusPolicy() == Qt.FocusPolicy.NoFocus
    window.resize(ROOM)
    window.start_client_mode("C-014", "phq9")
    qtbot.wait(20)
    _fits("client mode", window.minimumSizeHint())
    page = window.client_page
    assert page is not None
    answers = [b for b in page.findChildren(QPushButton) if b.isVisible()]
    assert len(answers) == 4  # 0-3 for a PHQ-9 item
    for button in answers:
        corner = button.mapTo(window, button.rect().bottomRight())
        assert window.rect().contains(corner), f"{button.text()!r} is off the window"
    # Escape twice stops the run (kept as incomplete) and locks; unlocked, the window closes.
    qtbot.keyClick(page, Qt.Key.Key_Escape)
    qtbot.keyClick(page, Qt.Key.Key_Escape)
    assert window.client_page is None and window.locked
    window.unlock()
