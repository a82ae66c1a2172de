"""The app's first paint, and what waits for it.

Start-up paints first and does the rest afterwards (ui/app.py): `FirstPaint` watches the
top-level windows until the main window has painted the first screen a therapist can act on,
then runs what was held back (the music pre-flight, the backup timer, naming skipped files,
warming sqlite-utils' import) from the event loop, one after the other.

`--smoke` exits once the main window's first paint is done: the home screen with its session
list filled, or the lock screen when the app was stopped locked (never a splash, never the
frame alone). With $KAPSESSION_SMOKE_STAMPS naming a file, a `--smoke` run appends one line
per milestone there, `<name> <time.monotonic_ns()>` (CLOCK_MONOTONIC, system-wide: the
benchmark subtracts its own spawn time): `first_paint` when any top-level window of the app
(the main window, the "Opening the record…" window of an encrypted folder, the passphrase
prompt) has painted for the first time, `ready` when the main window has. Nothing else is
written there: no clinical text, no paths."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
from PySide6.QtWidgets import QWidget

STAMPS_ENV = "KAPSESSION_SMOKE_STAMPS"


def stamp(path: str | None, milestone: str) -> None:
    """Append `<milestone> <monotonic ns>` to the stamps file (nothing without one)."""
    if not path:
        return
    line = f"{milestone} {time.monotonic_ns()}\n"
    try:
        with open(path, "a", encoding="ascii") as handle:
            handle.write(line)
    except OSError:
        pass  # a benchmark's file: never a reason for the app to fail


class FirstPaint(QObject):
    """Watches the paints of the app's top-level windows (each one handed to `watch`: the
    "Opening the record…" window, a passphrase or set-up prompt, the main window) until the
    main window has painted, then runs the callbacks given to `after_ready` from the event
    loop, once that paint has been delivered.

    Never an application-wide filter: every event of every object would then be handed to
    Python, and each object's class initialised for it (measured: 132 more Qt enum types made,
    ~50 ms of start-up)."""

    def __init__(self, stamps: str | None = None) -> None:
        super().__init__()
        self._stamps = stamps
        self.first_painted = False
        self.ready = False
        self._ready_window: QWidget | None = None
        self._opening: QWidget | None = None
        self._after: list[Callable[[], None]] = []

    def watch(self, window: QWidget, ready: bool = False) -> None:
        """A top-level window of the app; `ready`: the main window, whose first paint is the
        first screen a therapist can act on."""
        if ready:
            self._ready_window = window
        window.installEventFilter(self)

    def prompt(self, dialog: QWidget) -> None:
        """A passphrase or set-up prompt is about to be shown: it takes the place of the
        "Opening the record…" window (if one is up), and its first paint counts."""
        if self._opening is not None:
            self._opening.hide()
        self.watch(dialog)

    def after_ready(self, work: Callable[[], None]) -> None:
        """Run `work` from the event loop after the main window's first paint (at once, from
        the event loop, if that paint is already done)."""
        if self.ready:
            QTimer.singleShot(0, work)
        else:
            self._after.append(work)

    def show_painted(self, window: QWidget, give_up_ms: int = 2000) -> None:
        """Show `window` and spin the event loop until it has painted once (or `give_up_ms`
        passed): what follows (the key derivation) then runs behind a painted window."""
        self._opening = window
        self.watch(window)
        loop = QEventLoop()
        done = _PaintedOnce(loop)
        window.installEventFilter(done)
        QTimer.singleShot(give_up_ms, loop.quit)
        window.show()
        loop.exec()
        window.removeEventFilter(done)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Paint or not isinstance(watched, QWidget):
            return False
        if not self.first_painted:
            self.first_painted = True
            stamp(self._stamps, "first_paint")
        if watched is not self._ready_window:
            watched.removeEventFilter(self)  # it has painted once: nothing more to see
        elif not self.ready:
            self.ready = True
            stamp(self._stamps, "ready")
            watched.removeEventFilter(self)
            # After this paint has been delivered (its children paint in the same pass).
            for work in self._after:
                QTimer.singleShot(0, work)
            self._after.clear()
        return False


class _PaintedOnce(QObject):
    def __init__(self, loop: QEventLoop) -> None:
        super().__init__()
        self._loop = loop
        self.painted = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self.painted:
            self.painted = True
            QTimer.singleShot(0, self._loop.quit)  # after this paint has been delivered
        return False


def opening_window(width: int, height: int) -> QWidget:
    """What an encrypted folder shows while its key is derived and its record opened (nothing
    of the record: no clinical data before the key is verified)."""
    from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout

    window = QWidget()
    # Not "kapsession…" first: scripts (and the e2e tests) find the app's working windows by
    # that title, and this one only stands in until the main window or a prompt is up.
    window.setWindowTitle("Opening the record…")
    window.resize(width, height)
    label = QLabel("Opening the record…")
    label.setStyleSheet("font-size: 16pt;")
    label.setAccessibleName("Opening the record")
    # Centred by stretches, not Qt.AlignmentFlag: the first use of the `Qt` namespace makes its
    # 93 enum types (~20 ms), and this window is painted before anything else needs them.
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(label)
    row.addStretch(1)
    layout = QVBoxLayout(window)
    layout.addStretch(1)
    layout.addLayout(row)
    layout.addStretch(1)
    return window
