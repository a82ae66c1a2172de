"""The preparation dialog: the client's intention and hopes, screening and consent, set and
setting, and a grounding exercise to read aloud. Every Ctrl+S is a new version on the record."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kapsession.clock import Clock
from kapsession.integration.preparation import (
    GROUNDING,
    SCREENING_ITEMS,
    SETTING_ITEMS,
    GroundingExercise,
    Preparation,
    Screening,
    Setting,
    current_preparation,
    preparation_history,
    readiness,
    save_preparation,
)
from kapsession.storage.store import Event, Store

from .. import theme
from ..plain_text import plain_label, plain_tip
from .record_dialog import RecordDialog, saved_on

CTRL = Qt.KeyboardModifier.ControlModifier


class PreparationDialog(RecordDialog):
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
            "preparation", store, session_id, clock, tz, author, elapsed, confirm, parent
        )
        record = self.record
        self.setWindowTitle(f"Preparation · {record.client_code} · session #{record.id}")
        current = current_preparation(store, session_id)
        if current is None:
            # Nothing prepared yet: start from the plan's intention, so it is not typed twice.
            self._last = Preparation(intention=record.intention)
            self._version: Event | None = None
        else:
            self._last, self._version = current
        self._ready = False  # no "unsaved" message while the form is being filled in
        self._build()
        self.header.setText(
            f"Preparation for {record.client_code} · session #{record.id} ({record.state}"
            + (", rehearsal)" if record.rehearsal else ")")
        )
        self._show(self._last)
        self._ready = True
        self._on_changed()
        self.intention.setFocus()

    # --- building --------------------------------------------------------------------------
    def _text(self, name: str, placeholder: str, height: int = 84) -> QPlainTextEdit:
        edit = QPlainTextEdit()
        edit.setAccessibleName(name)
        edit.setPlaceholderText(placeholder)
        edit.setTabChangesFocus(True)
        edit.setMinimumHeight(height)
        edit.textChanged.connect(self._on_changed)
        return edit

    def _labelled(self, layout: QVBoxLayout, mnemonic: str, edit: QWidget) -> None:
        label = plain_label(mnemonic)
        label.setBuddy(edit)
        label.setProperty("role", "muted")
        layout.addWidget(label)
        layout.addWidget(edit)

    def _check(self, text: str) -> QCheckBox:
        box = QCheckBox(text)
        box.toggled.connect(self._on_changed)
        return box

    def _build(self) -> None:
        self.header = plain_label()
        self.header.setStyleSheet("font-size: 15pt; font-weight: bold;")
        self.intention = self._text(
            "Intention", "What the client wants to bring into the session, in their own words"
        )
        self.hopes = self._text("Hopes", "What they hope to experience or understand")
        self.patterns = self._text("Patterns to shift", "Habits, beliefs or feelings to loosen")
        self.concerns = self._text("Concerns and questions", "Worries, fears, questions asked")
        words = QVBoxLayout()
        self._labelled(words, "&Intention", self.intention)
        self._labelled(words, "&Hopes for the session", self.hopes)
        self._labelled(words, "&Patterns they want to shift", self.patterns)
        self._labelled(words, "&Concerns and questions", self.concerns)

        self.screening: dict[str, QCheckBox] = {}
        screen_box = QGroupBox("Screening and informed consent")
        screen = QVBoxLayout(screen_box)
        for name, label, _missing in SCREENING_ITEMS:
            self.screening[name] = self._check(label)
            screen.addWidget(self.screening[name])
            if name == "medical_oversight":
                self.prescriber = QLineEdit()
                self.prescriber.setAccessibleName("Prescriber")
                self.prescriber.setPlaceholderText("Prescriber's name and how to reach them")
                self.prescriber.textChanged.connect(self._on_changed)
                row = QHBoxLayout()
                row.setContentsMargins(26, 0, 0, 0)
                prescriber_label = plain_label("P&rescriber")
                prescriber_label.setBuddy(self.prescriber)
                row.addWidget(prescriber_label)
                row.addWidget(self.prescriber, 1)
                screen.addLayout(row)
        self._gate_fields(screen)
        self.open_items = plain_label()
        self.open_items.setWordWrap(True)
        self.open_items.setAccessibleName("Open screening items")
        screen.addWidget(self.open_items)

        self.setting: dict[str, QCheckBox] = {}
        setting_box = QGroupBox("Set and setting")
        setting = QVBoxLayout(setting_box)
        for name, label in SETTING_ITEMS:
            self.setting[name] = self._check(label)
            setting.addWidget(self.setting[name])
        self.music = self._text(
            "Music preferences",
            "Music chosen with the client: likes, dislikes, no lyrics they understand…",
            56,
        )
        self._labelled(setting, "&Music preferences", self.music)

        grounding_box = QGroupBox("Grounding exercise")
        grounding = QVBoxLayout(grounding_box)
        self.grounding_buttons: list[QPushButton] = []
        for n, exercise in enumerate(GROUNDING, 1):
            button = QPushButton(f"Read aloud: {exercise.title}   Alt+{n}")
            button.setToolTip(plain_tip(exercise.when))
            button.setAccessibleName(f"Read aloud: {exercise.title}")
            button.setAutoDefault(False)
            button.clicked.connect(lambda _=False, e=exercise: self.read_aloud(e))
            shortcut = QShortcut(QKeySequence(f"Alt+{n}"), self)
            shortcut.activated.connect(lambda e=exercise: self.read_aloud(e))
            self.grounding_buttons.append(button)
            grounding.addWidget(button)
        self.grounding_done = self._check("Grounding exercise done with the client")
        grounding.addWidget(self.grounding_done)

        right = QVBoxLayout()
        right.addWidget(screen_box)
        right.addWidget(setting_box)
        right.addWidget(grounding_box)
        right.addStretch(1)
        columns = QHBoxLayout()
        columns.addLayout(words, 1)
        columns.addLayout(right, 1)

        self.version = plain_label()
        self.version.setProperty("role", "muted")
        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton("Save  Ctrl+S", QDialogButtonBox.ButtonRole.ActionRole)
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(self.save)
        close = buttons.addButton("Close  Esc", QDialogButtonBox.ButtonRole.RejectRole)
        close.setAutoDefault(False)
        buttons.rejected.connect(self.reject)
        footer = QHBoxLayout()
        footer.addWidget(self.version)
        footer.addWidget(self.status, 1)
        footer.addWidget(buttons)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(self.header)
        layout.addLayout(columns, 1)
        layout.addLayout(footer)
        self.resize(1120, 720)

    # --- values ----------------------------------------------------------------------------
    def _show(self, prep: Preparation) -> None:
        self.intention.setPlainText(prep.intention)
        self.hopes.setPlainText(prep.hopes)
        self.patterns.setPlainText(prep.patterns)
        self.concerns.setPlainText(prep.concerns)
        for name, box in self.screening.items():
            box.setChecked(bool(getattr(prep.screening, name)))
        self.prescriber.setText(prep.screening.prescriber)
        weight = prep.screening.weight_kg
        self.gate_edits["weight_kg"].setText("" if weight is None else f"{weight:g}")
        for key in ("last_food", "last_clear_liquid", "predose_bp"):
            self.gate_edits[key].setText(getattr(prep.screening, key))
        for name, box in self.setting.items():
            box.setChecked(bool(getattr(prep.setting, name)))
        self.music.setPlainText(prep.setting.music_preferences)
        self.grounding_done.setChecked(prep.grounding_done)
        self._show_version()

    def _versions(self) -> int:
        return len(preparation_history(self.store, self.session_id)) if self._version else 0

    def _show_version(self) -> None:
        event = self._version
        if event is None:
            self.version.setText("Not saved yet")
        else:
            count = self._versions()
            who = f" by {event.author}" if event.author else ""
            self.version.setText(f"Version {count} · {saved_on(event)}{who}")

    def _value(self) -> Preparation:
        return Preparation(
            intention=self.intention.toPlainText(),
            hopes=self.hopes.toPlainText(),
            patterns=self.patterns.toPlainText(),
            concerns=self.concerns.toPlainText(),
            screening=Screening(
                prescriber=self.prescriber.text(),
                **{name: box.isChecked() for name, box in self.screening.items()},  # type: ignore[arg-type]
                **self._gate_values(),
            ),
            setting=Setting(
                music_preferences=self.music.toPlainText(),
                **{name: box.isChecked() for name, box in self.setting.items()},
            ),
            grounding_done=self.grounding_done.isChecked(),
        )

    def _gate_fields(self, screen: QVBoxLayout) -> None:
        """Weight, fasting times and the pre-dose BP: what the start gate and the ketamine total
        per kg read (issue 15)."""
        self.gate_edits: dict[str, QLineEdit] = {}
        for name, label, hint in (
            ("weight_kg", "&Weight (kg)", "e.g. 72.5"),
            ("last_food", "Last &food", "YYYY-MM-DD HH:MM"),
            ("last_clear_liquid", "Last clear li&quid", "YYYY-MM-DD HH:MM"),
            ("predose_bp", "Pre-dose &BP", "SYS/DIA, e.g. 128/82"),
        ):
            edit = QLineEdit()
            edit.setAccessibleName(label.replace("&", ""))
            edit.setPlaceholderText(hint)
            edit.textChanged.connect(self._on_changed)
            row = QHBoxLayout()
            caption = plain_label(label)
            caption.setBuddy(edit)
            row.addWidget(caption)
            row.addWidget(edit, 1)
            screen.addLayout(row)
            self.gate_edits[name] = edit

    def _gate_values(self) -> dict[str, Any]:
        text = self.gate_edits["weight_kg"].text().strip().replace(",", ".")
        try:
            weight = float(text) if text else None
        except ValueError:
            weight = math.nan  # refused by validation, naming the weight
        return {
            "weight_kg": weight,
            **{
                k: self.gate_edits[k].text()
                for k in ("last_food", "last_clear_liquid", "predose_bp")
            },
        }

    def _saved(self) -> Preparation:
        return self._last

    def edited(self) -> bool:
        # What is saved is stripped; trailing spaces alone are not an edit worth a question.
        return _stripped(self._value()) != _stripped(self._last)

    def _write(self) -> Event:
        t = self._elapsed() if self._elapsed is not None else None
        value = self._value()
        event = save_preparation(
            self.store, self.session_id, value, self.clock.now(), self.tz, self.author, t=t
        )
        self._last = Preparation.from_data(event.data)
        self._version = event
        return event

    def _after_save(self, event: Event) -> None:
        self._show_version()

    def _on_changed(self) -> None:
        if self._ready:
            self._on_edited()
        missing = readiness(self._value())
        if missing:
            self.open_items.setText("Still open: " + "; ".join(missing) + ".")
            self.open_items.setProperty("role", "status")
        else:
            self.open_items.setText("Screening and consent complete.")
            self.open_items.setProperty("role", "saved")
        self.open_items.style().unpolish(self.open_items)
        self.open_items.style().polish(self.open_items)

    # --- grounding -------------------------------------------------------------------------
    def read_aloud(self, exercise: GroundingExercise) -> None:
        panel = GroundingPanel(exercise, self)
        if panel.exec() == QDialog.DialogCode.Accepted:
            self.grounding_done.setChecked(True)
        panel.deleteLater()


def _stripped(prep: Preparation) -> Preparation:
    s, st = prep.screening, prep.setting
    return Preparation(
        intention=prep.intention.strip(),
        hopes=prep.hopes.strip(),
        patterns=prep.patterns.strip(),
        concerns=prep.concerns.strip(),
        screening=Screening(
            s.medical_oversight,
            s.prescriber.strip(),
            s.contraindications_confirmed,
            s.consent_signed,
            s.ride_home,
            s.fasting,
            s.weight_kg,
            s.last_food.strip(),
            s.last_clear_liquid.strip(),
            s.predose_bp.strip(),
        ),
        setting=Setting(st.room_ready, st.eyeshades, st.headphones, st.music_preferences.strip()),
        grounding_done=prep.grounding_done,
    )


class GroundingPanel(QDialog):
    """A script to read aloud, one step lit at a time, large enough to read in a dim room.
    Space or → moves on, ← goes back; Ctrl+Enter marks the exercise as done."""

    def __init__(self, exercise: GroundingExercise, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.exercise = exercise
        self.step = 0
        self.setWindowTitle(exercise.title)
        title = plain_label(exercise.title)
        title.setStyleSheet("font-size: 17pt; font-weight: bold;")
        when = plain_label(exercise.when)
        when.setProperty("role", "muted")
        self.script = plain_label()
        self.script.setWordWrap(True)
        self.script.setTextFormat(Qt.TextFormat.RichText)
        self.script.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.script.setAccessibleName("Script")
        hint = plain_label("Space, Enter or → next step · ← back · Ctrl+Enter done · Esc close")
        hint.setProperty("role", "muted")
        buttons = QDialogButtonBox()
        done = buttons.addButton(
            "Done with the client  Ctrl+Enter", QDialogButtonBox.ButtonRole.AcceptRole
        )
        done.setAutoDefault(False)
        close = buttons.addButton("Close  Esc", QDialogButtonBox.ButtonRole.RejectRole)
        close.setAutoDefault(False)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        for button in (done, close):
            # The keys belong to the script: Space must never press a button by accident.
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 22, 28, 18)
        layout.addWidget(title)
        layout.addWidget(when)
        layout.addSpacing(10)
        layout.addWidget(self.script, 1)
        bottom = QGridLayout()
        bottom.addWidget(hint, 0, 0)
        bottom.addWidget(buttons, 0, 1)
        layout.addLayout(bottom)
        self.resize(860, 620)
        self._render()
        self.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, mods = event.key(), event.modifiers()
        enter = key in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and mods & CTRL:
            self.accept()
        elif enter or key in (Qt.Key.Key_Space, Qt.Key.Key_Right, Qt.Key.Key_Down):
            # Plain Enter reads on; only Ctrl+Enter records the exercise as done.
            self.step_by(1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Up, Qt.Key.Key_Backspace):
            self.step_by(-1)
        else:
            super().keyPressEvent(event)

    def step_by(self, by: int) -> None:
        self.step = max(0, min(len(self.exercise.steps) - 1, self.step + by))
        self._render()

    def _render(self) -> None:
        parts = []
        for n, text in enumerate(self.exercise.steps):
            colour = theme.CLOCK if n == self.step else theme.MUTED
            parts.append(
                f'<p style="color:{colour}; font-size:16pt; margin-bottom:12px;">'
                f"{_escape(text)}</p>"
            )
        self.script.setText("".join(parts))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
