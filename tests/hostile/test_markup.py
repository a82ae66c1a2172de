"""Hostile markup in text that comes from a file or a person (a track title, a client code,
an intention, a note) is shown as text: every label showing it is PlainText, and the live
screen, the home screen and the review stay within the screen (a title of
`<h1 style="font-size:400px">` once stretched the live window far beyond it)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QWidget

from kapsession.clock import FakeClock
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.store import Store
from ui.live.screen import LiveView
from ui.main_window import MainWindow
from ui.messages import _ask
from ui.review import ReviewWindow
from ui.settings import Settings

BIG = '<h1 style="font-size:400px">BIG</h1><img width=5000 height=5000 src="x.png">'
CODE = '<h1 style="font-size:400px">BIG'  # within the 40 characters a code may have
NOTE = f"note {BIG}"
TITLE = f"Track {BIG}"


@pytest.fixture(autouse=True)
def private_settings(tmp_path: Path) -> Iterator[None]:
    """Windows remember their size in QSettings: never in the user's."""
    old = QCoreApplication.organizationName()
    QCoreApplication.setOrganizationName("kapsession-hostile-tests")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield
    QCoreApplication.setOrganizationName(old)


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[SessionService]:
    store = Store.open(tmp_path / "data")
    service = SessionService(store, FakeClock(), "Europe/Berlin", "therapist")
    record = service.plan(SessionPlan(CODE, "KAP sublingual", "sublingual", 200.0, 75, BIG))
    live = service.give_dose(record.id)
    live.add_note(NOTE)
    yield service
    store.close()


def labels_showing(root: QWidget, text: str) -> list[QLabel]:
    return [
        label
        for label in root.findChildren(QLabel)
        if text in label.text() and label.isVisibleTo(root)
    ]


def within_screen(window: QWidget) -> None:
    """Read as markup, the heading alone asks for 400 px of height and the image for 5000 px
    of width; as text, the window fits the (800 x 800 offscreen) screen's height, and its
    width is that of one line of text."""
    screen = window.screen().availableGeometry()
    hint = window.minimumSizeHint()
    assert hint.height() <= screen.height() and hint.width() < 2000
    assert window.height() <= screen.height()


def all_plain(labels: list[QLabel]) -> None:
    assert labels, "the check found no label showing the hostile text"
    assert [lb.textFormat() for lb in labels] == [Qt.TextFormat.PlainText] * len(labels)
    for label in labels:
        assert label.sizeHint().height() < 200  # one or two lines, not a 400 px heading


def test_the_live_screen_shows_titles_codes_and_intentions_as_text(
    qtbot, hostile: SessionService
) -> None:
    running = hostile.store.running_session()
    assert running is not None
    view = LiveView(hostile.resume() or pytest.fail("no session"))
    qtbot.addWidget(view)
    view.show()
    view.music_line.setText(TITLE)  # what the music line shows for a track of that title
    view.music_line.setVisible(True)
    qtbot.waitExposed(view)
    all_plain(labels_showing(view, "BIG"))
    assert view.music_line.textFormat() == Qt.TextFormat.PlainText
    within_screen(view)
    view.stop()


def test_the_home_screen_and_the_review_show_the_client_code_as_text(
    qtbot, hostile: SessionService, tmp_path: Path
) -> None:
    window = MainWindow(
        hostile, lambda _s: pytest.fail("no rehearsal"), tmp_path, confirm=lambda *_: True
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    within_screen(window)

    running = hostile.store.running_session()
    assert running is not None
    review = ReviewWindow(hostile.store, running.id, settings=Settings())
    qtbot.addWidget(review)
    review.show()
    qtbot.waitExposed(review)
    all_plain(labels_showing(review, "BIG"))
    within_screen(review)
    review.search.setText("BIG")
    qtbot.keyClick(review.search, Qt.Key.Key_Return)
    all_plain(labels_showing(review, "BIG"))  # the results line repeats the query


def test_a_message_naming_a_file_shows_its_name_as_text(qtbot) -> None:
    formats: list[Qt.TextFormat] = []

    def look() -> None:  # inside the box's exec(): note its format, then close it
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            formats.append(box.textFormat())
            box.reject()

    QTimer.singleShot(0, look)
    _ask(None, QMessageBox.Icon.Warning, "kapsession", f"Cannot read {TITLE}.m3u")
    assert formats == [Qt.TextFormat.PlainText]
