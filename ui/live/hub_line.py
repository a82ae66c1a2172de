"""The clinic hub's line, under the home and live screens: one dim line ("clinic hub: synced",
"clinic hub: offline since 14:02 · 37 waiting", or a fault in a few words), the detail on hover.
Never a dialog, never the focus, no sound. A folder that has not joined a hub shows nothing.

The sync worker runs on its own thread: it hands each status to HubFeed.post, which only emits
a signal; the line is drawn on the GUI thread (a queued connection), never by the worker. The
words are decided without Qt (kapsession/hub/status_text.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from kapsession.clock import Clock, SystemClock, local_zone_name

from ..plain_text import plain_tip

if TYPE_CHECKING:
    from kapsession.hub.worker import SyncStatus


class HubFeed(QObject):
    """Where the sync worker's statuses enter the GUI. Lives on the GUI thread."""

    joined = Signal()  # the folder syncs to a hub: the line shows
    status = Signal(object)  # SyncStatus, from any thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # The worker's "an entry was just committed" (SyncWorker.committed), once it runs.
        self.on_commit: Callable[[], None] | None = None

    def post(self, status: SyncStatus) -> None:
        """Safe from any thread: only emits (Qt queues it to the line's thread)."""
        self.status.emit(status)

    def committed(self) -> None:
        if self.on_commit is not None:
            self.on_commit()


class HubLine(QLabel):
    def __init__(
        self,
        feed: HubFeed,
        clock: Clock | None = None,
        zone: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self._clock = clock if clock is not None else SystemClock()
        self._zone = zone if zone is not None else local_zone_name()
        self.setProperty("role", "muted")
        self.setAccessibleName("Clinic hub")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setStyleSheet("font-size: 9pt;")
        self.tone = self.detail = ""
        self.setVisible(False)
        # Queued: a status posted from the worker's thread is drawn here, on the GUI thread.
        feed.joined.connect(self.on_joined, Qt.ConnectionType.QueuedConnection)
        feed.status.connect(self.on_status, Qt.ConnectionType.QueuedConnection)

    @Slot()
    def on_joined(self) -> None:
        if not self.text():  # a status may have come first
            self._show(None)

    @Slot(object)
    def on_status(self, status: SyncStatus) -> None:
        self._show(status)

    def _show(self, status: SyncStatus | None) -> None:
        from kapsession.hub.status_text import describe

        line = describe(status, self._clock.now(), self._zone)
        self.tone, self.detail = line.tone, line.detail
        self.setText(line.text)
        self.setToolTip(plain_tip(line.detail))
        self.setVisible(True)
