"""Text from a file or a person (titles, artists, client codes, notes, intentions, protocol
and file names) is shown as text, never read as markup: a QLabel guesses by default, and a
track title such as `<h1 style="font-size:400px">` once stretched the live screen past the
edge of the display."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget


def plain_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """A label that shows its text as it is (a label meant for markup says RichText itself)."""
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def plain_tip(text: str) -> str:
    """A tooltip is always guessed (there is no format to set): escaped and marked up here,
    its text shows as it is."""
    return f"<p style='white-space:pre-wrap'>{html.escape(text)}</p>"
