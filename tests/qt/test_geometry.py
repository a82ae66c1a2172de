"""Windows remember their size and place between openings."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from ui import geometry


def test_a_window_reopens_with_the_size_it_was_closed_with(qtbot) -> None:
    first = QWidget()
    qtbot.addWidget(first)
    geometry.restore(first, "test-window", 900, 500)
    assert (first.width(), first.height()) == (900, 500)  # nothing saved yet: the default
    first.resize(700, 420)
    first.show()
    geometry.remember(first, "test-window")

    second = QWidget()
    qtbot.addWidget(second)
    geometry.restore(second, "test-window", 900, 500)
    assert (second.width(), second.height()) == (700, 420)
