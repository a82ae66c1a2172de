"""Windows remember their size and place between openings, through the Settings handed in."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QWidget

from kapsession.clock import FakeClock
from kapsession.storage.store import Store
from ui.review import CourseWindow, ReviewWindow
from ui.settings import Settings


def test_a_window_reopens_with_the_size_it_was_closed_with(qtbot) -> None:
    settings = Settings()
    first = QWidget()
    qtbot.addWidget(first)
    settings.restore_geometry(first, "test-window", 900, 500)
    assert (first.width(), first.height()) == (900, 500)  # nothing saved yet: the default
    first.resize(700, 420)
    first.show()
    settings.remember_geometry(first, "test-window")

    second = QWidget()
    qtbot.addWidget(second)
    Settings().restore_geometry(second, "test-window", 900, 500)
    assert (second.width(), second.height()) == (700, 420)


def test_the_review_and_the_course_keep_their_size_in_the_settings_handed_in(
    qtbot, store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    from bench.review_data import demo_course

    sessions = demo_course(store, clock)
    kept = QSettings(str(tmp_path / "handed-in.ini"), QSettings.Format.IniFormat)
    settings = Settings(kept)
    review = ReviewWindow(store, sessions[0].record.id, settings=settings)
    review.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)  # qtbot closes it
    qtbot.addWidget(review)
    assert (review.width(), review.height()) == (1280, 800)  # nothing saved yet
    review.resize(700, 480)  # within the offscreen screen (800 x 600)
    review.show()
    review.close()
    course = CourseWindow(store, "C-031", lambda _id: None, settings=settings)
    course.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    qtbot.addWidget(course)
    assert (course.width(), course.height()) == (1200, 420)
    course.resize(600, 300)
    course.show()
    course.close()
    assert set(kept.allKeys()) == {"review/geometry", "course/geometry"}

    again = ReviewWindow(store, sessions[0].record.id, settings=Settings(kept))
    again.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    qtbot.addWidget(again)
    # The height it was closed with (the offscreen screen may narrow its width; not the 1280 x 800
    # it opens with the first time).
    assert again.height() == 480 and again.width() < 1280
    assert QSettings().value("review/geometry") is None  # not the app-wide settings
