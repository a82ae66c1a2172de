"""Dialogs the therapist opens on purpose during monitoring: ending with the discharge check,
observations (one key per answer), quick events, and a snooze or skip with its reason.

None of them ever opens by itself: a check coming due only changes the badge on the live screen."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from kapsession.errors import KapsessionError
from kapsession.monitoring.discharge import ITEMS, PASS_MARK, assess, can_end_complete
from kapsession.monitoring.observations import QUICK_EVENTS, Scale
from kapsession.storage.schema import ROUTES

from .format import t_plus
from .plain_text import plain_label


def _muted(text: str) -> QLabel:
    label = plain_label(text)
    label.setProperty("role", "muted")
    label.setWordWrap(True)
    return label


def _error_label() -> QLabel:
    label = plain_label()
    label.setProperty("role", "status")
    label.setWordWrap(True)
    label.setAccessibleName("Message")
    return label


class EndDialog(QDialog):
    """End the session: the modified Aldrete discharge check, the ride home and the time the
    client was ready. A session ends as complete only when all of it passes; ending anyway (or
    before the planned end) needs a reason."""

    def __init__(
        self,
        t: float,
        planned_s: float,
        end: Callable[[str, dict[str, Any] | None], object],
        hints: Mapping[str, str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("End session · discharge readiness")
        self._end, self._t, self._early = end, t, t < planned_s
        self.ready_at_t: float | None = None
        hints = hints or {}

        intro = plain_label(f"End the session at {t_plus(t)}?")
        intro.setStyleSheet("font-size: 16pt;")
        grid = QGridLayout()
        self.groups: dict[str, QButtonGroup] = {}
        for row, item in enumerate(ITEMS):
            name = plain_label(item.name)
            name.setStyleSheet("font-weight: bold;")
            grid.addWidget(name, row * 2, 0, Qt.AlignmentFlag.AlignTop)
            group = QButtonGroup(self)
            for col, (score, label) in enumerate(item.options, start=1):
                button = QRadioButton(f"{score} · {label}")
                button.setAccessibleName(f"{item.name}: {label}, {score} points")
                group.addButton(button, score)
                grid.addWidget(button, row * 2, col)
            group.idToggled.connect(lambda _id, _on: self._update())
            self.groups[item.id] = group
            if item.id in hints:
                grid.addWidget(_muted(hints[item.id]), row * 2 + 1, 1, 1, 3)

        self.ride_home = QCheckBox("Ride home confirmed (the client will not drive)")
        self.ride_home.toggled.connect(lambda _on: self._update())
        self.ready_button = QPushButton("Client ready to leave now")
        self.ready_button.clicked.connect(self._on_ready_now)
        self.ready_label = _muted("Time the client was ready: not recorded")
        ready_row = QHBoxLayout()
        ready_row.addWidget(self.ready_button)
        ready_row.addWidget(self.ready_label, 1)

        self.score_label = plain_label()
        self.score_label.setStyleSheet("font-size: 14pt;")
        self.score_label.setAccessibleName("Discharge score")
        self.reason_edit = QLineEdit()
        self.reason_edit.setAccessibleName("Reason or closing remark")
        self.error = _error_label()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.end_button = buttons.addButton("End session", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self._on_end)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(_muted(f"Modified Aldrete score: {PASS_MARK} of 10 or more to discharge."))
        layout.addLayout(grid)
        layout.addWidget(self.ride_home)
        layout.addLayout(ready_row)
        if "ready" in hints:  # computed from the entries (monitoring/ready.py, issue 15)
            self.ready_hint = _muted(hints["ready"])
            layout.addWidget(self.ready_hint)
        layout.addWidget(self.score_label)
        reason_row = QFormLayout()
        reason_label = plain_label("&Reason")  # Alt+R jumps here from anywhere in the dialog
        reason_label.setBuddy(self.reason_edit)
        reason_row.addRow(reason_label, self.reason_edit)
        layout.addLayout(reason_row)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(900, 560)
        self._update()

    def _on_ready_now(self) -> None:
        self.ready_at_t = self._t
        self.ready_label.setText(f"Time the client was ready: {t_plus(self._t)}")
        self._update()

    def discharge(self) -> dict[str, Any] | None:
        """The discharge answers, or None while any item is unanswered."""
        scores = {item: group.checkedId() for item, group in self.groups.items()}
        if any(score < 0 for score in scores.values()):
            return None
        return {
            "scores": scores,
            "ride_home": self.ride_home.isChecked(),
            "ready_at_t": self.ready_at_t,
        }

    def blockers(self) -> list[str]:
        """Why the session cannot end as complete (empty: it can)."""
        answers = self.discharge()
        if answers is None:
            return ["The discharge check is not complete."]
        try:
            assessment = assess(answers["scores"], answers["ride_home"], answers["ready_at_t"])
        except KapsessionError as exc:
            return [str(exc)]
        return can_end_complete(assessment)[1]

    def _update(self) -> None:
        answers = self.discharge()
        if answers is None:
            answered = sum(1 for g in self.groups.values() if g.checkedId() >= 0)
            self.score_label.setText(f"Score: {answered} of {len(ITEMS)} items answered")
        else:
            total = sum(answers["scores"].values())
            verdict = "passes" if total >= PASS_MARK else f"below {PASS_MARK}"
            self.score_label.setText(f"Score: {total} of 10 · {verdict}")
        blockers = self.blockers()
        if blockers or self._early:
            why = "before the planned end" if self._early and not blockers else " ".join(blockers)
            self.reason_edit.setPlaceholderText(f"Reason for ending anyway (required: {why})")
        else:
            self.reason_edit.setPlaceholderText("Optional remark")

    def _on_end(self) -> None:
        reason = self.reason_edit.text().strip()
        if (self._early or self.blockers()) and not reason:
            self.error.setText(
                "Please give a reason for ending "
                + (
                    "before the planned time."
                    if self._early
                    else "without a passing discharge check."
                )
            )
            return
        try:
            self._end(reason, self.discharge())
        except KapsessionError as exc:
            self.error.setText(str(exc))
            return
        self.accept()


class ObservationDialog(QDialog):
    """One scale at a time, one key per answer; each answer is saved as it is given."""

    def __init__(
        self,
        scales: Sequence[Scale],
        save: Callable[[str, int | str], object],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Observation")
        self._scales, self._save, self._index = list(scales), save, 0
        self.title = plain_label()
        self.title.setStyleSheet("font-size: 16pt; font-weight: bold;")
        self.options = QVBoxLayout()
        self.note = _muted("")
        self.error = _error_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(self.options)
        layout.addWidget(self.note)
        layout.addWidget(self.error)
        layout.addWidget(
            _muted("Press the key shown, or click. Esc closes; answers given so far are saved.")
        )
        self.resize(640, 420)
        self._show_scale()

    @property
    def scale(self) -> Scale:
        return self._scales[self._index]

    def _show_scale(self) -> None:
        while self.options.count():
            taken = self.options.takeAt(0)
            widget = taken.widget() if taken is not None else None
            if widget is not None:
                widget.deleteLater()
        scale = self.scale
        self.title.setText(f"{scale.name}   ({self._index + 1} of {len(self._scales)})")
        for option in scale.options:
            button = QPushButton(f"{option.key}    {option.label}")
            button.setStyleSheet("text-align: left;")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _c=False, value=option.value: self._answer(value))
            self.options.addWidget(button)
        self.note.setText(scale.keys_note or scale.source)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        option = self.scale.option_for_key(event.text().lower()) if event.text() else None
        if option is not None:
            self._answer(option.value)
            return
        super().keyPressEvent(event)

    def _answer(self, value: int | str) -> None:
        try:
            self._save(self.scale.id, value)
        except KapsessionError as exc:
            self.error.setText(f"Not saved: {exc}")
            return
        self.error.clear()
        if self._index + 1 < len(self._scales):
            self._index += 1
            self._show_scale()
        else:
            self.accept()


class QuickEventDialog(QDialog):
    """Booster dose, vomiting, emergence reaction, touch offered/accepted, client spoke."""

    def __init__(
        self,
        record: Callable[..., object],
        route: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Quick event")
        self._record = record
        layout = QVBoxLayout(self)
        layout.addWidget(_muted("Press the key shown, or click."))
        for event in QUICK_EVENTS:
            button = QPushButton(f"{event.key}    {event.label}")
            button.setStyleSheet("text-align: left;")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _c=False, kind=event.kind: self._choose(kind))
            layout.addWidget(button)
        self.booster = QWidget()
        form = QFormLayout(self.booster)
        self.mg = QDoubleSpinBox()
        self.mg.setRange(0, 1000)
        self.mg.setDecimals(1)
        self.mg.setSuffix(" mg")
        self.mg.setSpecialValueText("enter dose")
        self.route = QComboBox()
        self.route.addItems(ROUTES)
        self.route.setCurrentText(route)
        self.lot = QLineEdit()
        self.lot.setPlaceholderText("optional")
        form.addRow("Booster dose", self.mg)
        form.addRow("Route", self.route)
        form.addRow("Lot", self.lot)
        save = QPushButton("Save booster")
        save.clicked.connect(self._save_booster)
        form.addRow(save)
        self.booster.setVisible(False)
        layout.addWidget(self.booster)
        self.error = _error_label()
        layout.addWidget(self.error)
        self.resize(480, 360)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self.booster.isVisible():
            for quick in QUICK_EVENTS:
                if event.text().lower() == quick.key:
                    self._choose(quick.kind)
                    return
        super().keyPressEvent(event)

    def _choose(self, kind: str) -> None:
        if kind == "booster_dose":
            self.booster.setVisible(True)
            self.mg.setFocus()
            # Selected, so typed digits replace the "enter dose" placeholder (it would refuse them).
            self.mg.selectAll()
            return
        self._save(kind)

    def _save_booster(self) -> None:
        fields: dict[str, object] = {"mg": self.mg.value(), "route": self.route.currentText()}
        if self.lot.text().strip():
            fields["lot"] = self.lot.text()
        self._save("booster_dose", **fields)

    def _save(self, kind: str, **fields: object) -> None:
        try:
            self._record(kind, **fields)
        except KapsessionError as exc:
            self.error.setText(f"Not saved: {exc}")
            return
        self.accept()


class CheckActionDialog(QDialog):
    """Snooze (minutes and a reason) or skip (a reason) the check that is due."""

    def __init__(
        self,
        label: str,
        snooze: bool,
        act: Callable[[int, str], object],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Snooze check" if snooze else "Skip check")
        self._act, self._snooze = act, snooze
        self.minutes = QSpinBox()
        self.minutes.setRange(1, 60)
        self.minutes.setValue(5)
        self.minutes.setSuffix(" min")
        self.reason_edit = QLineEdit()
        self.reason_edit.setAccessibleName("Reason")
        self.reason_edit.setPlaceholderText(
            "e.g. client speaking, do not interrupt"
            if snooze
            else "e.g. client asleep, breathing calmly"
        )
        self.error = _error_label()
        form = QFormLayout()
        form.addRow("Check", plain_label(label))
        if snooze:
            form.addRow("Snooze for", self.minutes)
        form.addRow("Reason", self.reason_edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton("Snooze" if snooze else "Skip", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self._on_ok)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.reason_edit.setFocus()

    def _on_ok(self) -> None:
        try:
            self._act(self.minutes.value(), self.reason_edit.text())
        except KapsessionError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
