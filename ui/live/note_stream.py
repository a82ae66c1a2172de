"""The notes stream: every note and event of the session as one line each, newest at the
bottom; notes can be selected (Alt+Up/Down) and amended, events are shown, not selectable.
Which entries it shows and how is the session's decision (`live_status.stream_group`)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QSizePolicy, QWidget

from kapsession.session import entry_text
from kapsession.session.entry_text import STREAM_PREVIEW_CHARS as STREAM_PREVIEW_CHARS
from kapsession.session.live_status import stream_group
from kapsession.storage.store import Event

from .. import theme
from ..format import describe_event, t_plus
from ..plain_text import plain_tip

# A 100 kB note is kept whole in the record; the stream shows its beginning.
NOTE_ROLE = Qt.ItemDataRole.UserRole


class NoteStream(QListWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAccessibleName("Notes and events")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._items: dict[int, QListWidgetItem] = {}
        self._t: dict[int, float | None] = {}  # seq -> when the note was taken
        self.notes: dict[int, tuple[str, tuple[str, ...]]] = {}  # seq -> current text, tags

    def show_entry(self, event: Event) -> None:
        if event.kind == "amendment" and event.amends in self._items:
            self._amend(event)
            return
        group = stream_group(event.kind)
        if group == "hidden":
            return  # on the timeline; the music line above says what plays
        item = QListWidgetItem()
        item.setData(NOTE_ROLE, event.seq)
        if group == "note":
            text, tags = str(event.data["text"]), tuple(event.data.get("tags", ()))
            self.notes[event.seq] = (text, tags)
            self._t[event.seq] = event.t
            item.setText(note_line(event.t, text, tags))
        else:
            item.setText(f"{t_plus(event.t or 0)}   {describe_event(event)}")
            if group == "alert":
                item.setForeground(QColor(theme.ALERT))
            else:
                item.setForeground(self.palette().placeholderText())
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)
        self._items[event.seq] = item
        self.addItem(item)
        self.scrollToBottom()

    def _amend(self, event: Event) -> None:
        assert event.amends is not None
        text, tags = str(event.data["text"]), tuple(event.data.get("tags", ()))
        self.notes[event.amends] = (text, tags)
        line = note_line(self._t.get(event.amends), text, tags)
        item = self._items[event.amends]
        item.setText(line + "   (amended)")
        item.setToolTip(plain_tip(f"Amended at {t_plus(event.t or 0)}: {event.reason}"))

    def step_selection(self, step: int) -> None:
        notes = [i for i in range(self.count()) if self.item(i).data(NOTE_ROLE) in self.notes]
        if not notes:
            return
        current = self.currentRow()
        if current not in notes:
            target = notes[-1] if step < 0 else notes[0]
        else:
            target = notes[max(0, min(len(notes) - 1, notes.index(current) + step))]
        self.setCurrentRow(target)
        self.scrollToItem(self.item(target))

    def selected_note(self) -> int | None:
        """The selected note, else the latest one."""
        item = self.currentItem()
        if item is not None and item.isSelected() and item.data(NOTE_ROLE) in self.notes:
            return int(item.data(NOTE_ROLE))
        return max(self.notes) if self.notes else None

    def clear_choice(self) -> None:
        self.clearSelection()
        self.setCurrentRow(-1)


def note_line(t: float | None, text: str, tags: tuple[str, ...]) -> str:
    return f"{t_plus(t or 0)}   {entry_text.note_line(text, tags)}"
