"""The home screen's row of actions on the session chosen in the list (with nothing chosen,
review and course act on the newest session given): prepare, worksheet, review, course and
export, each with its key. Which of them a session allows is the core's decision
(`kapsession.integration.planning.session_actions`); this row opens the windows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from kapsession.integration.planning import SessionActions, latest_given
from kapsession.session.live import SessionService
from kapsession.storage.store import SessionRecord

from ..settings import Settings
from .status_line import guarded, say

if TYPE_CHECKING:
    from ..export_dialog import ChooseFile


class ActionRow(QHBoxLayout):
    """A row of its own: the session list's other buttons already fill its width. `host` (the
    home screen) carries the keys and parents the windows opened from here."""

    def __init__(
        self,
        host: QWidget,
        service: SessionService,
        confirm: Callable[[str, str], bool],
        selected: Callable[[], SessionRecord | None],
        status: QLabel,
        choose_file: ChooseFile,
        after_dialog: Callable[[], None],
        settings: Settings,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._host, self._service, self._confirm = host, service, confirm
        self._selected, self._status = selected, status
        self.choose_file = choose_file  # where an export is saved (tests pass their own)
        self._after_dialog = after_dialog
        self.on_exported: Callable[[], None] = lambda: None
        self.prepare_button = QPushButton("Prepare…  Alt+P")
        self.prepare_button.setToolTip(
            "Intention, screening and consent, set and setting, grounding (planned sessions)"
        )
        self.worksheet_button = QPushButton("Worksheet…  Alt+W")
        self.worksheet_button.setToolTip("The integration worksheet (sessions given their dose)")
        self.rate_button = QPushButton("Rate music…  Alt+R")
        self.rate_button.setToolTip(
            "The client's view of the music: liking, resonance, openness 0-10 (ended sessions)"
        )
        # Their windows are built on first use: pyqtgraph is heavy.
        self.review_button = QPushButton("Review…")
        self.review_button.setToolTip(
            "The selected session (or the newest) as one timeline (Ctrl+R)"
        )
        self.course_button = QPushButton("Course…")
        self.course_button.setToolTip(
            "Every session of the selected session's client (Ctrl+Shift+C)"
        )
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip(
            "PDF summary, client handouts, Markdown, JSON or FHIR for the selected session "
            "(Ctrl+Shift+X)"
        )
        for button, slot in (
            (self.prepare_button, self.prepare),
            (self.worksheet_button, self.worksheet),
            (self.rate_button, self.rate_music),
            (self.review_button, self.review),
            (self.course_button, self.course),
            (self.export_button, self.export),
        ):
            button.clicked.connect(slot)
            if button is not self.rate_button:  # the home screen puts it by the questionnaire
                self.addWidget(button)
        self.addStretch(1)
        self.review_button.setEnabled(False)
        self.course_button.setEnabled(False)
        for keys, slot in (("Ctrl+R", self.review), ("Ctrl+Shift+C", self.course)):
            QShortcut(QKeySequence(keys), host).activated.connect(slot)
        for keys, slot in (
            ("Ctrl+Shift+X", self.export),
            ("Alt+P", self.prepare),
            ("Alt+W", self.worksheet),
            ("Alt+R", self.rate_music),
            ("F1", self.shortcuts),
        ):
            shortcut = QShortcut(QKeySequence(keys), host)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    def show_allowed(self, allowed: SessionActions) -> None:
        self.prepare_button.setEnabled(allowed.prepare)
        self.worksheet_button.setEnabled(allowed.worksheet)
        self.rate_button.setEnabled(allowed.worksheet)
        self.export_button.setEnabled(allowed.export)
        self.review_button.setEnabled(allowed.review)
        self.course_button.setEnabled(allowed.course)

    def _chosen_or_newest(self) -> SessionRecord | None:
        return self._selected() or latest_given(self._service.store.sessions())

    # --- preparation and the integration worksheet -------------------------------------------
    def prepare(self) -> None:
        record = self._selected()
        # A running session is on the live screen: preparing it belongs there, with the dose
        # clock's time (PreparationDialog takes `elapsed`).
        if record is None or record.state != "planned":
            say(self._status, "Select a planned session in the list to prepare it.", error=True)
            return
        # Imported on first use, as the review and export windows are: the home screen's first
        # paint does not wait for them.
        from .preparation_dialog import PreparationDialog

        self._open_record_dialog(PreparationDialog, record.id)

    def worksheet(self) -> None:
        record = self._selected()
        if record is None or record.state == "planned":
            say(
                self._status,
                "Select a session that was given its dose to open its worksheet.",
                True,
            )
            return
        from .worksheet_dialog import WorksheetDialog

        self._open_record_dialog(WorksheetDialog, record.id)

    def rate_music(self) -> None:
        """The quick form for the client's three music ratings (issue 17)."""
        record = self._selected()
        if record is None or record.state != "ended":
            say(self._status, "Select an ended session to rate its music.", True)
            return
        from .music_rating import MusicRatingDialog

        self._open_record_dialog(MusicRatingDialog, record.id)

    def _open_record_dialog(self, kind: Callable[..., QDialog], session_id: int) -> None:
        def open_it() -> None:
            service = self._service
            dialog = kind(
                service.store,
                session_id,
                service.clock,
                service.tz,
                service.author,
                confirm=self._confirm,
                parent=self._host,
            )
            dialog.exec()
            dialog.deleteLater()  # parented to the home screen: would otherwise live as long

        guarded(open_it, self._status)  # reading the session can fail too (a vanished disk)
        self._after_dialog()

    # --- review, course, export --------------------------------------------------------------
    def review(self) -> None:
        record = self._chosen_or_newest()
        if record is None or record.state == "planned":
            return
        from ..review import open_review

        open_review(self._service.store, record.id, self._host, settings=self._settings)

    def course(self) -> None:
        record = self._chosen_or_newest()
        if record is None:
            return
        from ..review import CourseWindow, open_review

        store, host, settings = self._service.store, self._host, self._settings
        window = CourseWindow(
            store,
            record.client_code,
            lambda session_id: open_review(store, session_id, host, settings=settings),
            host,
            settings=settings,
        )
        window.show()
        window.activateWindow()

    def export(self) -> None:
        record = self._chosen_or_newest()
        if record is None:
            say(self._status, "Select a session in the list to export it.", error=True)
            return

        def open_it() -> None:
            from ..export_dialog import ExportDialog

            service = self._service
            dialog = ExportDialog(
                service.store,
                record.id,
                service.tz,
                service.author,
                self.choose_file,
                self._host,
                settings=self._settings,
            )
            if dialog.exec() and dialog.written is not None:
                say(self._status, f"Written: {dialog.written}")
                self.on_exported()  # the list of forms not exported yet (issue 15)
            dialog.deleteLater()

        guarded(open_it, self._status)

    def shortcuts(self) -> None:
        from ..dialogs import ShortcutsDialog

        dialog = ShortcutsDialog(self._host)
        dialog.exec()
        dialog.deleteLater()
