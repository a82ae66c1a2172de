"""The fields the therapist types into: the note (always focused when nothing else is edited),
the one-line vitals entry (Alt+V), the tag chips, and the line saying what happened."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QToolButton

from kapsession.session.notes import TAGS

from ..plain_text import plain_label


def note_field() -> QLineEdit:
    note = QLineEdit()
    note.setMaxLength(2_000_000)  # QLineEdit's default 32767 would cut long notes
    note.setPlaceholderText(
        "Type a note and press Enter   ·   q: quote  e: emotion  "
        "b: body  i: image  n: insight  f: for integration"
    )
    note.setAccessibleName("Note")
    note.setStyleSheet("font-size: 14pt; padding: 10px;")
    return note


def vitals_field() -> QLineEdit:
    field = QLineEdit()
    field.setPlaceholderText(
        "Vitals: 128/82 76 98  (BP, HR, SpO2; optionally RR and °C) · Enter saves · Esc cancels"
    )
    field.setAccessibleName("Vitals entry")
    field.setStyleSheet("font-size: 14pt; padding: 8px;")
    field.setVisible(False)
    return field


def last_vitals_label() -> QLabel:
    label = plain_label()
    label.setProperty("role", "muted")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setAccessibleName("Latest vitals and trend from baseline")
    return label


def status_label() -> QLabel:
    label = plain_label()
    label.setProperty("role", "status")
    label.setWordWrap(True)
    label.setAccessibleName("Message")
    return label


def tag_chips() -> dict[str, QToolButton]:
    buttons: dict[str, QToolButton] = {}
    for i, (tag, letter, label) in enumerate(TAGS, start=1):
        button = QToolButton()
        button.setText(label)
        button.setCheckable(True)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setToolTip(f"Alt+{i}, or start the note with {letter}:")
        button.setAccessibleName(f"Tag: {label}")
        buttons[tag] = button
    return buttons
