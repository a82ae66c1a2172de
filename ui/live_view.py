"""The live screen: the dose clock across the room, the phase, what comes next, and quick notes.

The note field is the only widget here that takes keyboard focus, so typing always lands in it;
everything else is reached by a shortcut (listed under F1)."""

from __future__ import annotations

import logging
import sqlite3

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kapsession.errors import KapsessionError
from kapsession.notes import TAGS
from kapsession.session import LiveSession
from kapsession.store import Event, SessionRecord

from .dialogs import AmendDialog, EndDialog, ShortcutsDialog
from .format import describe_event, minutes_seconds, t_plus

log = logging.getLogger("kapsession.ui.live")

# A 100 kB note is kept whole in the record; the stream shows its beginning.
STREAM_PREVIEW_CHARS = 600
NOTE_ROLE = Qt.ItemDataRole.UserRole
NOT_SAVED = (
    "Not saved: the database could not be written (is the disk full or read-only?). "
    "Your text is still in the field; press Enter to try again."
)


class LiveView(QWidget):
    ended = Signal(object)  # SessionRecord

    def __init__(self, live: LiveSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.live = live
        self._items: dict[int, QListWidgetItem] = {}
        self._notes: dict[int, tuple[str, tuple[str, ...]]] = {}  # seq -> current text, tags
        self._build()
        self._shortcuts()
        for event in live.events():
            self._on_entry_added(event)
        live.entry_added.connect(self._on_entry_added)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_tick)
        self._refresh()
        self._schedule_tick()

    # --- layout --------------------------------------------------------------------------
    def _build(self) -> None:
        record = self.live.record
        who = QLabel(record.client_code)
        who.setStyleSheet("font-size: 15pt; font-weight: bold;")
        who.setAccessibleName("Client code")
        plan = QLabel(f"{record.dose_mg:g} mg {record.route} · {record.protocol}")
        plan.setProperty("role", "muted")
        top = QHBoxLayout()
        top.addWidget(who)
        if record.rehearsal:
            badge = QLabel(
                "REHEARSAL" + (f" ×{record.time_scale:g}" if record.time_scale != 1 else "")
            )
            badge.setProperty("role", "badge")
            badge.setAccessibleName("Rehearsal session")
            top.addWidget(badge)
        top.addWidget(plan)
        top.addStretch(1)
        self.help_button = self._button("Shortcuts  F1", self._on_help)
        self.end_button = self._button("End session…  Ctrl+Shift+E", self._on_end)
        top.addWidget(self.help_button)
        top.addWidget(self.end_button)

        self.intention = QLabel(f"Intention: {record.intention}" if record.intention else "")
        self.intention.setProperty("role", "muted")
        self.intention.setVisible(bool(record.intention))
        self.intention.setWordWrap(False)
        self.intention.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.clock = QLabel("T+00:00")
        self.clock.setProperty("role", "clock")
        self.clock.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.clock.setAccessibleName("Time since dose")
        clock_font = QFont("DejaVu Sans Mono")
        clock_font.setStyleHint(QFont.StyleHint.Monospace)
        clock_font.setBold(True)
        clock_font.setPixelSize(120)
        self.clock.setFont(clock_font)

        self.phase = QLabel()
        self.phase.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.phase.setStyleSheet("font-size: 18pt;")
        self.phase.setAccessibleName("Planned length and phase")
        self.next_up = QLabel()
        self.next_up.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.next_up.setProperty("role", "muted")
        self.next_up.setStyleSheet("font-size: 14pt;")
        self.next_up.setAccessibleName("What is due next")
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setRange(0, 1000)
        self.progress.setAccessibleName("Progress through the planned session")

        self.stream = QListWidget()
        self.stream.setWordWrap(True)
        self.stream.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stream.setAccessibleName("Notes and events")
        self.stream.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.stream.itemDoubleClicked.connect(lambda _item: self._on_amend())

        self.tag_buttons: dict[str, QToolButton] = {}
        chips = QHBoxLayout()
        for i, (tag, letter, label) in enumerate(TAGS, start=1):
            button = QToolButton()
            button.setText(label)
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setToolTip(f"Alt+{i}, or start the note with {letter}:")
            button.setAccessibleName(f"Tag: {label}")
            self.tag_buttons[tag] = button
            chips.addWidget(button)
        chips.addStretch(1)
        self.amend_button = self._button("Amend…  Ctrl+E", self._on_amend)
        chips.addWidget(self.amend_button)

        self.note = QLineEdit()
        self.note.setMaxLength(2_000_000)  # QLineEdit's default 32767 would cut long notes
        self.note.setPlaceholderText(
            "Type a note and press Enter   ·   q: quote  e: emotion  "
            "b: body  i: image  n: insight  f: for integration"
        )
        self.note.setAccessibleName("Note")
        self.note.setStyleSheet("font-size: 14pt; padding: 10px;")
        self.note.returnPressed.connect(self._on_note_entered)
        self.status = QLabel()
        self.status.setProperty("role", "status")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Message")
        self.note.textEdited.connect(lambda _t: self.status.clear())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.addLayout(top)
        layout.addWidget(self.intention)
        layout.addWidget(self.clock, 3)
        layout.addWidget(self.phase)
        layout.addWidget(self.next_up)
        layout.addWidget(self.progress)
        layout.addWidget(self.stream, 4)
        layout.addLayout(chips)
        layout.addWidget(self.note)
        layout.addWidget(self.status)
        self.setFocusProxy(self.note)

    def _button(self, text: str, slot: object) -> QPushButton:
        button = QPushButton(text)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(slot)
        return button

    def _shortcuts(self) -> None:
        def bind(keys: str, slot: object) -> None:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

        bind("Esc", self._on_escape)
        bind("F1", self._on_help)
        bind("Ctrl+E", self._on_amend)
        bind("Ctrl+Shift+E", self._on_end)
        bind("Alt+Up", lambda: self._step_selection(-1))
        bind("Alt+Down", lambda: self._step_selection(1))
        for i, tag in enumerate(self.tag_buttons, start=1):
            bind(f"Alt+{i}", self.tag_buttons[tag].toggle)

    def resizeEvent(self, event: QResizeEvent) -> None:
        # The clock is sized to be read from across the room, whatever the window size.
        size = max(56, min(int(self.width() / 5.2), int(self.height() / 4.2)))
        font = self.clock.font()
        font.setPixelSize(size)
        self.clock.setFont(font)
        super().resizeEvent(event)

    # --- time ----------------------------------------------------------------------------
    def _schedule_tick(self) -> None:
        # Wake once per displayed second, just after it turns, rather than polling.
        elapsed = self.live.elapsed()
        scale = self.live.record.time_scale
        to_next = (1.0 - (elapsed % 1.0)) / scale
        self._timer.start(max(50, int(to_next * 1000) + 5))

    def _on_tick(self) -> None:
        try:
            self.live.tick()
        except (sqlite3.Error, OSError) as exc:
            # The clock must keep running even if the disk cannot take the heartbeat.
            log.warning("tick could not be recorded: %s", type(exc).__name__)
        self._refresh()
        self._schedule_tick()

    def _refresh(self) -> None:
        t = self.live.elapsed()
        self.clock.setText(t_plus(t))
        phase = self.live.phase()
        planned = self.live.record.planned_minutes
        over = t - self.live.planned_seconds
        self.phase.setText(
            f"of {planned} min · {phase.name.capitalize()} phase"
            + (f" · {minutes_seconds(over)} over plan" if over > 0 else "")
        )
        upcoming = self.live.next_up()
        if upcoming:
            label, at = upcoming[0]
            text = f"Next: {label.capitalize()} at {t_plus(at)} (in {minutes_seconds(at - t)})"
            if len(upcoming) > 1:
                text += f" · {upcoming[1][0]} {t_plus(upcoming[1][1])}"
        else:
            text = "Past the planned end: end the session when the client is ready"
        self.next_up.setText(text)
        self.progress.setValue(min(1000, int(1000 * t / self.live.planned_seconds)))

    # --- notes ---------------------------------------------------------------------------
    def _chosen_tags(self) -> tuple[str, ...]:
        return tuple(tag for tag, button in self.tag_buttons.items() if button.isChecked())

    def _on_note_entered(self) -> None:
        text = self.note.text()
        if not text.strip():
            self.note.clear()
            return
        try:
            self.live.add_note(text, self._chosen_tags())
        except KapsessionError as exc:
            self.status.setText(f"Not saved: {exc}")
            return
        except (sqlite3.Error, OSError) as exc:
            log.error("note not saved: %s", type(exc).__name__)
            self.status.setText(NOT_SAVED)
            return
        # Saved (the stream already shows it): only now is the field cleared.
        self.note.clear()
        self.status.clear()
        for button in self.tag_buttons.values():
            button.setChecked(False)

    def _on_entry_added(self, event: Event) -> None:
        if event.kind == "amendment" and event.amends in self._items:
            self._apply_amendment(event)
            return
        item = QListWidgetItem()
        item.setData(NOTE_ROLE, event.seq)
        if event.kind == "note":
            text, tags = str(event.data["text"]), tuple(event.data.get("tags", ()))
            self._notes[event.seq] = (text, tags)
            item.setText(self._note_line(event.t, text, tags))
        else:
            item.setText(f"{t_plus(event.t or 0)}   {describe_event(event)}")
            item.setForeground(self.palette().placeholderText())
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)
        self._items[event.seq] = item
        self.stream.addItem(item)
        self.stream.scrollToBottom()

    def _apply_amendment(self, event: Event) -> None:
        assert event.amends is not None
        text, tags = str(event.data["text"]), tuple(event.data.get("tags", ()))
        self._notes[event.amends] = (text, tags)
        item = self._items[event.amends]
        original = self.live.store.event(event.amends)
        item.setText(self._note_line(original.t if original else None, text, tags) + "   (amended)")
        item.setToolTip(f"Amended at {t_plus(event.t or 0)}: {event.reason}")

    @staticmethod
    def _note_line(t: float | None, text: str, tags: tuple[str, ...]) -> str:
        shown = (
            text
            if len(text) <= STREAM_PREVIEW_CHARS
            else (text[:STREAM_PREVIEW_CHARS] + f" … ({len(text):,} characters)")
        )
        labels = {tag: label for tag, _letter, label in TAGS}
        chips = "".join(f"[{labels[tag]}] " for tag in tags)
        return f"{t_plus(t or 0)}   {chips}{shown}"

    def _step_selection(self, step: int) -> None:
        notes = [
            i
            for i in range(self.stream.count())
            if self.stream.item(i).data(NOTE_ROLE) in self._notes
        ]
        if not notes:
            return
        current = self.stream.currentRow()
        if current not in notes:
            target = notes[-1] if step < 0 else notes[0]
        else:
            index = max(0, min(len(notes) - 1, notes.index(current) + step))
            target = notes[index]
        self.stream.setCurrentRow(target)
        self.stream.scrollToItem(self.stream.item(target))

    def _selected_note(self) -> int | None:
        item = self.stream.currentItem()
        if item is not None and item.isSelected() and item.data(NOTE_ROLE) in self._notes:
            return int(item.data(NOTE_ROLE))
        return max(self._notes) if self._notes else None

    def _on_amend(self) -> None:
        seq = self._selected_note()
        if seq is None:
            self.status.setText("There is no note to amend yet.")
            return
        text, tags = self._notes[seq]

        def save(new_text: str, new_tags: tuple[str, ...], reason: str) -> None:
            try:
                self.live.amend_note(seq, new_text, new_tags, reason)
            except (sqlite3.Error, OSError) as exc:
                log.error("amendment not saved: %s", type(exc).__name__)
                raise KapsessionError("the database could not be written; try again.") from None

        dialog = AmendDialog(text, tags, save, self)
        dialog.exec()
        dialog.deleteLater()  # parented to this screen: would otherwise live as long as it
        self.note.setFocus()

    def _on_escape(self) -> None:
        self.stream.clearSelection()
        self.stream.setCurrentRow(-1)
        self.status.clear()
        self.note.setFocus()

    def _on_help(self) -> None:
        dialog = ShortcutsDialog(self)
        dialog.exec()
        dialog.deleteLater()
        self.note.setFocus()

    def _on_end(self) -> None:
        early = self.live.elapsed() < self.live.planned_seconds

        def end(reason: str) -> SessionRecord:
            try:
                return self.live.end(reason)
            except (sqlite3.Error, OSError) as exc:
                log.error("session end not saved: %s", type(exc).__name__)
                raise KapsessionError("the database could not be written; try again.") from None

        dialog = EndDialog(t_plus(self.live.elapsed()), early, end, self)
        accepted = dialog.exec()
        dialog.deleteLater()
        if accepted:
            self._timer.stop()
            self.ended.emit(self.live.record)
        else:
            self.note.setFocus()

    def stop(self) -> None:
        self._timer.stop()
        self.live.entry_added.disconnect(self._on_entry_added)
