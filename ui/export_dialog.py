"""Exports and client handouts from the app: the same renderers as `kapsession export` and
`kapsession handout`, written whole or not at all, and noted on the session's timeline."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kapsession.clock import SystemClock
from kapsession.errors import KapsessionError
from kapsession.exports import session_export
from kapsession.storage import outpaths
from kapsession.storage.store import Store

from .plain_text import plain_label
from .settings import Settings

log = logging.getLogger("kapsession.ui.export")

# (key, label, suggested file suffix); the key is a format or "handout:<which>".
CHOICES: tuple[tuple[str, str, str], ...] = (
    ("pdf", "Session summary for the integration appointment (PDF)", ".pdf"),
    ("form", "Monitoring form for the clinic's records (PDF, REMS layout)", ".form.pdf"),
    ("handout:integration", "Client handout: take-home integration sheet (PDF)", ".pdf"),
    ("handout:preparation", "Client handout: preparation sheet (PDF)", ".pdf"),
    ("md", "Session summary as Markdown", ".md"),
    ("json", "Timeline as JSON (kapsession.timeline/1)", ".json"),
    ("fhir", "FHIR R4 bundle for an EHR (JSON)", ".fhir.json"),
)

# Asks where to save: (parent, suggested path) -> chosen path, or None when cancelled.
ChooseFile = Callable[[QWidget, Path], Path | None]


def choose_file(parent: QWidget, suggested: Path) -> Path | None:
    name, _ = QFileDialog.getSaveFileName(parent, "Save as", str(suggested))
    return Path(name) if name else None


def export_session(
    store: Store,
    session_id: int,
    key: str,
    path: Path,
    tz: str,
    author: str,
    backup_folder: str | None = None,
) -> Path:
    """Render, write atomically, note on the timeline. Raises KapsessionError with a message for
    the therapist (never the exception's text: it could quote a note). Never into the data
    folder or a backup folder (`backup_folder`: the one the clinic chose, as the settings keep it),
    nor onto a file the app owns (outpaths)."""
    folder = outpaths.database_folder(store.db.conn)
    backups = outpaths.backup_folders(folder, backup_folder) if folder else []
    outpaths.check_output_path(path, folder, backups)
    record = store.session(session_id)
    doc = session_export.timeline(store, session_id, SystemClock().now())
    try:
        if key.startswith("handout:"):
            which = key.split(":", 1)[1]
            kind, data = "handout", {"which": which}
            payload = session_export.render_handout(doc, which)
        else:
            kind, data = "export", {"format": key}
            payload = session_export.render(doc, key)
    except KapsessionError:
        raise
    except Exception as exc:
        log.error("export not made: %s", type(exc).__name__)
        raise KapsessionError(
            f"The export could not be made ({type(exc).__name__}); nothing was written."
        ) from None
    outpaths.write_output(path, payload, folder, backups)
    data["to"] = "file"
    try:
        session_export.record_output(store, record, kind, data, payload, tz, author)
    except (sqlite3.Error, OSError) as exc:
        log.error("export not noted on the timeline: %s", type(exc).__name__)
    return path


class ExportDialog(QDialog):
    """Pick what to export (arrow keys, Enter), then where to save it."""

    def __init__(
        self,
        store: Store,
        session_id: int,
        tz: str,
        author: str,
        choose: ChooseFile = choose_file,
        parent: QWidget | None = None,
        settings: Settings | None = None,
    ) -> None:
        super().__init__(parent)
        # The backup folder as the automatic backups see it (the window's settings, when given).
        self._backup_folder = (settings if settings is not None else Settings()).backup_folder
        record = store.session(session_id)
        self.setWindowTitle(f"Export session #{record.id}")
        self._store, self._session_id, self._tz, self._author = store, session_id, tz, author
        self._choose = choose
        self.written: Path | None = None
        rehearsal = " (rehearsal: marked as such in every export)" if record.rehearsal else ""
        heading = plain_label(f"Export {record.client_code}, session #{record.id}{rehearsal}")
        heading.setWordWrap(True)
        self.choices = QListWidget()
        self.choices.setAccessibleName("What to export")
        for key, label, _suffix in CHOICES:
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.choices.addItem(item)
        self.choices.setCurrentRow(0)
        self.choices.itemActivated.connect(lambda _item: self._export())
        self.status = plain_label()  # it quotes paths a user typed
        self.status.setWordWrap(True)
        self.status.setProperty("role", "status")
        self.status.setAccessibleName("Message")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        buttons.accepted.connect(self._export)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.choices)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.resize(640, 420)
        self.choices.setFocus()

    def _export(self) -> None:
        item = self.choices.currentItem()
        if item is None:
            return
        key = str(item.data(Qt.ItemDataRole.UserRole))
        suffix = next(s for k, _label, s in CHOICES if k == key)
        record = self._store.session(self._session_id)
        stem = f"kapsession-session-{record.id}-{key.replace('handout:', 'handout-')}"
        path = self._choose(self, Path.home() / f"{stem}{suffix}")
        if path is None:
            return
        try:
            self.written = export_session(
                self._store,
                self._session_id,
                key,
                path,
                self._tz,
                self._author,
                self._backup_folder,
            )
        except KapsessionError as exc:
            self.status.setText(f"Not written: {exc}")
            return
        except OSError as exc:
            self.status.setText(
                f"Not written: {path.parent} cannot take the file ({exc.strerror or 'error'})."
            )
            return
        self.accept()
