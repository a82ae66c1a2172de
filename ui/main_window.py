"""The main window: the home screen or the live screen, and what happens when it is closed."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QStackedWidget, QWidget

from kapsession.arc import Arc
from kapsession.audio import CuePlayer
from kapsession.errors import KapsessionError
from kapsession.session import LiveSession, SessionService
from kapsession.store import SessionRecord

from . import messages
from .home_view import ArcCheck, HomeView

if TYPE_CHECKING:
    from .live_view import LiveView, MusicFactory

log = logging.getLogger("kapsession.ui.main")


class MainWindow(QMainWindow):
    session_ended = Signal()  # after a session's end was saved and the home screen is back

    def __init__(
        self,
        service: SessionService,
        start_rehearsal: Callable[[float], LiveSession],
        data_dir: Path,
        smoke: bool = False,
        confirm: Callable[[str, str], bool] | None = None,
        cue_player: Callable[[], CuePlayer] | None = None,
        music: MusicFactory | None = None,
        arcs: Mapping[str, Arc] | None = None,
        check_arc: ArcCheck | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("kapsession")
        self._cue_player = cue_player
        self._music = music
        self._smoke = smoke
        self._start_rehearsal = start_rehearsal
        self._confirm = confirm or (lambda title, text: messages.confirm(self, title, text))
        self.stack = QStackedWidget()
        self.home = HomeView(service, self._confirm, str(data_dir), arcs, check_arc)
        self.home.dose_given.connect(self.show_live)
        self.home.rehearsal_requested.connect(self._on_rehearsal)
        self.stack.addWidget(self.home)
        self.setCentralWidget(self.stack)
        self.live_view: LiveView | None = None
        quit_shortcut = QShortcut(QKeySequence("Ctrl+Q"), self)
        quit_shortcut.activated.connect(self.close)
        self._settings = QSettings()
        geometry = self._settings.value("main/geometry")
        if isinstance(geometry, QByteArray) and not smoke:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)

    def show_live(self, live: LiveSession) -> None:
        # Imported on first use: the live screen brings APScheduler (~85 ms), which the home
        # screen does not need before its first paint (measured with bench/run.py).
        from .live_view import LiveView

        view = LiveView(live, self._cue_player, self._music)
        view.ended.connect(self._on_ended)
        self.live_view = view
        self.stack.addWidget(view)
        self.stack.setCurrentWidget(view)
        self.setWindowTitle(f"kapsession · {live.record.client_code}")
        view.note.setFocus()

    def _on_ended(self, record: SessionRecord) -> None:
        self._drop_live()
        self.home.refresh()
        self.home.form_status.setText(f"Session #{record.id} ended and saved.")
        self.session_ended.emit()

    def _drop_live(self) -> None:
        if self.live_view is not None:
            self.live_view.stop()
            self.stack.removeWidget(self.live_view)
            self.live_view.deleteLater()
            self.live_view = None
        self.stack.setCurrentWidget(self.home)
        self.setWindowTitle("kapsession")

    def _on_rehearsal(self) -> None:
        try:
            live = self._start_rehearsal(1.0)
        except Exception as exc:  # shown through the one error path, then the app goes on
            messages.error(self, str(exc))
            return
        self.show_live(live)

    def shut_down(self) -> None:
        """The system is stopping us (logout, shutdown, SIGTERM): no questions, nothing lost;
        the running session resumes on the next launch."""
        self._confirm = lambda _title, _text: True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        view = self.live_view
        if view is not None and not self._smoke:
            if not self._confirm(
                "Close kapsession?",
                "The session keeps running. When you open kapsession again it continues "
                "at the right time, with every note.\n\nClose the window now?",
            ):
                event.ignore()
                return
            view.stop_music()  # the track's end goes on the timeline before the close
            try:
                view.live.close()
            except (KapsessionError, sqlite3.Error, OSError) as exc:
                # The close marker is only a label for the gap; the session still resumes.
                log.warning("close not recorded: %s", type(exc).__name__)
            view.stop()
        if not self._smoke:
            self._settings.setValue("main/geometry", self.saveGeometry())
        event.accept()
