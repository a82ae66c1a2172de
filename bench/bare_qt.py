"""The start-up floor: the least a PySide6 program can do to put a painted main window on screen.

QApplication, an empty QMainWindow, show it, wait for its first paint, exit 0. bench/run.py times
this as a subprocess beside `kapsession --smoke`, with the same QT_QPA_PLATFORM.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bare_qt.py; echo $?

When $KAPSESSION_SMOKE_STAMPS names a file, it appends `first_paint <ns>` and `ready <ns>` to it
(`time.monotonic_ns()`) once its first paint has been delivered, as `kapsession --smoke` does: for
the bare window both are that one paint (bench/startup.py reads them).

With `--stay`, the window stays open, idle, until the process is terminated: the floor for idle
CPU, wake-ups and memory (bench/idle_memory.py samples it beside the running app).
"""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

# Paint never arriving is a failure, not a hang: run.py would otherwise wait forever.
GIVE_UP_MS = 10_000
STAMPS_ENV = "KAPSESSION_SMOKE_STAMPS"


def write_stamps() -> None:
    """Both stamps, now, if the benchmark asked for them (the same lines as the app's)."""
    path = os.environ.get(STAMPS_ENV)
    if path:
        now = time.monotonic_ns()
        with open(path, "a", encoding="ascii") as out:
            out.write(f"first_paint {now}\nready {now}\n")


class FirstPaint(QObject):
    """Quits the event loop once the watched window has been painted."""

    def __init__(self, app: QApplication) -> None:
        super().__init__()
        self._app = app
        self.painted = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self.painted:
            self.painted = True
            # Stamp and quit after this paint has been delivered, not from inside it.
            QTimer.singleShot(0, self._done)
        return False

    def _done(self) -> None:
        write_stamps()
        self._app.quit()


def main() -> int:
    stay = "--stay" in sys.argv[1:]
    app = QApplication(sys.argv[:1])
    window = QMainWindow()
    window.setWindowTitle("bare")
    window.resize(800, 600)
    if stay:
        window.show()
        return app.exec()
    first_paint = FirstPaint(app)
    window.installEventFilter(first_paint)
    window.show()
    QTimer.singleShot(GIVE_UP_MS, app.quit)
    app.exec()
    return 0 if first_paint.painted else 1


if __name__ == "__main__":
    sys.exit(main())
