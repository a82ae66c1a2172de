"""The home screen: register a client by code, plan a session, give the dose; the session list."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kapsession.errors import KapsessionError
from kapsession.integration.preparation import readiness, session_readiness
from kapsession.music.arc import Arc
from kapsession.music.preflight import PreflightReport, short_summary
from kapsession.session.live import LiveSession, SessionPlan, SessionService, validate_plan
from kapsession.storage.schema import ROUTES
from kapsession.storage.store import SessionRecord, parse_iso

from .dialogs import ShortcutsDialog
from .format import minutes_seconds
from .plain_text import plain_label
from .preparation_view import PreparationDialog
from .worksheet_view import WorksheetDialog

log = logging.getLogger("kapsession.ui.home")

NO_PROTOCOL = "notes-only"
NO_MUSIC = ""
# The pre-flight of an arc's tracks for a planned length (the composition root passes the real,
# libVLC one).
ArcCheck = Callable[[Arc, int], PreflightReport]
WELCOME = (
    "<p><b>Welcome to kapsession.</b> It sits open through the dosing window: the dose clock "
    "across the room, the protocol's checks coming due quietly, the music arc, and notes that "
    "save with Enter.</p>"
    "<p>To see how a session feels before a real one, press <b>Rehearse with a demo client</b> "
    "below: a training session with made-up data, marked as rehearsal everywhere.</p>"
    "<p>For a real session, enter the client's code, the protocol, the dose and the music on the "
    "left, then <b>Give dose now</b> at the moment the medicine is given. F1 lists every key.</p>"
)
COLUMNS = ("#", "Client", "State", "Route", "Dose", "Planned", "Dose given", "Length")


class HomeView(QWidget):
    dose_given = Signal(object)  # LiveSession
    rehearsal_requested = Signal()
    preflight_done = Signal(object, object)  # (arc path, minutes), PreflightReport: from a thread

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
        self.preflight_done.connect(self._on_preflight_done, Qt.ConnectionType.QueuedConnection)
        # Where an export is saved: a file dialog (tests pass their own chooser).
        from .export_dialog import choose_file

        self._choose_file = choose_file
        self._build(data_dir)
        self._on_protocol_chosen()
        self.refresh()

    def _build(self, data_dir: str) -> None:
        title = plain_label("kapsession")
        title.setStyleSheet("font-size: 22pt; font-weight: bold;")
        where = plain_label(f"Data folder: {data_dir}")
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
        self.arc_status = plain_label()
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
        self.form_status = plain_label()
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
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # The client column takes what is left, so no column is elided or scrolled sideways.
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(False)
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
        list_buttons.addStretch(1)
        list_buttons.addWidget(self.rehearsal_button)

        # The first launch explains itself and offers a rehearsal; gone once a session exists.
        self.welcome = plain_label(WELCOME)
        self.welcome.setWordWrap(True)
        self.welcome.setTextFormat(Qt.TextFormat.RichText)
        self.welcome.setAccessibleName("Welcome")
        self.welcome.setStyleSheet("font-size: 13pt; padding: 12px;")

        list_box = QGroupBox("Sessions")
        list_layout = QVBoxLayout(list_box)
        list_layout.addWidget(self.welcome)
        list_layout.addWidget(self.table)
        list_layout.addLayout(self._build_preparation_actions())
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
        self.welcome.setVisible(not records)
        self.table.setVisible(bool(records))
        if not records:
            self.rehearsal_button.setDefault(True)
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
        """Pre-flight the chosen arc on a worker thread (libVLC decodes a little of every track:
        ~0.2 s for a shipped arc, longer for a large library), so choosing an arc, and the
        first paint of the home screen, never wait for it. The answer lands here through a
        queued signal; a newer choice supersedes it."""
        arc = self.arcs.get(str(self.arc.currentData() or ""))
        if arc is None or self._check_arc is None:
            chosen = str(self.arc.currentData() or "")
            self.arc_status.setText("" if not chosen else "Music will not be checked here.")
            return
        key = (arc.path, self.planned.value())
        if key in self._checked:
            self._show_preflight(self._checked[key])
            return
        self.arc_status.setText("Checking every track of the arc…")
        check, minutes = self._check_arc, self.planned.value()

        def work() -> None:
            try:
                report = check(arc, minutes)
            except Exception as exc:  # a probe must never take the app down
                log.error("music pre-flight failed: %s", type(exc).__name__)
                return
            with contextlib.suppress(RuntimeError):  # the home screen is gone meanwhile
                self.preflight_done.emit(key, report)

        threading.Thread(target=work, name="kapsession-preflight", daemon=True).start()

    def _on_preflight_done(self, key: tuple[str, int], report: PreflightReport) -> None:
        self._checked[key] = report
        arc = self.arcs.get(str(self.arc.currentData() or ""))
        if arc is not None and key == (arc.path, self.planned.value()):
            self._show_preflight(report)

    def _show_preflight(self, report: PreflightReport) -> None:
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
        """Before the dose: the music's pre-flight again, here and now (files can change); a
        failing track asks whether to go on (it would be skipped during the session)."""
        self._checked.clear()
        if record is None:
            report = self._preflight()
            if report is not None:
                self._show_preflight(report)
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
            still_open = readiness(None)
            if not self._confirm_dose(
                plan.client_code, plan.dose_mg, plan.route, still_open, False
            ):
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
            still_open = session_readiness(self.service.store, record.id)
            if not self._confirm_dose(
                record.client_code, record.dose_mg, record.route, still_open, True
            ):
                return
            live: LiveSession = self.service.give_dose(record.id)
            self.dose_given.emit(live)

        self._guarded(start)

    def _confirm_dose(
        self, code: str, mg: float, route: str, still_open: list[str], planned: bool
    ) -> bool:
        # Unconfirmed screening warns but never blocks: the therapist may know more.
        how = (
            "Choose No, then Prepare… (Alt+P), to complete it."
            if planned
            else "To prepare first, choose No, plan the session, then Prepare… (Alt+P)."
        )
        warning = (
            "Not confirmed in the preparation: " + "; ".join(still_open) + f". {how}\n\n"
            if still_open
            else ""
        )
        return self._confirm(
            "Give dose now?",
            f"Start the dose clock for {code}: {mg:g} mg {route}, given now?\n\n"
            f"{warning}Press this at the moment the medicine is given.",
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
        self._enable_preparation_actions(record)

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
        from .review import open_review
        from .settings import Settings

        # handed in by ui/app.py once wired
        open_review(self.service.store, record.id, self, settings=Settings())

    def _on_course(self) -> None:
        record = self._selected() or self._latest_given()
        if record is None:
            return
        from .review import CourseWindow, open_review
        from .settings import Settings

        store = self.service.store
        settings = Settings()  # handed in by ui/app.py once wired
        window = CourseWindow(
            store,
            record.client_code,
            lambda session_id: open_review(store, session_id, self, settings=settings),
            self,
            settings=settings,
        )
        window.show()
        window.activateWindow()

    # --- preparation and the integration worksheet ---------------------------------------
    def _build_preparation_actions(self) -> QHBoxLayout:
        """A row of its own: the session list's other buttons already fill its width."""
        self.prepare_button = QPushButton("Prepare…  Alt+P")
        self.prepare_button.setToolTip(
            "Intention, screening and consent, set and setting, grounding (planned sessions)"
        )
        self.prepare_button.clicked.connect(self._on_prepare)
        self.worksheet_button = QPushButton("Worksheet…  Alt+W")
        self.worksheet_button.setToolTip("The integration worksheet (sessions given their dose)")
        self.worksheet_button.clicked.connect(self._on_worksheet)
        row = QHBoxLayout()
        row.addWidget(self.prepare_button)
        row.addWidget(self.worksheet_button)
        self._add_review_buttons(row)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip(
            "PDF summary, client handouts, Markdown, JSON or FHIR for the selected session "
            "(Ctrl+Shift+X)"
        )
        self.export_button.clicked.connect(self._on_export)
        row.addWidget(self.export_button)
        row.addStretch(1)
        for keys, slot in (
            ("Ctrl+Shift+X", self._on_export),
            ("Alt+P", self._on_prepare),
            ("Alt+W", self._on_worksheet),
            ("F1", self._on_shortcuts),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        return row

    def _enable_preparation_actions(self, record: SessionRecord | None) -> None:
        state = record.state if record is not None else None
        # A running session is on the live screen: preparing it belongs there, with the dose
        # clock's time (PreparationDialog takes `elapsed`).
        self.prepare_button.setEnabled(state == "planned")
        self.export_button.setEnabled(record is not None)
        self.worksheet_button.setEnabled(state in ("running", "ended"))

    def _on_prepare(self) -> None:
        record = self._selected()
        if record is None or record.state != "planned":
            self._say("Select a planned session in the list to prepare it.", error=True)
            return
        self._open_record_dialog(PreparationDialog, record.id)

    def _on_worksheet(self) -> None:
        record = self._selected()
        if record is None or record.state == "planned":
            self._say("Select a session that was given its dose to open its worksheet.", True)
            return
        self._open_record_dialog(WorksheetDialog, record.id)

    def _open_record_dialog(self, kind: Callable[..., QDialog], session_id: int) -> None:
        def open_it() -> None:
            service = self.service
            dialog = kind(
                service.store,
                session_id,
                service.clock,
                service.tz,
                service.author,
                confirm=self._confirm,
                parent=self,
            )
            dialog.exec()
            dialog.deleteLater()  # parented to the home screen: would otherwise live as long

        self._guarded(open_it)  # reading the session can fail too (a vanished disk)
        self.table.setFocus()

    def _on_export(self) -> None:
        record = self._selected() or self._latest_given()
        if record is None:
            self._say("Select a session in the list to export it.", error=True)
            return

        def open_it() -> None:
            from .export_dialog import ExportDialog

            service = self.service
            dialog = ExportDialog(
                service.store, record.id, service.tz, service.author, self._choose_file, self
            )
            if dialog.exec() and dialog.written is not None:
                self._say(f"Written: {dialog.written}")
            dialog.deleteLater()

        self._guarded(open_it)

    def _on_shortcuts(self) -> None:
        dialog = ShortcutsDialog(self)
        dialog.exec()
        dialog.deleteLater()

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
