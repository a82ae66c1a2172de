"""Client mode (issue 18): the laptop handed to the client for one questionnaire. A page of the
main window, as the lock screen is: large type, one item per screen, answered with a number
key or a click on the answer; every other window of the app is put away by the lock's own
machinery (ui/lock_coordinator.py) while it shows. When the run ends (done, or Escape twice)
it is saved (kapsession.integration.client_run) and the main window shows the lock screen: the
clinician's screens come back only with the PIN. Each answer is kept (committed to the data
folder) before the next item shows: a kill or a power cut mid-run loses none."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGridLayout, QPushButton, QVBoxLayout, QWidget

from kapsession.integration.client_run import ClientRun

from .plain_text import plain_label

_KEYS = {
    Qt.Key.Key_Return: "enter",
    Qt.Key.Key_Enter: "enter",
    Qt.Key.Key_Backspace: "backspace",
    Qt.Key.Key_Escape: "escape",
}


class ClientModePage(QWidget):
    finished = Signal()  # the run ended (answered, or stopped): the window saves and locks

    def __init__(
        self,
        run: ClientRun,
        parent: QWidget | None = None,
        keep: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.run = run
        self._keep = keep  # makes the answers so far durable (ClientRun.keep)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName(f"Questionnaire: {run.instrument.name}")
        scale = run.instrument
        self.title = plain_label(scale.title or scale.name)
        self.title.setStyleSheet("font-size: 16pt;")
        self.title.setProperty("role", "muted")
        self.stem = plain_label(scale.stem)
        self.stem.setStyleSheet("font-size: 18pt;")
        self.stem.setWordWrap(True)
        self.progress = plain_label()
        self.progress.setStyleSheet("font-size: 14pt;")
        self.progress.setProperty("role", "muted")
        self.item = plain_label()
        self.item.setStyleSheet("font-size: 30pt; font-weight: bold;")
        self.item.setWordWrap(True)
        self.item.setAccessibleName("Question")
        self.entry = plain_label()
        self.entry.setStyleSheet("font-size: 30pt;")
        self.hint = plain_label()
        self.hint.setStyleSheet("font-size: 14pt;")
        self.hint.setProperty("role", "muted")
        self.hint.setWordWrap(True)
        self.buttons: list[QPushButton] = []
        grid = QGridLayout()
        if run.uses_options:
            for i, option in enumerate(scale.options):
                button = QPushButton(f"{option.value}   {option.text}")
                button.setStyleSheet("font-size: 22pt; padding: 18px; text-align: left;")
                button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys stay the page's
                button.clicked.connect(lambda _=False, v=option.value: self._answer(v))
                grid.addWidget(button, i // 2, i % 2)
                self.buttons.append(button)
        for label in (self.title, self.stem, self.progress, self.item, self.entry, self.hint):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(60, 30, 60, 30)
        layout.addWidget(self.title)
        layout.addWidget(self.stem)
        layout.addStretch(1)
        layout.addWidget(self.progress)
        layout.addWidget(self.item)
        layout.addWidget(self.entry)
        layout.addStretch(1)
        layout.addLayout(grid)
        layout.addWidget(self.hint)
        self.show_item()

    def show_item(self) -> None:
        run, scale = self.run, self.run.instrument
        item = run.item
        if item is None:
            self.progress.setText("")
            self.item.setText("Thank you. Please hand the laptop back.")
            self.entry.setText("")
            self.hint.setText("")
            for button in self.buttons:
                button.setVisible(False)
            return
        self.progress.setText(f"Question {run.progress}")
        self.item.setText(item.shown())
        chosen = run.answers[run.index]
        if run.uses_options:
            self.entry.setText("")
            self.hint.setText(
                f"Press a number from {scale.low} to {scale.high}, or click an answer. "
                "Backspace: the previous question."
            )
            for button, option in zip(self.buttons, scale.options, strict=True):
                button.setProperty("chosen", option.value == chosen)
                button.setDefault(option.value == chosen)
        else:
            shown = run.typed or ("" if chosen is None else str(chosen))
            self.entry.setText(f"{shown or '…'}  (from {scale.low} to {scale.high})")
            self.hint.setText(
                f"Type a number from {scale.low} to {scale.high}, then Enter. "
                "Backspace: correct it, or the previous question."
            )
        if run.stopping:
            self.hint.setText("Press Escape again to stop here and hand the laptop back.")

    def _answer(self, value: int) -> None:
        self.run.answer(value)
        self._after()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        text = _KEYS.get(Qt.Key(event.key()))
        if text is None and event.text().isdigit():
            text = event.text()
        if text is None:
            super().keyPressEvent(event)
            return
        self.run.key(text)
        self._after()

    def _after(self) -> None:
        if self._keep is not None:
            self._keep()  # committed before the next item shows
        self.show_item()
        if self.run.ended:
            self.finished.emit()
