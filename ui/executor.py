"""Work off the GUI thread, its result back on it: screens hand slow work (the disk, a backup) to
an Executor and get `done(result)` on the GUI thread. The app uses ThreadExecutor; tests use
SynchronousExecutor, which runs both at once, so they need no waiting and no threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from PySide6.QtCore import QObject, Signal, Slot

T = TypeVar("T")


class Executor(Protocol):
    def submit(self, work: Callable[[], T], done: Callable[[T], None]) -> None:
        """Run `work` (it must not raise: it returns its failure); `done(result)` follows on
        the GUI thread."""
        ...


class SynchronousExecutor:
    """Runs the work and its `done` at once, on the caller's thread."""

    def submit(self, work: Callable[[], T], done: Callable[[T], None]) -> None:
        done(work())


class ThreadExecutor(QObject):
    """Each submission on its own daemon thread; `done` crosses back to the GUI thread by a
    queued signal to this object (built on the GUI thread)."""

    _finished = Signal(object, object)  # (done, result), emitted on the worker thread

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._finished.connect(self._deliver)

    def submit(self, work: Callable[[], T], done: Callable[[T], None]) -> None:
        def run() -> None:
            self._finished.emit(done, work())

        threading.Thread(target=run, name=self._name, daemon=True).start()

    @Slot(object, object)
    def _deliver(self, done: Callable[[Any], None], result: object) -> None:
        done(result)
