"""The home screen: register a client by code, plan a session, give the dose; the session list."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kapsession.arc import Arc
from kapsession.errors import KapsessionError
from kapsession.preflight import PreflightReport, short_summary
from kapsession.schema import ROUTES
from kapsession.session import LiveSession, SessionPlan, SessionService, validate_plan
from kapsession.store import SessionRecord, parse_iso

from .format import minutes_seconds

log = logging.getLogger("kapsession.ui.home")

NO_PROTOCOL = "notes-only"
NO_MUSIC = ""
# The pre-flight of an arc's tracks for a planned length (the composition root passes the real,
# libVLC one).
ArcCheck = Callable[[Arc, int], PreflightReport]
COLUMNS = ("#", "Client", "State", "Route", "Dose", "Planned", "Dose given", "Length")


class HomeView(QWidget):
    dose_given = Signal(object)  # LiveSession
    rehearsal_requested = Signal()

    def __init__(
        self,
        service: SessionService,
        confirm: Callable[[str, str], bool],
        data_dir: str,
        arcs: Mapping[str, Arc] | None = None,
        check_arc: ArcCheck | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self._confirm = confirm
        self.arcs: dict[str, Arc] = {a.path: a for a in (arcs or {}).values()}
        self._check_arc = check_arc
        self._checked: dict[tuple[str, int], PreflightReport] = {}
        self._build(data_dir)
        self._on_protocol_chosen()
        self.refresh()

    def _build(self, data_dir: str) -> None:
        title = QLabel("kapsession")
        title.setStyleSheet("font-size: 22pt; font-weight: bold;")
        where = QLabel(f"Data folder: {data_dir}")
        where.setProperty("role", "muted")
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

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
        for protocol in sorted(self.service.protocols.values(), key=lambda p: p.name):
            self.protocol.addItem(f"{protocol.name} ({len(protocol.checks)} checks)", protocol.id)
        self.protocol.addItem("No timed checks (notes only)", NO_PROTOCOL)
        self.protocol.currentIndexChanged.connect(self._on_protocol_chosen)
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
        self.arc = QComboBox()
        self.arc.setAccessibleName("Music arc")
        for arc in sorted(self.arcs.values(), key=lambda a: a.name):
            self.arc.addItem(f"{arc.name} · {arc.total_minutes:g} min", arc.path)
        self.arc.addItem("No music", NO_MUSIC)
        self.arc.currentIndexChanged.connect(lambda _i: self._on_arc_chosen())
        self.planned.valueChanged.connect(lambda _v: self._on_arc_chosen())
        self.arc_status = QLabel()
        self.arc_status.setWordWrap(True)
        self.arc_status.setProperty("role", "muted")
        self.arc_status.setAccessibleName("Music pre-flight")

        form = QFormLayout()
        form.addRow("Client code", self.client_code)
        form.addRow("Display name", self.display_name)
        form.addRow("Protocol", self.protocol)
        form.addRow("Route", self.route)
        form.addRow("Dose", self.dose)
        form.addRow("Planned length", self.planned)
        form.addRow("Music arc", self.arc)
        form.addRow("", self.arc_status)
        form.addRow("Intention", self.intention)

        self.plan_button = QPushButton("Plan session")
        self.plan_button.clicked.connect(self._on_plan)
        self.dose_button = QPushButton("Give dose now  ▶")
        self.dose_button.setDefault(True)
        self.dose_button.clicked.connect(self._on_dose_now)
        self.form_status = QLabel()
        self.form_status.setWordWrap(True)
        self.form_status.setAccessibleName("Message")
        buttons = QHBoxLayout()
        buttons.addWidget(self.plan_button)
        buttons.addWidget(self.dose_button)

        new_box = QGroupBox("New session")
        box_layout = QVBoxLayout(new_box)
        box_layout.addLayout(form)
        box_layout.addLayout(buttons)
        box_layout.addWidget(self.form_status)
        box_layout.addStretch(1)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setAccessibleName("Sessions")
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.start_selected = QPushButton("Give dose to selected planned session")
        self.start_selected.setEnabled(False)
        self.start_selected.clicked.connect(self._on_start_selected)
        self.rehearsal_button = QPushButton("Rehearse with a demo client")
        self.rehearsal_button.setToolTip(
            "A training session on the demo client; its data is marked as rehearsal"
        )
        self.rehearsal_button.clicked.connect(self.rehearsal_requested.emit)
        list_buttons = QHBoxLayout()
        list_buttons.addWidget(self.start_selected)
        self._add_review_buttons(list_buttons)
        list_buttons.addStretch(1)
        list_buttons.addWidget(self.rehearsal_button)

        list_box = QGroupBox("Sessions")
        list_layout = QVBoxLayout(list_box)
        list_layout.addWidget(self.table)
        list_layout.addLayout(list_buttons)

        body = QHBoxLayout()
        body.addWidget(new_box, 2)
        body.addWidget(list_box, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.addWidget(title)
        layout.addWidget(where)
        layout.addLayout(body)

    # --- data ----------------------------------------------------------------------------
    def refresh(self) -> None:
        codes = [c.code for c in self.service.store.clients() if not c.rehearsal]
        current = self.client_code.currentText()
        self.client_code.clear()
        self.client_code.addItems(codes)
        self.client_code.setEditText(current)
        records = list(reversed(self.service.store.sessions()))
        self.table.setRowCount(len(records))
        for row, record in enumerate(records):
            for col, text in enumerate(_row(record)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, record.id)
                self.table.setItem(row, col, item)
        self._on_selection()

    def _on_protocol_chosen(self) -> None:
        """A protocol brings its route and planned length; both stay editable. The arc made for
        that route and nearest that length is chosen with them (also editable)."""
        protocol = self.service.protocols.get(str(self.protocol.currentData()))
        if protocol is not None:
            self.route.setCurrentText(protocol.route)
            self.planned.setValue(protocol.planned_minutes)
            fitting = [a for a in self.arcs.values() if protocol.route in a.routes]
            if fitting:
                best = min(fitting, key=lambda a: abs(a.total_minutes - protocol.planned_minutes))
                self.arc.setCurrentIndex(self.arc.findData(best.path))
        self._on_arc_chosen()

    def _on_arc_chosen(self) -> None:
        """Pre-flight the chosen arc: every track parsed and decoded, named if it would fail."""
        report = self._preflight()
        if report is None:
            chosen = str(self.arc.currentData() or "")
            self.arc_status.setText("" if not chosen else "Music will not be checked here.")
            return
        self.arc_status.setText(short_summary(report))
        self.arc_status.setProperty("role", "status" if report.failed else "muted")
        self.arc_status.style().unpolish(self.arc_status)
        self.arc_status.style().polish(self.arc_status)

    def _preflight(self) -> PreflightReport | None:
        arc = self.arcs.get(str(self.arc.currentData() or ""))
        if arc is None or self._check_arc is None:
            return None
        key = (arc.path, self.planned.value())
        if key not in self._checked:
            self._checked[key] = self._check_arc(arc, self.planned.value())
        return self._checked[key]

    def _music_ok(self, record: SessionRecord | None = None) -> bool:
        """Before the dose: the music's pre-flight again (files can change); a failing track
        asks whether to go on (it would be skipped during the session)."""
        self._checked.clear()
        if record is None:
            report = self._preflight()
            self._on_arc_chosen()
        else:
            arc = self.arcs.get(record.arc or "")
            checker = self._check_arc
            report = (
                None if arc is None or checker is None else checker(arc, record.planned_minutes)
            )
        if report is None or not report.failed:
            return True
        return self._confirm(
            "Some music would not play",
            short_summary(report) + "\n\nGive the dose anyway? The session, its clock and "
            "its checks do not depend on the music.",
        )

    def _plan_from_form(self) -> SessionPlan:
        return SessionPlan(
            client_code=self.client_code.currentText(),
            display_name=self.display_name.text() or None,
            protocol=str(self.protocol.currentData() or ""),  # none chosen: "" is refused
            route=self.route.currentText(),
            dose_mg=self.dose.value(),
            planned_minutes=self.planned.value(),
            intention=self.intention.toPlainText(),
            arc=str(self.arc.currentData() or "") or None,
        )

    def _say(self, text: str, error: bool = False) -> None:
        self.form_status.setProperty("role", "status" if error else "saved")
        self.form_status.setText(text)
        self.form_status.style().unpolish(self.form_status)
        self.form_status.style().polish(self.form_status)

    def _guarded(self, action: Callable[[], None]) -> None:
        try:
            action()
        except KapsessionError as exc:
            self._say(str(exc), error=True)
        except (sqlite3.Error, OSError) as exc:
            log.error("home action failed: %s", type(exc).__name__)
            self._say("The database could not be written (is the disk full or read-only?).", True)

    def _on_plan(self) -> None:
        def plan() -> None:
            record = self.service.plan(self._plan_from_form())
            self._clear_form()
            self.refresh()
            self._say(f"Planned session #{record.id} for {record.client_code}.")

        self._guarded(plan)

    def _on_dose_now(self) -> None:
        def dose() -> None:
            plan = validate_plan(self._plan_from_form())  # a clear message before any question
            if not self._music_ok():
                return
            if not self._confirm_dose(plan.client_code, plan.dose_mg, plan.route):
                return
            record = self.service.plan(plan)
            live = self.service.give_dose(record.id)
            self._clear_form()
            self.dose_given.emit(live)

        self._guarded(dose)

    def _on_start_selected(self) -> None:
        record = self._selected()
        if record is None or record.state != "planned":
            return

        def start() -> None:
            if not self._music_ok(record):
                return
            if not self._confirm_dose(record.client_code, record.dose_mg, record.route):
                return
            live: LiveSession = self.service.give_dose(record.id)
            self.dose_given.emit(live)

        self._guarded(start)

    def _confirm_dose(self, code: str, mg: float, route: str) -> bool:
        return self._confirm(
            "Give dose now?",
            f"Start the dose clock for {code}: {mg:g} mg {route}, given now?\n\n"
            "Press this at the moment the medicine is given.",
        )

    def _selected(self) -> SessionRecord | None:
        items = self.table.selectedItems()
        if not items:
            return None
        return self.service.store.session(int(items[0].data(Qt.ItemDataRole.UserRole)))

    def _on_selection(self) -> None:
        record = self._selected()
        self.start_selected.setEnabled(record is not None and record.state == "planned")
        self._update_review_buttons(record)

    # --- review and course (their windows are built on first use: pyqtgraph is heavy) -------
    def _add_review_buttons(self, row: QHBoxLayout) -> None:
        self.review_button = QPushButton("Review…")
        self.review_button.setToolTip(
            "The selected session (or the newest) as one timeline (Ctrl+R)"
        )
        self.course_button = QPushButton("Course…")
        self.course_button.setToolTip(
            "Every session of the selected session's client (Ctrl+Shift+C)"
        )
        for button, keys, slot in (
            (self.review_button, "Ctrl+R", self._on_review),
            (self.course_button, "Ctrl+Shift+C", self._on_course),
        ):
            button.setEnabled(False)
            button.clicked.connect(slot)
            QShortcut(QKeySequence(keys), self).activated.connect(slot)
            row.addWidget(button)

    def _update_review_buttons(self, record: SessionRecord | None) -> None:
        # With nothing selected the buttons act on the newest session that was given.
        record = record or self._latest_given()
        self.review_button.setEnabled(record is not None and record.state != "planned")
        self.course_button.setEnabled(record is not None)

    def _latest_given(self) -> SessionRecord | None:
        given = [r for r in self.service.store.sessions() if r.state != "planned"]
        return given[-1] if given else None

    def _on_review(self) -> None:
        record = self._selected() or self._latest_given()
        if record is None or record.state == "planned":
            return
        from .review_view import open_review

        open_review(self.service.store, record.id, self)

    def _on_course(self) -> None:
        record = self._selected() or self._latest_given()
        if record is None:
            return
        from .course_view import CourseWindow
        from .review_view import open_review

        store = self.service.store
        window = CourseWindow(
            store, record.client_code, lambda session_id: open_review(store, session_id, self), self
        )
        window.show()
        window.activateWindow()

    def _clear_form(self) -> None:
        self.display_name.clear()
        self.dose.setValue(0)
        self.intention.clear()


def _row(record: SessionRecord) -> tuple[str, ...]:
    client = record.client_code + (" (rehearsal)" if record.rehearsal else "")
    given = (
        parse_iso(record.dose_at).astimezone().strftime("%Y-%m-%d %H:%M") if record.dose_at else "–"
    )
    length = minutes_seconds(record.ended_t) if record.ended_t is not None else "–"
    return (
        str(record.id),
        client,
        record.state,
        record.route,
        f"{record.dose_mg:g} mg",
        f"{record.planned_minutes} min",
        given,
        length,
    )
