"""The home screen's box of flagged answers waiting for a clinician (issue 18): PHQ-9 item 9
answered above 0 shows here, in the alert colour, until the charting clinician acknowledges it
(recorded with their name, kapsession.integration.measures.acknowledge)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kapsession.clock import Clock
from kapsession.integration import measures
from kapsession.storage.store import Store

from .. import theme
from ..plain_text import plain_label
from .status_line import guarded, say


class MeasurePrompts(QGroupBox):
    acknowledged = Signal(int)  # the measure's id

    def __init__(self, store: Store, clock: Clock) -> None:
        super().__init__("Answers that need a clinician")
        self.store, self.clock = store, clock
        self.setAccessibleName("Answers that need a clinician")
        self.setStyleSheet(f"QGroupBox {{ border: 2px solid {theme.ALERT}; }}")
        self._list: QWidget | None = None
        self.status = plain_label()
        self._outer = QVBoxLayout(self)
        self._outer.addWidget(self.status)
        self.buttons: list[QPushButton] = []

    def refresh(self) -> None:
        # The rows are rebuilt: a handful at most, and only on refresh.
        if self._list is not None:
            self._list.setParent(None)
            self._list.deleteLater()
        self._list = QWidget()
        self._rows = QVBoxLayout(self._list)
        self._rows.setContentsMargins(0, 0, 0, 0)
        self._outer.insertWidget(0, self._list)
        self.buttons = []
        prompts = measures.open_prompts(self.store)
        for prompt in prompts:
            row = QHBoxLayout()
            label: QLabel = plain_label(prompt.text())
            label.setProperty("role", "alert")
            label.setWordWrap(True)
            button = QPushButton("Acknowledge")
            button.setAccessibleName(f"Acknowledge: {prompt.text()}")
            ident = prompt.measure.id
            button.clicked.connect(lambda _=False, i=ident: self.acknowledge(i))
            row.addWidget(label, 1)
            row.addWidget(button)
            self._rows.addLayout(row)
            self.buttons.append(button)
        self.setVisible(bool(prompts))

    def lines(self) -> list[str]:
        return [p.text() for p in measures.open_prompts(self.store)]

    def acknowledge(self, measure_id: int) -> None:
        def act() -> None:
            done = measures.acknowledge(self.store, measure_id, self.clock)
            self.refresh()
            self.acknowledged.emit(measure_id)
            say(self.status, f"Acknowledged by {done.acknowledged_by}.")

        guarded(act, self.status)
