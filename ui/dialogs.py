"""Small dialogs of the live screen: amend a note, end the session, the shortcut list."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from kapsession.errors import KapsessionError
from kapsession.session.notes import TAGS

from .live.shortcuts import LIVE_SHORTCUTS
from .lock_coordinator import LOCK_KEYS
from .plain_text import plain_label

# Keys the window and the other screens bind, listed after the live screen's own (whose
# lines, with the keys they bind, are ui/live/shortcuts.py's table).
ELSEWHERE: tuple[tuple[str, str], ...] = (
    ("Ctrl+R", "Home: review the selected session as one timeline"),
    ("Ctrl+Shift+X", "Home: export the selected session (PDF, handouts, Markdown, JSON, FHIR)"),
    ("Ctrl+Shift+C", "Home: the course of the selected session's client (Enter opens a review)"),
    ("→ / K, ← / J", "Review: next / previous marker; the entry and its amendments show beside"),
    ("+ / − / 0", "Review: zoom in / out around the selection / the whole session"),
    ("Ctrl+F, Enter, F3", "Review: search notes in all sessions, jump to the first / next hit"),
    ("F5 / Ctrl+W", "Review and course: reload (a running session grows) / close"),
    (LOCK_KEYS, "Lock the screen: only the dose clock, phase and check status show (PIN unlocks)"),
    ("Ctrl+Q", "Close the window (a running session continues when you reopen)"),
    ("Alt+P", "Home: prepare the selected session (intention, screening, consent, grounding)"),
    ("Alt+W", "Home: the integration worksheet of the selected session"),
    ("Alt+R", "Home: the client's ratings of the music for the selected ended session"),
    ("Alt+G", "Home: give the dose to the selected planned session (the dose question)"),
    ("Ctrl+Shift+A", "Home: the client answers the chosen questionnaire (the PIN ends it)"),
    ("Ctrl+S", "Preparation / worksheet: save a new version (Esc closes, asking if unsaved)"),
    ("Ctrl+Shift+S", "Home and review: sign or co-sign the ended session (signer, meaning, PIN)"),
)
# What F1 shows, everywhere in the app.
SHORTCUTS: tuple[tuple[str, str], ...] = (
    tuple((line.shown, line.what) for line in LIVE_SHORTCUTS) + ELSEWHERE
)


class AmendDialog(QDialog):
    """A correction is a new entry with a reason; the original stays on the record."""

    def __init__(
        self,
        text: str,
        tags: tuple[str, ...],
        save: Callable[[str, tuple[str, ...], str], object],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Amend note")
        self._save = save
        self.text_edit = QPlainTextEdit(text)
        self.text_edit.setAccessibleName("Corrected note")
        self.text_edit.setTabChangesFocus(True)
        self.reason_edit = QLineEdit()
        self.reason_edit.setAccessibleName("Reason for the amendment")
        self.reason_edit.setPlaceholderText("e.g. typo, wrong client words, added context")
        self.tag_boxes: dict[str, QCheckBox] = {}
        tag_row = QGridLayout()
        for i, (tag, _letter, label) in enumerate(TAGS):
            box = QCheckBox(label)
            box.setChecked(tag in tags)
            self.tag_boxes[tag] = box
            tag_row.addWidget(box, i // 3, i % 3)
        self.error = plain_label()
        self.error.setProperty("role", "status")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Note", self.text_edit)
        form.addRow("Tags", _wrap(tag_row))
        form.addRow("Reason", self.reason_edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._on_save)
        buttons.rejected.connect(self.reject)
        hint = plain_label(
            "The original note stays on the record; this correction is added beside it."
        )
        hint.setProperty("role", "muted")
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(560, 340)
        self.reason_edit.setFocus()

    def _on_save(self) -> None:
        tags = tuple(tag for tag, box in self.tag_boxes.items() if box.isChecked())
        try:
            self._save(self.text_edit.toPlainText(), tags, self.reason_edit.text())
        except KapsessionError as exc:
            self.error.setText(f"Not saved: {exc}")
            return
        self.accept()


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        grid = QGridLayout()
        for row, (keys, what) in enumerate(SHORTCUTS):
            key_label = plain_label(keys)
            key_label.setStyleSheet("font-weight: bold;")
            key_label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
            what_label = plain_label(what)
            what_label.setWordWrap(True)
            grid.addWidget(key_label, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(what_label, row, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(buttons)
        self.resize(640, 380)


def _wrap(inner: QGridLayout | QHBoxLayout) -> QWidget:
    holder = QWidget()
    holder.setLayout(inner)
    return holder
