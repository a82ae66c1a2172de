"""The home screen: register a client by code, plan a session, give the dose; the session list.
It composes the plan form, the session list and the action row, and runs the dose: the
questions asked before it are the core's (`kapsession.integration.planning`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from kapsession.integration.instrument import available_instruments
from kapsession.integration.planning import (
    DOSE_TITLE,
    MUSIC_TITLE,
    can_give_dose,
    dose_question,
    latest_given,
    music_question,
    session_actions,
)
from kapsession.music.arc import Arc
from kapsession.music.preflight import PreflightReport
from kapsession.session.live import SessionService, validate_plan
from kapsession.storage.store import SessionRecord

from ..clinicians.panel import ClinicianPanel
from ..executor import Executor, SynchronousExecutor
from ..plain_text import plain_label
from ..settings import Settings
from . import dose_gate
from .actions import ActionRow
from .arc_picker import ArcCheck, ArcPicker
from .dose_gate import AskReason, planned_items, unprepared_items
from .forms_waiting import FormsWaiting
from .measure_prompts import MeasurePrompts
from .plan_form import PlanForm
from .session_list import SessionList
from .status_line import guarded, say


class HomeView(QWidget):
    dose_given = Signal(object)  # LiveSession
    rehearsal_requested = Signal()
    client_mode_requested = Signal(str, str)  # client code, instrument id (issue 18)

    def __init__(
        self,
        service: SessionService,
        confirm: Callable[[str, str], bool],
        data_dir: str,
        arcs: Mapping[str, Arc] | None = None,
        check_arc: ArcCheck | None = None,
        executor: Executor | None = None,
        parent: QWidget | None = None,
        settings: Settings | None = None,
        ask_reason: AskReason | None = None,
    ) -> None:
        """`executor` runs the music pre-flight (the app's works on a thread; without one the
        check runs at once, as tests want); `settings`: the app's one Settings (ui/app.py)."""
        super().__init__(parent)
        self.service = service
        self._confirm = confirm
        self._ask_reason: AskReason = ask_reason or (
            lambda title, text: dose_gate.ask_reason(self, title, text)
        )
        self.arc_picker = ArcPicker(arcs or {}, check_arc, executor or SynchronousExecutor(), self)
        self.form = PlanForm(service.protocols, self.arc_picker)
        self.sessions = SessionList()
        self.action_row = ActionRow(
            self,
            service,
            confirm,
            self._selected,
            self.form.status,
            _choose_file,
            after_dialog=lambda: self.table.setFocus(),
            settings=settings if settings is not None else Settings(),
        )
        # The widgets tests and scripts drive, by their old names.
        f = self.form
        self.client_code, self.display_name, self.protocol = (
            f.client_code,
            f.display_name,
            f.protocol,
        )
        self.route, self.dose, self.planned, self.intention = (
            f.route,
            f.dose,
            f.planned,
            f.intention,
        )
        self.plan_button, self.dose_button, self.form_status = (
            f.plan_button,
            f.dose_button,
            f.status,
        )
        self.arc, self.arc_status = self.arc_picker.combo, self.arc_picker.status
        self.table, self.welcome = self.sessions.table, self.sessions.welcome
        a = self.action_row
        self.prepare_button, self.worksheet_button = a.prepare_button, a.worksheet_button
        self.review_button, self.course_button = a.review_button, a.course_button
        self.export_button = a.export_button
        self._build(data_dir)
        self.refresh()

    def _build(self, data_dir: str) -> None:
        title = plain_label("kapsession")
        title.setStyleSheet("font-size: 22pt; font-weight: bold;")
        where = plain_label(f"Data folder: {data_dir}")
        where.setProperty("role", "muted")
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.plan_button.clicked.connect(self._on_plan)
        self.dose_button.clicked.connect(self._on_dose_now)
        self.table.itemSelectionChanged.connect(self._on_selection)
        # Alt+G (its mnemonic) from the list where the plan was chosen: the keyboard's way to
        # the same question the click asks.
        self.start_selected = QPushButton("&Give dose to selected planned session")
        self.start_selected.setEnabled(False)
        self.start_selected.clicked.connect(self._on_start_selected)
        self.rehearsal_button = QPushButton("Rehearse with a demo client")
        self.rehearsal_button.setToolTip(
            "A training session on the demo client; its data is marked as rehearsal"
        )
        self.rehearsal_button.clicked.connect(self.rehearsal_requested.emit)
        # Client mode (issue 18): the selected session's client answers a questionnaire on the
        # laptop (before the session, at preparation, the day after).
        self.instrument_choice = QComboBox()
        self.instrument_choice.setAccessibleName("Questionnaire for the client")
        found, _problems = available_instruments(Path(data_dir))
        first = ("phq9", "gad7", "ebi")  # the shipped ones first, then the clinic's own
        for ident in sorted(found, key=lambda i: (first.index(i) if i in first else 3, i)):
            self.instrument_choice.addItem(found[ident].name, ident)
        self.client_mode_button = QPushButton("Client answers…  Ctrl+Shift+A")
        self.client_mode_button.setToolTip(
            "Hand the laptop to the selected session's client for this questionnaire: one "
            "question a screen; your screens come back with the PIN"
        )
        self.client_mode_button.setEnabled(False)
        self.client_mode_button.clicked.connect(self._on_client_mode)
        client_keys = QShortcut(QKeySequence("Ctrl+Shift+A"), self)
        client_keys.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        client_keys.activated.connect(self._on_client_mode)
        list_buttons = QHBoxLayout()
        list_buttons.addWidget(self.start_selected)
        list_buttons.addStretch(1)
        list_buttons.addWidget(self.rehearsal_button)
        # The client's own answers (a questionnaire, the music's ratings) on a row of their
        # own: beside the other buttons they made the home screen 1374 px wide under X, past a
        # 1366 px laptop screen.
        client_row = QHBoxLayout()
        client_row.addWidget(self.instrument_choice)
        client_row.addWidget(self.client_mode_button)
        client_row.addWidget(self.action_row.rate_button)  # the client's view, side by side
        client_row.addStretch(1)

        self.clinicians = _clinician_panel(self)
        list_box = QGroupBox("Sessions")
        list_layout = QVBoxLayout(list_box)
        list_layout.addWidget(self.sessions)
        list_layout.addLayout(self.action_row)
        list_layout.addLayout(list_buttons)
        list_layout.addLayout(client_row)

        body = QHBoxLayout()
        body.addWidget(self.form, 2)
        body.addWidget(list_box, 3)
        # Everything scrolls as one page when the window is shorter than the home screen's
        # content (flagged answers, sessions waiting for a signature or a form: each list
        # grows it), so nothing is ever pushed below a small laptop screen's edge.
        content = QWidget()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        # Not a stop of its own in the Tab order (the form's keys stay as they were); it
        # still brings the focused field into view.
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        scroll.setWidget(content)
        page = QVBoxLayout(self)
        page.setContentsMargins(0, 0, 0, 0)
        page.addWidget(scroll)
        layout = QVBoxLayout(content)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.addWidget(title)
        layout.addWidget(where)
        layout.addLayout(body)
        layout.addWidget(self.clinicians)
        self.measure_prompts = MeasurePrompts(self.service.store, self.service.clock)  # issue 18
        layout.insertWidget(2, self.measure_prompts)
        self.forms_waiting = FormsWaiting(self.service.store)  # issue 15
        layout.addWidget(self.forms_waiting)
        self.action_row.on_exported = self.forms_waiting.refresh

    # --- data ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        store = self.service.store
        self.form.set_client_codes([c.code for c in store.clients() if not c.rehearsal])
        records = store.sessions()
        self.sessions.show_sessions(records)
        self.clinicians.refresh()
        self.forms_waiting.refresh()
        self.measure_prompts.refresh()
        if not records:
            self.rehearsal_button.setDefault(True)
        self._on_selection()

    def _selected(self) -> SessionRecord | None:
        chosen = self.sessions.selected_id()
        return None if chosen is None else self.service.store.session(chosen)

    def _on_selection(self) -> None:
        record = self._selected()
        allowed = session_actions(record, latest_given(self.service.store.sessions()))
        self.start_selected.setEnabled(allowed.give_dose)
        self.client_mode_button.setEnabled(self._for_client_mode() is not None)
        self.action_row.show_allowed(allowed)

    def _for_client_mode(self) -> SessionRecord | None:
        """The selected session, else the newest one: whose client answers."""
        records = self.service.store.sessions()
        return self._selected() or (records[-1] if records else None)

    def _on_client_mode(self) -> None:
        record = self._for_client_mode()
        ident = self.instrument_choice.currentData()
        if record is not None and isinstance(ident, str):
            self.client_mode_requested.emit(record.client_code, ident)

    # --- planning and the dose -----------------------------------------------------------------
    def _on_plan(self) -> None:
        def plan() -> None:
            record = self.service.plan(self.form.plan())
            self.form.clear()
            self.refresh()
            say(self.form_status, f"Planned session #{record.id} for {record.client_code}.")

        guarded(plan, self.form_status)

    def _on_dose_now(self) -> None:
        def dose() -> None:
            plan = validate_plan(self.form.plan())  # a clear message before any question
            if not self._music_ok(self.arc_picker.check_now()):
                return
            items = unprepared_items(self.service, plan.protocol)
            question = dose_question(
                plan.client_code, plan.dose_mg, plan.route, items, planned=False
            )
            gate = self._gate(question, items)
            if gate is None:
                return
            record = self.service.plan(plan)
            live = self.service.give_dose(record.id, gate)
            self.form.clear()
            self.dose_given.emit(live)

        guarded(dose, self.form_status)

    def _on_start_selected(self) -> None:
        record = self._selected()
        if not can_give_dose(record):
            return
        assert record is not None

        def start() -> None:
            report = self.arc_picker.check_now(record.arc or "", record.planned_minutes)
            if not self._music_ok(report):
                return
            still_open = planned_items(self.service, record.id, record.protocol)
            question = dose_question(
                record.client_code, record.dose_mg, record.route, still_open, planned=True
            )
            gate = self._gate(question, still_open)
            if gate is None:
                return
            self.dose_given.emit(self.service.give_dose(record.id, gate))

        guarded(start, self.form_status)

    def _gate(self, question: str, items: list[str]) -> tuple[list[str], str] | None:
        """The start gate (issue 15): nothing unmet, the usual question; else the question with
        the unmet items and a reason, recorded with the dose. None: not now."""
        if not items:
            return ([], "") if self._confirm(DOSE_TITLE, question) else None
        reason = self._ask_reason(DOSE_TITLE, question)
        return (items, reason) if reason else None

    def _music_ok(self, report: PreflightReport | None) -> bool:
        """A failing track asks whether to go on (it would be skipped during the session)."""
        question = music_question(report)
        return question is None or self._confirm(MUSIC_TITLE, question)


def _clinician_panel(home: HomeView) -> ClinicianPanel:
    """Who is charting, the clinicians, and the sessions waiting for a signature (issue 14);
    Ctrl+U and Ctrl+Shift+S on the whole home screen."""
    service = home.service
    cosign = {pid for pid, p in service.protocols.items() if p.cosignature_required}
    panel = ClinicianPanel(service.store, service.tz, cosign, home._confirm, home._selected)
    panel.bind_keys(home)
    panel.changed.connect(home.refresh)
    return panel


def _choose_file(parent: QWidget, suggested: Path) -> Path | None:
    """Where an export is saved: the file dialog's module (QFileDialog's class and enums, ~3 ms)
    is imported when an export is first asked for, not while the home screen is built."""
    from ..export_dialog import choose_file

    return choose_file(parent, suggested)
