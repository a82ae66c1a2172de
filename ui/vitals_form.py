"""Vitals as a form, for those who prefer fields to the one-line entry (Alt+V).

Nothing is pre-filled: every field starts empty ("—"), so an untouched field can never be saved
as a plausible-looking value. The core validates exactly as for the one-line entry."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from kapsession.errors import InvalidEntry, KapsessionError
from kapsession.monitoring.vitals import LIMITS, Vitals

from .plain_text import plain_label

_BLANK = "—"


class VitalsForm(QDialog):
    def __init__(self, save: Callable[[Vitals], object], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Vitals")
        self._save = save
        self.fields: dict[str, QSpinBox | QDoubleSpinBox] = {}
        form = QFormLayout()
        for name, limit in LIMITS.items():
            box: QSpinBox | QDoubleSpinBox
            if limit.integer:
                box = QSpinBox()
                box.setRange(int(limit.low) - 1, int(limit.high))
                box.setValue(box.minimum())
            else:
                box = QDoubleSpinBox()
                box.setDecimals(1)
                box.setSingleStep(0.1)
                box.setRange(limit.low - 0.1, limit.high)
                box.setValue(box.minimum())
            # The value just below the plausible range shows as "—": not entered.
            box.setSpecialValueText(_BLANK)
            box.setSuffix(f" {limit.unit}" if limit.unit else "")
            box.setAccessibleName(limit.label)
            form.addRow(limit.label, box)
            self.fields[name] = box
        self.error = plain_label()
        self.error.setProperty("role", "status")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._on_save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.fields["systolic"].setFocus()

    def value(self, name: str) -> int | float | None:
        box = self.fields[name]
        if box.value() == box.minimum():
            return None
        return box.value()

    def _on_save(self) -> None:
        values = {name: self.value(name) for name in self.fields}
        missing = [
            LIMITS[n].label
            for n in ("systolic", "diastolic", "heart_rate", "spo2")
            if values[n] is None
        ]
        try:
            if missing:
                raise InvalidEntry(f"{missing[0]} is required.")
            vitals = Vitals(
                systolic=int(values["systolic"] or 0),
                diastolic=int(values["diastolic"] or 0),
                heart_rate=int(values["heart_rate"] or 0),
                spo2=int(values["spo2"] or 0),
                resp_rate=None if values["resp_rate"] is None else int(values["resp_rate"]),
                temperature=None if values["temperature"] is None else float(values["temperature"]),
            )
            self._save(vitals)
        except KapsessionError as exc:
            self.error.setText(f"Not saved: {exc}")
            return
        self.accept()
