"""The screen lock: after an idle time, or at once with Ctrl+L, the window shows only the dose
clock, the phase and whether a check is due — no client code, names or notes — until the PIN
(or the clinic passphrase) is typed.

The live screen is not stopped or rebuilt: the main window only shows this page instead of it,
so its clock, checks and music keep running, and its half-typed note and focus come back on
unlock. While it shows, the app's other widgets are hidden: they get no input and fire no
shortcuts."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QGuiApplication, QWindow
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from kapsession.clock import SystemClock
from kapsession.session.live import LiveSession
from kapsession.storage.store import Event
from kapsession.storage.unlock_tries import FREE_TRIES, Backoff, UnlockTries

from .format import t_plus
from .plain_text import plain_label

# What counts as the therapist being there (resets the idle countdown). A key that is a
# shortcut (the review's arrows, J/K, zoom) never arrives as a KeyPress: its ShortcutOverride,
# which the window sees before every key, counts it.
_ACTIVITY = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.ShortcutOverride,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TabletPress,
    }
)


__all__ = ["FREE_TRIES", "IdleWatcher", "LockConfig", "LockScreen"]


@dataclass(frozen=True)
class LockConfig:
    """`verify` checks what was typed (None: no PIN and no passphrase, Enter unlocks);
    `idle_ms` locks after that much time without input (0: only on demand); `tries` keeps
    the wrong tries (on the audit trail; None: in memory only)."""

    verify: Callable[[str], bool] | None
    idle_ms: int = 5 * 60_000
    tries: UnlockTries | None = None


class IdleWatcher(QObject):
    """Any input restarts the countdown; at its end, `idle` fires.

    It watches every window of the app (each one as it takes the focus: the main window and
    any dialog) rather than the QApplication: input passes through its window first, and a
    Python filter on the application would run for every event of every object, slow enough
    at start-up that the first keystrokes typed into a fresh window were lost (seen under
    Xvfb). While `paused` (the lock shows) there is nothing to count down."""

    idle = Signal()

    def __init__(self, idle_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.idle)
        self._idle_ms = idle_ms
        self.paused = False
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.focusWindowChanged.connect(self.watch)
            self.watch(app.focusWindow())
        self.restart()

    def watch(self, window: QWindow | None) -> None:
        if window is not None:
            window.installEventFilter(self)  # installing twice keeps one filter

    def restart(self) -> None:
        if self._idle_ms > 0 and not self.paused:
            self._timer.start(self._idle_ms)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY:
            self.restart()
        return False


class LockScreen(QWidget):
    """The page shown while locked. `refresh` reads the running session (if any) for the dose
    clock, the phase and whether a check is due; nothing else of the session is shown."""

    unlocked = Signal()

    def __init__(
        self,
        verify: Callable[[str], bool] | None,
        parent: QWidget | None = None,
        tries: UnlockTries | None = None,
    ) -> None:
        super().__init__(parent)
        self._verify = verify
        self._tries = tries if tries is not None else UnlockTries(None, SystemClock())
        self._live: LiveSession | None = None
        self._events: list[Event] = []
        self.title = plain_label("Locked")
        self.title.setProperty("role", "muted")
        self.clock = plain_label("")
        self.clock.setProperty("role", "clock")
        self.clock.setAccessibleName("Time since dose")
        font = QFont("DejaVu Sans Mono")  # as on the live screen: read from across the room
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setBold(True)
        font.setPixelSize(120)
        self.clock.setFont(font)
        self.phase = plain_label("")
        self.phase.setStyleSheet("font-size: 18pt;")
        self.check = plain_label("")
        self.check.setStyleSheet("font-size: 14pt; padding: 6px 18px;")
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setAccessibleName("PIN or passphrase to unlock")
        self.secret.setMinimumWidth(340)
        self.secret.setMaximumWidth(420)
        self.secret.setPlaceholderText(
            "PIN or passphrase, then Enter" if verify else "No PIN is set: press Enter"
        )
        self.secret.returnPressed.connect(self._on_enter)
        self.status = plain_label("")
        self.status.setProperty("role", "status")
        for label in (self.title, self.clock, self.phase, self.check, self.status):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.clock)
        layout.addWidget(self.phase)
        layout.addWidget(self.check, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(24)
        layout.addWidget(self.secret, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self._hold = QTimer(self)
        self._hold.setSingleShot(True)
        self._hold.timeout.connect(self._end_hold)
        self._timer = QTimer(self)
        self._timer.setInterval(250)  # follows the dose clock's seconds closely enough
        self._timer.timeout.connect(self.refresh)

    def engage(self, live: LiveSession | None) -> None:
        self.detach()
        self._live = live
        self._events = live.events() if live is not None else []
        if live is not None:
            live.entry_added.connect(self._events.append)
        self.secret.clear()
        if not self._hold.isActive():
            self.status.clear()
            pending = self._tries.state()  # wrong tries before a restart still count
            if pending.wait_s > 0:
                self._hold_off(pending)
        self.refresh()
        self._timer.start()
        self.secret.setFocus()

    def detach(self) -> None:
        self._timer.stop()
        if self._live is not None:
            self._live.entry_added.disconnect(self._events.append)
        self._live = None
        self._events = []

    def refresh(self) -> None:
        live = self._live
        if live is None:
            self.clock.setText("")
            self.phase.setText("No session is running")
            self.check.setText("")
            return
        t = live.elapsed()
        self.clock.setText(t_plus(t))
        self.phase.setText(f"{live.phase().name.capitalize()} phase")
        monitoring = live.monitoring
        waiting = monitoring.due_now(self._events, t) if monitoring is not None else []
        if waiting:
            self.check.setText(f"A check is due ({len(waiting)}): unlock to record it")
            self.check.setProperty("role", "due")
        else:
            self.check.setText("No check due")
            self.check.setProperty("role", "muted")
        self.check.style().unpolish(self.check)
        self.check.style().polish(self.check)

    def _on_enter(self) -> None:
        typed = self.secret.text()
        self.secret.clear()
        if self._verify is not None:
            self.status.setText("Checking…")
            self.status.repaint()
            if not self._verify(typed):
                backoff = self._tries.failed()
                if backoff.wait_s > 0:
                    self._hold_off(backoff)
                else:
                    self.status.setText("That is not the PIN or passphrase. Try again.")
                return
        self._tries.succeeded()
        self.status.clear()
        self.unlocked.emit()

    def _hold_off(self, backoff: Backoff) -> None:
        """After FREE_TRIES wrong tries, each further one waits longer (kapsession.storage.unlock_tries)."""
        seconds = math.ceil(backoff.wait_s)
        self.secret.setEnabled(False)
        self.status.setText(
            f"{backoff.failures} wrong tries. Wait {seconds} seconds, then try again."
        )
        self._hold.start(math.ceil(backoff.wait_s * 1000))

    def _end_hold(self) -> None:
        self.secret.setEnabled(True)
        self.status.setText("Try again.")
        self.secret.setFocus()
