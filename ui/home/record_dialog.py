"""What the preparation and worksheet dialogs share: Ctrl+S saves a new version and says so only
after the commit returned; a failed write keeps every word and says why; Esc asks before
throwing edits away."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QWidget

from kapsession.clock import Clock
from kapsession.errors import KapsessionError
from kapsession.storage.store import Event, Store, parse_iso

from .. import messages
from ..plain_text import plain_label

log = logging.getLogger("kapsession.ui.record")

UNSAVED = "Changes not saved yet: Ctrl+S saves them as a new version."
NOT_WRITTEN = (
    "Not saved: the database could not be written (is the disk full or read-only?). "
    "Everything you wrote is still here; press Ctrl+S to try again."
)


def saved_at(event: Event) -> str:
    """When an entry was saved, in the laptop's local time."""
    return parse_iso(event.at).astimezone().strftime("%H:%M")


def saved_on(event: Event) -> str:
    return parse_iso(event.at).astimezone().strftime("%Y-%m-%d %H:%M")


class RecordDialog(QDialog):
    """A form whose every save is a new version on a session's record. Subclasses say what the
    form holds now (`_value`), how it was last saved (`_saved`) and how to save (`_write`)."""

    saved = Signal(object)  # Event, after its commit returned

    def __init__(
        self,
        what: str,
        store: Store,
        session_id: int,
        clock: Clock,
        tz: str,
        author: str,
        elapsed: Callable[[], float] | None = None,
        confirm: Callable[[str, str], bool] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._what = what
        self.store, self.session_id, self.clock = store, session_id, clock
        self.tz, self.author, self._elapsed = tz, author, elapsed
        self.record = store.session(session_id)
        self._confirm = confirm or (lambda title, text: messages.confirm(self, title, text))
        self.status = plain_label()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Save status")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        save = QShortcut(QKeySequence.StandardKey.Save, self)
        save.setContext(Qt.ShortcutContext.WindowShortcut)
        save.activated.connect(self.save)

    # --- for subclasses --------------------------------------------------------------------
    def _value(self) -> object:
        raise NotImplementedError

    def _saved(self) -> object:
        raise NotImplementedError

    def _write(self) -> Event:
        raise NotImplementedError

    def _versions(self) -> int:
        """How many versions are on the record."""
        raise NotImplementedError

    def _after_save(self, event: Event) -> None:
        """Refresh whatever shows the saved version (history, version number)."""

    # --- saving ----------------------------------------------------------------------------
    def edited(self) -> bool:
        return self._value() != self._saved()

    def save(self) -> bool:
        versions = self._versions()
        if versions and not self.edited():
            # A version identical to the last would only add noise to the history.
            self._say(f"Nothing changed since version {versions}; not saved again.", "muted")
            return False
        try:
            event = self._write()
        except KapsessionError as exc:
            self._say(f"Not saved: {exc}", "status")
            return False
        except (sqlite3.Error, OSError) as exc:
            # The log names what failed (a fixed label), never what was written.
            what = self._what
            log.error("%s not saved: %s", what, type(exc).__name__)
            self._say(NOT_WRITTEN, "status")
            return False
        self._after_save(event)
        self._say(f"Saved {saved_at(event)}.", "saved")
        self.saved.emit(event)
        return True

    def _on_edited(self) -> None:
        """Any change after a save (or a failed one) must not leave "Saved" or an old error
        standing beside words that are not on the record."""
        if self.edited():
            self._say(UNSAVED, "muted")
        elif self.status.text() == UNSAVED:
            self._say("", "muted")

    def _say(self, text: str, role: str = "saved") -> None:
        self.status.setProperty("role", role)
        self.status.setText(text)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    # --- leaving ---------------------------------------------------------------------------
    def reject(self) -> None:
        """Esc, the Close button and the window's close button all come here."""
        if self.edited() and not self._confirm(
            "Discard changes?",
            f"The {self._what} has changes that are not saved.\n\n"
            "Close it and discard them? (Choose No, then Ctrl+S, to keep them.)",
        ):
            return
        super().reject()
