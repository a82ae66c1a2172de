"""The main window: the home screen or the live screen, and what happens when it is closed."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable, Mapping
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QStackedLayout,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kapsession.errors import KapsessionError
from kapsession.monitoring.medication import available_catalogue
from kapsession.music.arc import Arc
from kapsession.music.cue import CuePlayer
from kapsession.session.live import LiveSession, SessionService
from kapsession.storage.store import SessionRecord

from . import messages
from .executor import Executor
from .home import ArcCheck, HomeView
from .live.hub_line import HubFeed, HubLine
from .lock import IdleWatcher, LockConfig, LockScreen
from .lock_coordinator import LockCoordinator
from .qt_lists import top_level_widgets
from .settings import Settings

if TYPE_CHECKING:
    from .client_mode import ClientModePage
    from .live.screen import LiveView, MusicFactory
    from .scheduler import GuiScheduler

log = logging.getLogger("kapsession.ui.main")


SCRIPTED_REASON = "answered by a scripted confirmation (no reason typed)"


class MainWindow(QMainWindow):
    session_ended = Signal()  # after a session's end was saved and the home screen is back
    lock_changed = Signal(bool)  # True: locked; for the audit trail (no clinical content)

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
        executor: Executor | None = None,
        screen_lock: LockConfig | None = None,
        settings: Settings | None = None,
        schedulers: Callable[[QObject], GuiScheduler] | None = None,
        parent: QWidget | None = None,
        ask_reason: Callable[[str, str], str | None] | None = None,
    ) -> None:
        super().__init__(parent)
        # The app's one Settings (built in ui/app.py), for the screens that remember choices.
        self.settings = settings if settings is not None else Settings()
        # Builds each live session's scheduler (the composition root's choice; one a session,
        # shut down with its screen).
        self._schedulers = schedulers or new_scheduler
        self.setWindowTitle("kapsession")
        self._cue_player = cue_player
        self._music = music
        self._smoke = smoke
        self._start_rehearsal = start_rehearsal
        self._data_dir = Path(data_dir)
        self._confirm = confirm or (lambda title, text: messages.confirm(self, title, text))
        self.stack = QStackedWidget()
        if ask_reason is None and confirm is not None:
            # A scripted run that answers the questions itself (tests, smoke runs) answers the
            # start gate's question with it too; the reason says so on the record.
            def ask_reason(title: str, text: str) -> str | None:
                return SCRIPTED_REASON if self._confirm(title, text) else None

        self.home = HomeView(
            service,
            self._confirm,
            str(data_dir),
            arcs,
            check_arc,
            executor,
            settings=self.settings,
            ask_reason=ask_reason,
        )
        self.home.dose_given.connect(self.show_live)
        self.home.client_mode_requested.connect(self.start_client_mode)
        self.home.rehearsal_requested.connect(self._on_rehearsal)
        self.stack.addWidget(self.home)
        # The screen lock is a page beside the app, not a layer in it: showing it hides the
        # app's widgets (their text, their shortcuts) while leaving them running.
        self.lock_screen = LockScreen(
            screen_lock.verify if screen_lock else None,
            tries=screen_lock.tries if screen_lock else None,
        )
        self.lock_screen.unlocked.connect(self.unlock)
        # The clinic hub's dim line under the home and live screens (hidden unless the folder
        # has joined a hub); part of the app's page, so the lock screen hides it too.
        self.hub_feed = HubFeed(self)
        self.hub_line = HubLine(self.hub_feed)
        app_page = QWidget()
        column = QVBoxLayout(app_page)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.stack, 1)
        column.addWidget(self.hub_line)
        self.hub_line.setContentsMargins(24, 0, 24, 6)
        self._pages = QStackedLayout()
        self._pages.addWidget(app_page)
        self._app_page = app_page
        self._pages.addWidget(self.lock_screen)
        holder = QWidget()
        holder.setLayout(self._pages)
        self.setCentralWidget(holder)
        self.live_view: LiveView | None = None
        self.client_page: ClientModePage | None = None  # client mode (issue 18)
        self._client_lock_audited = False  # client mode's start went on the trail as a lock
        self._client_problem = ""
        self._title = "kapsession"
        self._shutting_down = False
        self._refocus: QWidget | None = None
        # Which windows the lock hides, what may show while locked, Ctrl+L and the idle time
        # in every window: decided in one place, for the whole app.
        self.locks: LockCoordinator | None = None
        self.idle: IdleWatcher | None = None
        if screen_lock is not None:
            self.locks = LockCoordinator(self, screen_lock.idle_ms)
            self.locks.lock_requested.connect(self.lock)
            self.idle = self.locks.idle
        quit_shortcut = QShortcut(QKeySequence("Ctrl+Q"), self)
        quit_shortcut.activated.connect(self.close)
        if smoke:
            self.resize(1280, 800)
        else:
            self.settings.restore_geometry(self, "main", 1280, 800)

    def show_live(self, live: LiveSession) -> None:
        # Imported on first use: the live screen brings APScheduler (~85 ms), which the home
        # screen does not need before its first paint (measured with bench/run.py).
        from .live.screen import LiveView

        # The medicines list with the clinic's own (<data>/medicines/*.toml); a bad clinic file
        # leaves the shipped list and the other files in use, and is said on the live screen.
        catalogue, problems = available_catalogue(self._data_dir)
        live.medication.catalogue = catalogue
        view = LiveView(
            live,
            self._cue_player,
            self._music,
            settings=self.settings,
            # The protocol's checks fire through it; the screen shuts it down when it stops.
            scheduler=self._schedulers(self),
        )
        view.ended.connect(self._on_ended)
        # Each entry committed is synced at once while the hub is reachable (the board sees it).
        live.entry_added.connect(lambda _event: self.hub_feed.committed())
        if problems:
            view.status.setText("Medicines list: " + " ".join(problems))
        self.live_view = view
        self.stack.addWidget(view)
        self.stack.setCurrentWidget(view)
        self._set_title(f"kapsession · {live.record.client_code}")
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
        self._set_title("kapsession")

    def _set_title(self, title: str) -> None:
        self._title = title
        if not self.locked:
            self.setWindowTitle(title)

    # --- screen lock ---------------------------------------------------------------------
    @property
    def locked(self) -> bool:
        return self._pages.currentWidget() is self.lock_screen

    def lock(self) -> None:
        """Show only the dose clock, the phase and whether a check is due; every other window
        of the app leaves the screen until the unlock (an open form is closed unsaved: it
        may show clinical text)."""
        if self.locked:
            return
        if self.client_page is not None:  # Ctrl+L in client mode: keep the run, then lock
            self.end_client_mode()
            return
        focus = QApplication.focusWidget()
        self._refocus = focus if focus is not None and self.isAncestorOf(focus) else None
        if self.locks is not None:
            self.locks.engage()
        self.lock_screen.engage(self.live_view.live if self.live_view is not None else None)
        self._pages.setCurrentWidget(self.lock_screen)
        # Hidden is not enough: a form closed by the lock gives the focus back to the note
        # field when its exec() returns, and keys would then go to a field nobody sees.
        self.stack.setEnabled(False)
        self.setWindowTitle("kapsession · locked")
        self.lock_screen.secret.setFocus()
        if not self._client_lock_audited:  # else written when client mode began
            self.lock_changed.emit(True)
        self._client_lock_audited = False

    def unlock(self) -> None:
        if not self.locked:
            return
        self.lock_screen.detach()
        self.stack.setEnabled(True)
        self._pages.setCurrentWidget(self._app_page)
        self.setWindowTitle(self._title)
        target = self._refocus
        if target is None and self.live_view is not None:
            target = self.live_view.note
        if target is not None:
            target.setFocus()
        self._refocus = None
        if self.locks is not None:
            self.locks.release()
        self.lock_changed.emit(False)

    # --- client mode (issue 18) ------------------------------------------------------------
    def start_client_mode(self, client_code: str, instrument_id: str) -> None:
        """Hand the laptop to the client for one questionnaire: every other window leaves the
        screen (the lock's machinery) and this window shows only the questionnaire; when it
        ends it is saved and the lock screen asks for the PIN."""
        from kapsession.integration.client_run import ClientRun
        from kapsession.integration.instrument import instrument

        from .client_mode import ClientModePage

        if self.locked or self.client_page is not None:
            return
        try:
            run = ClientRun(instrument(self._data_dir, instrument_id), client_code)
        except KapsessionError as exc:
            messages.error(self, str(exc))
            return
        if self.locks is not None:
            self.locks.engage()  # pauses the idle lock too: the client may take their time
        # On the audit trail as a lock: an app killed while the client holds the laptop opens
        # locked (ui/app.py), never on the clinician's screens.
        self.lock_changed.emit(True)
        self._client_lock_audited = True
        self._client_problem = ""
        service = self.home.service

        def keep() -> None:
            try:
                run.keep(service.store, service.clock)
            except (KapsessionError, sqlite3.Error) as exc:
                # Never the answers: only what failed. The run goes on; its end saves it.
                log.error("client mode: an answer was not kept: %s", type(exc).__name__)
                self._client_problem = (
                    "An answer could not be kept as it was given (is the disk full or read-only?)."
                )

        page = ClientModePage(run, keep=keep)
        page.finished.connect(self.end_client_mode)
        self.client_page = page
        self._pages.addWidget(page)
        self._pages.setCurrentWidget(page)
        self.stack.setEnabled(False)
        self.setWindowTitle(f"kapsession · {run.instrument.name}")
        page.setFocus()

    def end_client_mode(self) -> None:
        """Save the run (complete, or as far as it went) and lock: only the PIN goes back."""
        page, self.client_page = self.client_page, None
        if page is None:
            return
        page.run.stop()
        service = self.home.service
        problem = ""
        try:
            page.run.save(service.store, self._data_dir, service.clock)
        except KapsessionError as exc:
            problem = str(exc)
        except sqlite3.Error as exc:
            log.error("client mode: the answers were not saved: %s", type(exc).__name__)
            problem = "The answers could not be saved (is the disk full or read-only?)."
        self._pages.removeWidget(page)
        page.deleteLater()
        self._pages.setCurrentWidget(self._app_page)
        self.stack.setEnabled(True)
        self.setWindowTitle(self._title)
        self.home.refresh()
        self.lock()
        problem = problem or self._client_problem
        if problem:
            self.home.form_status.setText(problem)
        elif page.run.saved is not None:
            state = "complete" if page.run.saved.complete else "kept as incomplete"
            self.home.form_status.setText(f"{page.run.instrument.name} answered: {state}.")

    def _on_rehearsal(self) -> None:
        try:
            live = self._start_rehearsal(1.0)
        except Exception as exc:  # shown through the one error path, then the app goes on
            messages.error(self, str(exc))
            return
        self.show_live(live)

    def shut_down(self) -> None:
        """The system is stopping us (logout, shutdown, SIGTERM): no questions, nothing lost;
        the running session resumes on the next launch.

        A message or form that is open at that moment runs its own event loop, and closing this
        window alone left the process waiting on it for ever (a skipped-files message at start-up
        held a terminated app open). So every other window is closed first, then this one (which
        records the close of a running session), and then every event loop is told to end."""
        self._confirm = lambda _title, _text: True
        self._shutting_down = True
        for widget in top_level_widgets():
            if widget is not self and widget.isVisible():
                widget.close()
        self.close()
        QApplication.exit(0)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.client_page is not None:
            if not self._shutting_down:
                event.ignore()  # the client holds the laptop: the clinician ends it
                return
            self.client_page.run.stop()  # the system stops us: keep what was answered
            with contextlib.suppress(KapsessionError, sqlite3.Error):
                self.client_page.run.save(
                    self.home.service.store, self._data_dir, self.home.service.clock
                )
        if self.locked and not self._shutting_down:
            event.ignore()  # unlock first: a locked screen is not the therapist's
            return
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
            self.settings.remember_geometry(self, "main")
        event.accept()


def new_scheduler(parent: QObject) -> GuiScheduler:
    """The protocol's check scheduler for one live session, on the GUI thread. APScheduler is
    imported only now: the home screen's first paint does not wait for it (~85 ms)."""
    from .scheduler import GuiScheduler

    return GuiScheduler(parent, timezone=UTC)
