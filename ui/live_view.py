"""The live screen: the dose clock across the room, the phase, what comes next, and quick notes.

The note field is the only widget here that takes keyboard focus, so typing always lands in it;
everything else is reached by a shortcut (listed under F1)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
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
from kapsession.integration.preparation import shown_intention
from kapsession.monitoring.checks import ANSWER_KINDS, CheckState
from kapsession.monitoring.discharge import circulation_score, spo2_score
from kapsession.monitoring.observations import SCALES
from kapsession.monitoring.vitals import Vitals
from kapsession.music.cue import CHIME, CHIME_VOLUME, CuePlayer
from kapsession.session.entry_text import CHECK_KINDS, note_line, scale_in_sentence
from kapsession.session.entry_text import STREAM_PREVIEW_CHARS as STREAM_PREVIEW_CHARS
from kapsession.session.live import LiveSession
from kapsession.session.notes import TAGS
from kapsession.storage.store import Event, SessionRecord

from . import theme
from .dialogs import AmendDialog, ShortcutsDialog
from .format import describe_event, minutes_seconds, t_plus
from .monitor_dialogs import CheckActionDialog, EndDialog, ObservationDialog, QuickEventDialog
from .music import VOLUME_STEP, MusicController
from .plain_text import plain_label, plain_tip
from .scheduler import GuiScheduler
from .vitals_form import VitalsForm

log = logging.getLogger("kapsession.ui.live")

NOTE_ROLE = Qt.ItemDataRole.UserRole
# Builds the session's music (the composition root decides real libVLC or none); the second
# argument is where the music says something the therapist must know.
MusicFactory = Callable[[LiveSession, Callable[[str], None]], MusicController]
NOT_SAVED = (
    "Not saved: the database could not be written (is the disk full or read-only?). "
    "Your text is still in the field; press Enter to try again."
)


class LiveView(QWidget):
    ended = Signal(object)  # SessionRecord

    def __init__(
        self,
        live: LiveSession,
        cue_player: Callable[[], CuePlayer] | None = None,
        music: MusicFactory | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.live = live
        self._cue_player = cue_player
        self.music: MusicController | None = None
        self._items: dict[int, QListWidgetItem] = {}
        self._notes: dict[int, tuple[str, tuple[str, ...]]] = {}  # seq -> current text, tags
        self._events_cache: list[Event] = []  # this session's timeline, kept in step by entry_added
        self._acknowledged: set[int] = set()
        self._build()
        self._shortcuts()
        for event in live.events():
            self._on_entry_added(event)
        live.entry_added.connect(self._on_entry_added)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_tick)
        # Checks fire at their moments through APScheduler on the GUI thread; evaluating is
        # idempotent, so the once-a-second refresh also catches up after a wall-clock jump.
        self._scheduler = GuiScheduler(self, timezone=UTC)
        self._scheduler.start()
        self._wake_t: float | None = None
        self._evaluate_checks()
        if music is not None:
            self.music = music(live, self.status.setText)
            self.music.changed.connect(self._refresh_music)
        self._refresh()
        self._schedule_tick()

    # --- layout --------------------------------------------------------------------------
    def _build(self) -> None:
        record = self.live.record
        who = plain_label(record.client_code)
        who.setStyleSheet("font-size: 15pt; font-weight: bold;")
        who.setAccessibleName("Client code")
        protocol = self.live.monitoring.protocol.name if self.live.monitoring else record.protocol
        plan = plain_label(f"{record.dose_mg:g} mg {record.route} · {protocol}")
        plan.setProperty("role", "muted")
        top = QHBoxLayout()
        top.addWidget(who)
        if record.rehearsal:
            badge = plain_label(
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

        # The client's intention from the latest preparation (else the plan's), shown quietly.
        shown = shown_intention(self.live.store, record)
        self.intention = plain_label(f"Intention: {shown}" if shown else "")
        self.intention.setProperty("role", "muted")
        self.intention.setVisible(bool(shown))
        self.intention.setWordWrap(False)
        self.intention.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.clock = plain_label("T+00:00")
        self.clock.setProperty("role", "clock")
        self.clock.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.clock.setAccessibleName("Time since dose")
        clock_font = QFont("DejaVu Sans Mono")
        clock_font.setStyleHint(QFont.StyleHint.Monospace)
        clock_font.setBold(True)
        clock_font.setPixelSize(120)
        self.clock.setFont(clock_font)

        self.phase = plain_label()
        self.phase.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.phase.setStyleSheet("font-size: 18pt;")
        self.phase.setAccessibleName("Planned length and phase")
        self.next_up = plain_label()
        self.next_up.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.next_up.setProperty("role", "muted")
        self.next_up.setStyleSheet("font-size: 14pt;")
        self.next_up.setAccessibleName("What is due next")
        self.music_line = plain_label()
        self.music_line.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.music_line.setProperty("role", "muted")
        self.music_line.setStyleSheet("font-size: 13pt;")
        self.music_line.setAccessibleName("Music now playing")
        self.music_line.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setRange(0, 1000)
        self.progress.setAccessibleName("Progress through the planned session")

        self.check_badge = plain_label()
        self.check_badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.check_badge.setWordWrap(True)
        self.check_badge.setAccessibleName("Protocol check")
        self.check_badge.setStyleSheet("font-size: 14pt; padding: 6px 12px;")
        self.alert_banner = plain_label()
        self.alert_banner.setProperty("role", "alert")
        self.alert_banner.setWordWrap(True)
        self.alert_banner.setAccessibleName("Alert to acknowledge")
        self.alert_banner.setVisible(False)
        self.last_vitals = plain_label()
        self.last_vitals.setProperty("role", "muted")
        self.last_vitals.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.last_vitals.setAccessibleName("Latest vitals and trend from baseline")
        self.vitals_edit = QLineEdit()
        self.vitals_edit.setPlaceholderText(
            "Vitals: 128/82 76 98  (BP, HR, SpO2; optionally RR and °C) · Enter saves · Esc cancels"
        )
        self.vitals_edit.setAccessibleName("Vitals entry")
        self.vitals_edit.setStyleSheet("font-size: 14pt; padding: 8px;")
        self.vitals_edit.setVisible(False)
        self.vitals_edit.returnPressed.connect(self._on_vitals_entered)

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
        # The optional soft chime when a check comes due: off unless the therapist turns it on.
        self.chime_button = QToolButton()
        self.chime_button.setCheckable(True)
        self.chime_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.chime_button.setAccessibleName("Soft chime when a check is due")
        self.chime_button.setChecked(bool(QSettings().value("checks/chime", False, type=bool)))
        self.chime_button.toggled.connect(self._on_chime_toggled)
        self._on_chime_toggled(self.chime_button.isChecked(), store=False)
        chips.addWidget(self.chime_button)

        self.note = QLineEdit()
        self.note.setMaxLength(2_000_000)  # QLineEdit's default 32767 would cut long notes
        self.note.setPlaceholderText(
            "Type a note and press Enter   ·   q: quote  e: emotion  "
            "b: body  i: image  n: insight  f: for integration"
        )
        self.note.setAccessibleName("Note")
        self.note.setStyleSheet("font-size: 14pt; padding: 10px;")
        self.note.returnPressed.connect(self._on_note_entered)
        self.status = plain_label()
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
        layout.addWidget(self.music_line)
        layout.addWidget(self.progress)
        layout.addWidget(self.check_badge)
        layout.addWidget(self.alert_banner)
        layout.addWidget(self.last_vitals)
        layout.addWidget(self.stream, 4)
        layout.addLayout(chips)
        layout.addWidget(self.vitals_edit)
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
        bind("Alt+V", self._on_vitals_open)
        bind("Alt+Shift+V", self._on_vitals_form)
        bind("Alt+O", self._on_observe)
        bind("Alt+Q", self._on_quick_event)
        bind("Alt+S", lambda: self._on_check_action(snooze=True))
        bind("Alt+K", lambda: self._on_check_action(snooze=False))
        bind("Alt+A", self._on_acknowledge)
        bind("Alt+C", self.chime_button.toggle)
        bind("Alt+M", lambda: self._music(lambda m: m.toggle_silence()))
        bind("Alt+P", lambda: self._music(lambda m: m.toggle_pause()))
        bind("Alt+N", lambda: self._music(lambda m: m.skip()))
        bind("Alt+=", lambda: self._music(lambda m: m.step_volume(VOLUME_STEP)))
        bind("Alt++", lambda: self._music(lambda m: m.step_volume(VOLUME_STEP)))
        bind("Alt+-", lambda: self._music(lambda m: m.step_volume(-VOLUME_STEP)))
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
        if self._wake_t is not None and self.live.elapsed() >= self._wake_t:
            self._evaluate_checks()
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
        self._refresh_checks(t)
        self._refresh_music()

    def _refresh_music(self) -> None:
        if self.music is not None:
            self.music_line.setText(self.music.line())
            self.music_line.setVisible(True)

    def _refresh_checks(self, t: float) -> None:
        monitoring = self.live.monitoring
        if monitoring is None:
            self._set_badge("", "muted")
            return
        events = self._events_cache
        waiting = monitoring.due_now(events, t)
        if waiting:
            state = waiting[0]
            late = (
                state.status == "late"
                or t - state.effective_due_t >= monitoring.protocol.late_after_s
            )
            ago = minutes_seconds(t - state.effective_due_t)
            word = "LATE" if late else "DUE"
            more = f"  (+{len(waiting) - 1} more)" if len(waiting) > 1 else ""
            self._set_badge(
                f"{word}  {state.spec.label}: {_asks(state)} · due {ago} ago{more}\n"
                "Alt+V vitals · Alt+O observe · Alt+S snooze · Alt+K skip",
                "late" if late else "due",
            )
        else:
            upcoming = monitoring.next_check(events, t)
            if upcoming is None:
                self._set_badge("All protocol checks done", "muted")
            else:
                self._set_badge(
                    f"Next check: {upcoming.spec.label} ({_asks(upcoming)}) at "
                    f"{t_plus(upcoming.effective_due_t)} · in "
                    f"{minutes_seconds(upcoming.effective_due_t - t)}",
                    "muted",
                )
        alerts = [e for e in events if e.kind == "alert" and e.seq not in self._acknowledged]
        self.alert_banner.setVisible(bool(alerts))
        if alerts:
            first = alerts[0]
            more = f"  (+{len(alerts) - 1} more)" if len(alerts) > 1 else ""
            # The message already names the threshold's source.
            self.alert_banner.setText(
                f"⚠  {first.data['message']}{more}   ·   Alt+A to acknowledge"
            )

    def _set_badge(self, text: str, role: str) -> None:
        self.check_badge.setText(text)
        self.check_badge.setVisible(bool(text))
        if self.check_badge.property("role") != role:
            self.check_badge.setProperty("role", role)
            self.check_badge.style().unpolish(self.check_badge)
            self.check_badge.style().polish(self.check_badge)

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
        self._events_cache.append(event)
        if event.kind == "alert_ack":
            self._acknowledged.add(int(event.data["alert"]))
        if event.kind == "vitals":
            self.last_vitals.setText(f"Last vitals {t_plus(event.t or 0)}: {describe_event(event)}")
        if (
            event.kind == "check_due"
            and not event.data.get("recorded_late")
            and hasattr(self, "_timer")
        ):
            self._chime()
        if event.kind in _CHECK_CHANGING and hasattr(self, "_scheduler"):
            self._schedule_checks()
        if event.kind == "amendment" and event.amends in self._items:
            self._apply_amendment(event)
            return
        if event.kind in _NOT_IN_STREAM:
            return  # on the timeline; the music line above says what plays
        item = QListWidgetItem()
        item.setData(NOTE_ROLE, event.seq)
        if event.kind == "note":
            text, tags = str(event.data["text"]), tuple(event.data.get("tags", ()))
            self._notes[event.seq] = (text, tags)
            item.setText(self._note_line(event.t, text, tags))
        else:
            item.setText(f"{t_plus(event.t or 0)}   {describe_event(event)}")
            if event.kind in ("alert", "check_late", "check_missed"):
                item.setForeground(QColor(theme.ALERT))
            else:
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
        item.setToolTip(plain_tip(f"Amended at {t_plus(event.t or 0)}: {event.reason}"))

    @staticmethod
    def _note_line(t: float | None, text: str, tags: tuple[str, ...]) -> str:
        return f"{t_plus(t or 0)}   {note_line(text, tags)}"

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
            with _db_write("amendment"):
                self.live.amend_note(seq, new_text, new_tags, reason)

        dialog = AmendDialog(text, tags, save, self)
        dialog.exec()
        dialog.deleteLater()  # parented to this screen: would otherwise live as long as it
        self._focus_note()

    def _on_escape(self) -> None:
        if self.vitals_edit.isVisible():
            self._close_vitals()
        self.stream.clearSelection()
        self.stream.setCurrentRow(-1)
        self.status.clear()
        self._focus_note()

    def _on_help(self) -> None:
        dialog = ShortcutsDialog(self)
        dialog.exec()
        dialog.deleteLater()
        self._focus_note()

    def _on_end(self) -> None:
        def end(reason: str, discharge: dict[str, Any] | None) -> SessionRecord:
            closing = self.music.ending_entries() if self.music is not None else []
            with _db_write("session end"):
                record = self.live.end(reason, discharge, closing)
            if self.music is not None:
                self.music.session_ended()
            return record

        t = self.live.elapsed()
        dialog = EndDialog(t, self.live.planned_seconds, end, self._discharge_hints(), self)
        accepted = dialog.exec()
        dialog.deleteLater()
        if accepted:
            self._timer.stop()
            self._scheduler.remove_all_jobs()
            self.ended.emit(self.live.record)
        else:
            self._focus_note()

    def _discharge_hints(self) -> dict[str, str]:
        """Suggestions from the recorded vitals; the therapist still chooses every score."""
        history = self.live.vitals_history()
        if not history:
            return {}
        first, last = history[0], history[-1]
        change = 100 * (last.systolic - first.systolic) / first.systolic
        return {
            "circulation": f"Latest systolic {last.systolic} vs baseline {first.systolic} "
            f"({change:+.0f} %): suggests {circulation_score(last.systolic, first.systolic)}",
            "spo2": f"Latest SpO2 {last.spo2} %: on room air suggests {spo2_score(last.spo2, False)}",
        }

    # --- monitoring ----------------------------------------------------------------------
    def _guarded(self, action: Callable[[], object], what: str) -> bool:
        """Run a save; a refused entry or a failed write is shown, never half-stored."""
        try:
            action()
        except KapsessionError as exc:
            self.status.setText(f"Not saved: {exc}")
            return False
        except (sqlite3.Error, OSError) as exc:
            log.error("%s not saved: %s", what, type(exc).__name__)
            self.status.setText(NOT_SAVED)
            return False
        self.status.clear()
        return True

    def _evaluate_checks(self) -> None:
        self._guarded(self.live.evaluate_checks, "check")
        self._schedule_checks()

    def _schedule_checks(self) -> None:
        """One APScheduler job, at the next moment a check becomes due, late or missed."""
        wake = self.live.next_check_wakeup()
        self._wake_t = wake
        if wake is None:
            self._scheduler.remove_all_jobs()
            return
        real_seconds = max(0.0, (wake - self.live.elapsed()) / self.live.record.time_scale)
        self._scheduler.add_job(
            self._on_check_job,
            "date",
            run_date=datetime.now(UTC) + timedelta(seconds=real_seconds + 0.01),
            id="checks",
            replace_existing=True,
            misfire_grace_time=None,
        )

    def _on_check_job(self) -> None:
        # APScheduler removes a finished one-shot job by its id after the job returns, which
        # would also remove the next "checks" job set from inside it: do the work just after
        # (unless the screen was stopped in between).
        QTimer.singleShot(0, self, self._after_check_job)

    def _after_check_job(self) -> None:
        if self._scheduler.running:
            self._on_check_time()

    def _on_check_time(self) -> None:
        self._evaluate_checks()
        self._refresh()

    def _waiting(self) -> CheckState | None:
        if self.live.monitoring is None:
            return None
        waiting = self.live.monitoring.due_now(self._events_cache, self.live.elapsed())
        return waiting[0] if waiting else None

    def _on_chime_toggled(self, on: bool, store: bool = True) -> None:
        self.chime_button.setText(f"Chime {'on' if on else 'off'}  Alt+C")
        if store:
            QSettings().setValue("checks/chime", on)

    def _chime(self) -> None:
        if not self.chime_button.isChecked() or self._cue_player is None:
            return
        try:
            self._cue_player().play_cue(CHIME, CHIME_VOLUME)
        except Exception as exc:  # no sound must never disturb the session
            log.warning("chime failed: %s", type(exc).__name__)

    def _on_vitals_open(self) -> None:
        self.vitals_edit.setVisible(True)
        self.vitals_edit.setFocus()

    def _close_vitals(self) -> None:
        # Focus first: hiding the focused field would pass focus on as if by Tab, which
        # selects the whole half-typed note, and the next keystroke would replace it.
        self._focus_note()
        self.vitals_edit.clear()
        self.vitals_edit.setVisible(False)

    def _focus_note(self) -> None:
        self.note.setFocus()
        self.note.deselect()

    def _on_vitals_entered(self) -> None:
        text = self.vitals_edit.text()
        if not text.strip():
            self._close_vitals()
            return
        if self._guarded(lambda: self.live.add_vitals(text), "vitals"):
            self._close_vitals()
        else:
            self.vitals_edit.setFocus()
        self._refresh()

    def _on_vitals_form(self) -> None:
        def save(vitals: Vitals) -> None:
            with _db_write("vitals"):
                self.live.add_vitals(vitals)

        self._run(VitalsForm(save, self))

    def _on_observe(self) -> None:
        waiting = self._waiting()
        ids = list(waiting.spec.scales) if waiting and waiting.spec.scales else list(SCALES)
        # Every answer belongs to the check the dialog was opened for: after the first one the
        # check is answered, so the session could no longer tell which check the rest are for.
        asked = waiting.spec if waiting and waiting.spec.scales else None

        def save(scale: str, value: int | str) -> None:
            with _db_write("observation"):
                self.live.add_observation(
                    scale, value, check=asked.key if asked and scale in asked.scales else None
                )

        self._run(ObservationDialog([SCALES[i] for i in ids], save, self))

    def _on_quick_event(self) -> None:
        def record(kind: str, **fields: object) -> None:
            with _db_write("quick event"):
                self.live.quick_event(kind, **fields)

        self._run(QuickEventDialog(record, self.live.record.route, self))

    def _on_check_action(self, snooze: bool) -> None:
        waiting = self._waiting()
        if waiting is None:
            self.status.setText("No check is due right now.")
            return
        key = waiting.spec.key

        def act(minutes: int, reason: str) -> None:
            with _db_write("check action"):
                if snooze:
                    self.live.snooze_check(key, minutes, reason)
                else:
                    self.live.skip_check(key, reason)

        self._run(CheckActionDialog(waiting.spec.label, snooze, act, self))

    def _on_acknowledge(self) -> None:
        alerts = [
            e for e in self._events_cache if e.kind == "alert" and e.seq not in self._acknowledged
        ]
        if not alerts:
            self.status.setText("There is no alert to acknowledge.")
            return
        self._guarded(lambda: self.live.acknowledge_alert(alerts[0].seq), "acknowledgement")
        self._refresh()

    def _run(self, dialog: QDialog) -> None:
        dialog.exec()
        dialog.deleteLater()  # parented to this screen: would otherwise live as long as it
        self._refresh()
        self._focus_note()

    def _music(self, action: Callable[[MusicController], object]) -> None:
        if self.music is None:
            return
        if self.music.player is None:
            self.status.setText(self.music.line())
            return
        action(self.music)

    def stop_music(self) -> None:
        """Before the app closes with the session running: the track's end is recorded, the
        music fades out quickly and libVLC is let go."""
        if self.music is not None:
            self.music.close()

    def stop(self) -> None:
        self._timer.stop()
        self.stop_music()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self.live.entry_added.disconnect(self._on_entry_added)


@contextmanager
def _db_write(what: str) -> Iterator[None]:
    """Inside a dialog's save: a failed write becomes a message in that dialog (and a log
    line naming only what failed), so the dialog stays open with the therapist's input."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        log.error("%s not saved: %s", what, type(exc).__name__)
        raise KapsessionError("the database could not be written; try again.") from None


# Music entries kept off the notes stream (a track ending, each volume step): the stream is for
# what the therapist needs to see; the export and the review hold them all.
_NOT_IN_STREAM = frozenset({"track_ended", "volume"})

# Entries after which the next check moment may have changed.
_CHECK_CHANGING = frozenset({*ANSWER_KINDS, *CHECK_KINDS, "suspend", "clock_jump"})


def _asks(state: CheckState) -> str:
    parts = (["vitals"] if state.spec.vitals else []) + [
        scale_in_sentence(s) for s in state.spec.scales
    ]
    return ", ".join(parts) or "observation"
