"""Work off the GUI thread, with the answer delivered back on it: the pre-flight of an arc
(libVLC decodes a little of every track) and the automatic backup. The composition root
(ui/app.py) builds one `ThreadExecutor` and hands it in; tests hand in a `SynchronousExecutor`,
which runs the work at once (as Picard's fake thread pool does), so no test waits on a thread."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from PySide6.QtCore import QObject, Signal

log = logging.getLogger("kapsession.ui.executor")

T = TypeVar("T")


class Executor(Protocol):
    def submit(self, work: Callable[[], T], done: Callable[[T], None]) -> None:
        """Run `work` (off the GUI thread, maybe) and hand its result to `done` on the GUI
        thread. `work` reports its own failures in its result: if it raises, the error is
        logged (its type only: no clinical text in logs) and `done` is not called."""
        ...


class SynchronousExecutor:
    """Runs the work and its `done` at once, on the caller's thread: for tests."""

    def __init__(self) -> None:
        self.submitted = 0

    def submit(self, work: Callable[[], T], done: Callable[[T], None]) -> None:
        self.submitted += 1
        try:
            result = work()
        except Exception as exc:
            log.error("background work failed: %s", type(exc).__name__)
            return
        done(result)


class ThreadExecutor(QObject):
    """Each piece of work on a daemon thread of its own; `done` comes back through a queued
    signal to this object, which lives on the GUI thread (build it there)."""

    _finished = Signal(object, object)  # done, result

    def __init__(self, name: str = "kapsession-worker", parent: QObject | None = None) -> None:
        super().__init__(parent)
        # Here, not at import: the `Qt` namespace's first use makes its 93 enum types (~20 ms),
        # and ui.app imports this module before an encrypted folder's first paint.
        from PySide6.QtCore import Qt

        self._name = name
        self._threads: list[threading.Thread] = []
        self._finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)

    def submit(self, work: Callable[[], T], done: Callable[[T], None]) -> None:
        def run() -> None:
            try:
                result = work()
            except Exception as exc:  # a worker thread must report, never die silently
                log.error("background work failed: %s", type(exc).__name__)
                return
            with contextlib.suppress(RuntimeError):  # the executor is gone: the app is closing
                self._finished.emit(done, result)

        self._threads = [t for t in self._threads if t.is_alive()]
        thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Join the running work (not its `done`, which needs the event loop)."""
        for thread in list(self._threads):
            thread.join(timeout)

    def busy(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def _on_finished(self, done: Callable[[Any], None], result: object) -> None:
        done(result)


class HeldExecutor:
    """Holds the work submitted to `executor` until `release()`, then submits it in order (and
    everything later at once). The app holds the music pre-flight until the main window's first
    paint: its thread imports libVLC (~130 ms holding the GIL) and decodes a little of every
    track, which the first screen does not need to be drawn."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor
        self._held: list[tuple[Callable[[], Any], Callable[[Any], None]]] | None = []

    def submit(self, work: Callable[[], T], done: Callable[[T], None]) -> None:
        if self._held is None:
            self._executor.submit(work, done)
        else:
            self._held.append((work, done))

    def release(self) -> None:
        held, self._held = self._held or [], None
        for work, done in held:
            self._executor.submit(work, done)
