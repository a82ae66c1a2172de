"""The "New session" form: the client's code, the protocol, route, dose, length, music and
intention, with the buttons that plan it or give the dose now. It reads the form into a
SessionPlan; validating it is the core's (`validate_plan`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from kapsession.integration.planning import arc_for_protocol
from kapsession.monitoring.protocol import Protocol
from kapsession.session.live import SessionPlan
from kapsession.storage.schema import ROUTES

from .arc_picker import ArcPicker
from .status_line import status_line

NO_PROTOCOL = "notes-only"


class PlanForm(QGroupBox):
    def __init__(
        self,
        protocols: Mapping[str, Protocol],
        arc_picker: ArcPicker,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("New session", parent)
        self._protocols = protocols
        self.arc_picker = arc_picker
        self.client_code = QComboBox()
        self.client_code.setEditable(True)
        self.client_code.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.client_code.setAccessibleName("Client code")
        line = self.client_code.lineEdit()
        if line is not None:
            line.setPlaceholderText("Pseudonymous code, e.g. C-014")
        self.display_name = QLineEdit()
        self.display_name.setPlaceholderText("Optional")
        self.display_name.setAccessibleName("Display name")
        self.protocol = QComboBox()
        self.protocol.setAccessibleName("Monitoring protocol")
        for protocol in sorted(protocols.values(), key=lambda p: p.name):
            self.protocol.addItem(f"{protocol.name} ({len(protocol.checks)} checks)", protocol.id)
        self.protocol.addItem("No timed checks (notes only)", NO_PROTOCOL)
        self.route = QComboBox()
        self.route.addItems(ROUTES)
        self.route.setAccessibleName("Route")
        self.dose = QDoubleSpinBox()
        self.dose.setRange(0, 1000)
        self.dose.setDecimals(1)
        self.dose.setSingleStep(5)
        self.dose.setSuffix(" mg")
        self.dose.setSpecialValueText("enter dose")  # never pre-filled with a plausible dose
        self.dose.setAccessibleName("Dose in milligrams")
        self.planned = QSpinBox()
        self.planned.setRange(45, 120)
        self.planned.setValue(60)
        self.planned.setSuffix(" min")
        self.planned.setAccessibleName("Planned length in minutes")
        self.intention = QPlainTextEdit()
        self.intention.setPlaceholderText("The client's intention, in their words")
        self.intention.setTabChangesFocus(True)
        self.intention.setMaximumHeight(90)
        self.intention.setAccessibleName("Intention")

        form = QFormLayout()
        form.addRow("Client code", self.client_code)
        form.addRow("Display name", self.display_name)
        form.addRow("Protocol", self.protocol)
        form.addRow("Route", self.route)
        form.addRow("Dose", self.dose)
        form.addRow("Planned length", self.planned)
        form.addRow("Music arc", arc_picker.combo)
        form.addRow("", arc_picker.status)
        form.addRow("Intention", self.intention)

        self.plan_button = QPushButton("Plan session")
        self.dose_button = QPushButton("Give dose now  ▶")
        self.dose_button.setDefault(True)
        self.status = status_line()
        buttons = QHBoxLayout()
        buttons.addWidget(self.plan_button)
        buttons.addWidget(self.dose_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addStretch(1)

        self.protocol.currentIndexChanged.connect(lambda _i: self._on_protocol_chosen())
        self.planned.valueChanged.connect(arc_picker.set_planned_minutes)
        self._on_protocol_chosen()

    def _on_protocol_chosen(self) -> None:
        """A protocol brings its route and planned length; both stay editable. The arc made for
        that route and nearest that length is chosen with them (also editable)."""
        protocol = self._protocols.get(str(self.protocol.currentData()))
        with self.arc_picker.held():
            self.arc_picker.set_planned_minutes(self.planned.value())
            if protocol is None:
                return
            self.route.setCurrentText(protocol.route)
            self.planned.setValue(protocol.planned_minutes)
            best = arc_for_protocol(
                self.arc_picker.arcs.values(), protocol.route, protocol.planned_minutes
            )
            if best is not None:
                self.arc_picker.choose(best)

    def set_client_codes(self, codes: Sequence[str]) -> None:
        current = self.client_code.currentText()
        self.client_code.clear()
        self.client_code.addItems(codes)
        self.client_code.setEditText(current)

    def plan(self) -> SessionPlan:
        return SessionPlan(
            client_code=self.client_code.currentText(),
            display_name=self.display_name.text() or None,
            protocol=str(self.protocol.currentData() or ""),  # none chosen: "" is refused
            route=self.route.currentText(),
            dose_mg=self.dose.value(),
            planned_minutes=self.planned.value(),
            intention=self.intention.toPlainText(),
            arc=self.arc_picker.chosen_path(),
        )

    def clear(self) -> None:
        self.display_name.clear()
        self.dose.setValue(0)
        self.intention.clear()
