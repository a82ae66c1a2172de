"""The live screen's medication line (Alt+D): "ondansetron 4 mg SL lot A12", Enter saves, Esc
cancels; and the running ketamine total beside the vitals ("Ketamine 150 mg · 2.14 mg/kg").

Like the vitals line: a refused entry keeps its text and says why; a saved one closes the field.
An unlisted medicine is saved with its warning said on the status line."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit

from kapsession.session.live import LiveSession

from ..plain_text import plain_label
from .saving import save_or_say


def medication_field() -> QLineEdit:
    field = QLineEdit()
    field.setPlaceholderText(
        "Medication: ondansetron 4 mg SL lot A12  (medicine, dose, unit, route; lot; "
        "at T+MM:SS if earlier) · Enter saves · Esc cancels"
    )
    field.setAccessibleName("Medication entry")
    field.setStyleSheet("font-size: 14pt; padding: 8px;")
    field.setVisible(False)
    return field


def total_label() -> QLabel:
    label = plain_label()
    label.setProperty("role", "muted")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setAccessibleName("Ketamine total")
    return label


class MedicationLine:
    """The field and the total; ``focus_note`` gives the note field its focus back and
    ``after_save`` refreshes the screen (the alert banner shows a ceiling alert at once)."""

    def __init__(
        self,
        live: LiveSession,
        say: Callable[[str], None],
        focus_note: Callable[[], None],
        after_save: Callable[[], None] = lambda: None,
    ) -> None:
        self.live, self._say, self._focus_note = live, say, focus_note
        self._after_save = after_save
        self.field = medication_field()
        self.total = total_label()
        self.field.returnPressed.connect(self._on_entered)

    def open(self) -> None:
        self.field.setVisible(True)
        self.field.setFocus()

    def close(self) -> None:
        # Focus first (as the vitals line): hiding the focused field would pass focus on.
        self._focus_note()
        self.field.clear()
        self.field.setVisible(False)

    def refresh(self) -> None:
        self.total.setText(self.live.medication.total_text())

    def _on_entered(self) -> None:
        text = self.field.text()
        if not text.strip():
            self.close()
            return
        if save_or_say(lambda: self.live.add_medication(text), "medication", self._say):
            self.close()
            warnings = self.live.medication.warnings
            if warnings:
                self._say("Saved. " + " ".join(warnings))
        else:
            self.field.setFocus()
        self.refresh()
        self._after_save()
