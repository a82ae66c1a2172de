"""The window fits a small clinic laptop: a 1366 x 768 screen less a taskbar and a title bar
leaves about 1280 x 680 for the window. Home, live and lock screens must not ask for more
(a minimum past the screen puts the note field or the dose button below its bottom edge)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize

from kapsession.session.live import LiveSession
from ui.main_window import MainWindow

ROOM = QSize(1280, 680)


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
