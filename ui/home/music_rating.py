"""The client's view of the music (issue 17): three 0-10 ratings, liking, resonance and openness,
with the words of each scale. The same three fields sit in the integration worksheet and in the
home screen's quick form (Alt+R on an ended session); both save through the core's
``save_music_rating``/``save_worksheet``, which checks every value before anything is written.

Number keys work: a field selects its text when it gets the focus, so typing 7 (or 10) sets it;
"–" means not asked (Delete clears a field back to it)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from kapsession.clock import Clock
from kapsession.errors import InvalidEntry
from kapsession.integration.worksheet import (
    current_worksheet,
    is_signed,
    save_music_rating,
    session_arc,
)
from kapsession.music.rating import HIGHEST, LOWEST, SCALES, MusicRating, rating_line
from kapsession.storage.store import Event, Store

from ..plain_text import plain_label
from .record_dialog import RecordDialog, saved_on

NOT_ASKED = LOWEST - 1
_MNEMONIC = {"liking": "&Liking", "resonance": "&Resonance", "openness": "&Openness"}


class RatingSpin(QSpinBox):
    """0-10, or "–" (not asked); the whole text is selected on focus so a digit replaces it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(NOT_ASKED, HIGHEST)
        self.setSpecialValueText("–")
        self.setValue(NOT_ASKED)
        self.setButtonSymbols(QSpinBox.ButtonSymbols.UpDownArrows)
        self.setMinimumWidth(72)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.selectAll()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and (
            self.lineEdit().selectedText() == self.text()
        ):
            self.setValue(NOT_ASKED)
            self.selectAll()
            return
        super().keyPressEvent(event)


class RatingFields(QGroupBox):
    """The three ratings with their questions and anchors."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("The client's view of the music (0–10; – not asked)", parent)
        self.spins: dict[str, RatingSpin] = {}
        grid = QGridLayout(self)
        for row, (key, question, low, high) in enumerate(SCALES):
            label = plain_label(f"{_MNEMONIC[key]}  {question}")
            spin = RatingSpin()
            spin.setAccessibleName(f"{key.capitalize()}: {question} 0 {low}, 10 {high}")
            anchors = plain_label(f"0 {low} … 10 {high}")
            anchors.setProperty("role", "muted")
            label.setBuddy(spin)
            spin.valueChanged.connect(self.changed)
            grid.addWidget(label, row, 0)
            grid.addWidget(spin, row, 1)
            grid.addWidget(anchors, row, 2)
            self.spins[key] = spin
        grid.setColumnStretch(2, 1)

    def values(self) -> tuple[int, ...]:
        return tuple(spin.value() for spin in self.spins.values())

    def show_rating(self, rating: MusicRating | None) -> None:
        for key, spin in self.spins.items():
            spin.setValue(NOT_ASKED if rating is None else rating.value(key))

    def asked(self) -> bool:
        return any(v != NOT_ASKED for v in self.values())

    def raw(self) -> dict[str, object]:
        """What was typed, for the core's check ("" for a field left at "–")."""
        return {k: ("" if s.value() == NOT_ASKED else s.value()) for k, s in self.spins.items()}

    def rating(self, arc_id: str, arc_name: str) -> MusicRating | None:
        """None when none of the three was asked; InvalidEntry (naming the field) when only
        some were."""
        if not self.asked():
            return None
        for key, spin in self.spins.items():
            if spin.value() == NOT_ASKED:
                raise InvalidEntry(
                    f"{key.capitalize()}: give a whole number from {LOWEST} to {HIGHEST} "
                    "(or leave all three ratings at –)."
                )
        values = {k: s.value() for k, s in self.spins.items()}
        return MusicRating(arc_id=arc_id, arc_name=arc_name, **values)


class MusicRatingDialog(RecordDialog):
    """The quick form: the three ratings for an ended session, saved as a new worksheet version
    (its answers kept). Ctrl+S or Enter saves; Esc closes (asking when something is unsaved)."""

    def __init__(
        self,
        store: Store,
        session_id: int,
        clock: Clock,
        tz: str,
        author: str,
        elapsed: Callable[[], float] | None = None,
        confirm: Callable[[str, str], bool] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            "music ratings", store, session_id, clock, tz, author, None, confirm, parent
        )
        record = self.record
        self.setWindowTitle(f"Music ratings · {record.client_code} · session #{record.id}")
        current = current_worksheet(store, session_id)
        self._last: MusicRating | None = current[0].music if current else None
        self._event: Event | None = current[1] if current and self._last else None
        if self._last is not None and (self._last.arc_id or self._last.arc_name):
            self._arc = (self._last.arc_id, self._last.arc_name)
        else:
            self._arc = session_arc(store, session_id)
        self.fields = RatingFields()
        arc = self._arc[1] or self._arc[0] or "no arc"
        header = plain_label(f"How the client found the music · {record.client_code} · arc {arc}")
        header.setStyleSheet("font-weight: bold;")
        self.last_line = plain_label()
        self.last_line.setProperty("role", "muted")
        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton("Save  Ctrl+S", QDialogButtonBox.ButtonRole.ActionRole)
        self.save_button.setDefault(True)  # Enter saves
        self.save_button.clicked.connect(self.save)
        close = buttons.addButton("Close  Esc", QDialogButtonBox.ButtonRole.RejectRole)
        close.setAutoDefault(False)
        buttons.rejected.connect(self.reject)
        footer = QHBoxLayout()
        footer.addWidget(self.status, 1)
        footer.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(self.fields)
        layout.addWidget(self.last_line)
        layout.addLayout(footer)
        self.fields.show_rating(self._last)
        self._show_last()
        self.fields.changed.connect(self._on_edited)
        self.fields.spins["liking"].setFocus()

    def _show_last(self) -> None:
        if self._last is None or self._event is None:
            text = "Not rated yet."
        else:
            text = f"Saved {saved_on(self._event)}: {rating_line(self._last)}"
        if is_signed(self.store, self.session_id):
            text += " The session is signed: its record takes no new ratings (only amendments)."
        self.last_line.setText(text)

    def _value(self) -> object:
        return self.fields.values()

    def _saved(self) -> object:
        if self._last is None:
            return (NOT_ASKED,) * len(SCALES)
        return tuple(self._last.value(key) for key, *_ in SCALES)

    def _versions(self) -> int:
        return 0 if self._last is None else 1

    def _write(self) -> Event:
        if not self.fields.asked():
            raise InvalidEntry("Liking: give a whole number from 0 to 10.")
        values = {**self.fields.raw(), "arc_id": self._arc[0], "arc_name": self._arc[1]}
        event = save_music_rating(
            self.store, self.session_id, values, self.clock.now(), self.tz, self.author
        )
        current = current_worksheet(self.store, self.session_id)
        self._last = current[0].music if current else None
        self._event = event
        return event

    def _after_save(self, event: Event) -> None:
        self._show_last()
