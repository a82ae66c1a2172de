"""The live screen's keys, as one table: every key names an action the screen offers. The
table is what F1 and the README list; `bind_keys` connects it to a screen's actions."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget

from kapsession.session.notes import TAGS

KEYS: tuple[tuple[str, str], ...] = (
    ("Esc", "escape"),
    ("F1", "help"),
    ("Ctrl+E", "amend"),
    ("Ctrl+Shift+E", "end"),
    ("Alt+V", "vitals_line"),
    ("Alt+Shift+V", "vitals_form"),
    ("Alt+O", "observe"),
    ("Alt+Q", "quick_event"),
    ("Alt+S", "snooze"),
    ("Alt+K", "skip"),
    ("Alt+A", "acknowledge"),
    ("Alt+C", "chime"),
    ("Alt+M", "silence"),
    ("Alt+P", "pause"),
    ("Alt+N", "next_track"),
    ("Alt+=", "louder"),
    ("Alt++", "louder"),
    ("Alt+-", "softer"),
    ("Alt+Up", "previous_note"),
    ("Alt+Down", "next_note"),
    *((f"Alt+{i}", f"tag:{tag}") for i, (tag, _letter, _label) in enumerate(TAGS, start=1)),
)


def bind_keys(widget: QWidget, actions: Mapping[str, Callable[[], object]]) -> None:
    """Every key of the table, active while the focus is anywhere in `widget`."""
    for keys, name in KEYS:
        shortcut = QShortcut(QKeySequence(keys), widget)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(actions[name])
