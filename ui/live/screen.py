"""The live screen: the dose clock across the room, the phase, what comes next, and quick notes.

The note field is the only widget here that takes keyboard focus, so typing always lands in it;
everything else is reached by a shortcut (listed under F1). The screen composes small widgets
and draws what the session decides (`kapsession/session/live_status.py`)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, timedelta

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from kapsession.clock import Clock, SystemClock
from kapsession.monitoring.adverse import Prefill
from kapsession.music.cue import CuePlayer
from kapsession.session.live import LiveSession
from kapsession.session.live_status import CHECK_CHANGING, real_seconds_until
from kapsession.storage.store import Event

from ..clinicians.dialogs import SwitchDialog, charting_text
from ..clinicians.keys import keep_ctrl_u
from ..format import describe_event, t_plus
from ..scheduler import GuiScheduler
from ..settings import Settings
from .adverse_event import OfferLine, offer_expired, pending_offer
from .alert_banner import AlertBanner
from .check_badge import CheckBadge
from .chime_switch import ChimeSwitch
from .clock_panel import ClockPanel
from .dialog_actions import DialogActions
from .entry_fields import last_vitals_label, note_field, status_label, tag_chips, vitals_field
from .header import Header, intention_label, quiet_button
from .medication_line import MedicationLine
from .music import VOLUME_STEP, MusicController
from .note_stream import NoteStream
from .saving import save_or_say
from .shortcuts import bind_keys

log = logging.getLogger("kapsession.ui.live")

# Builds the session's music (the composition root decides real libVLC or none); the second
# argument is where the music says something the therapist must know.
MusicFactory = Callable[[LiveSession, Callable[[str], None]], MusicController]


class LiveView(QWidget):
    ended = Signal(object)  # SessionRecord

    def __init__(
        self,
        live: LiveSession,
        cue_player: Callable[[], CuePlayer] | None = None,
        music: MusicFactory | None = None,
        parent: QWidget | None = None,
        *,
        settings: Settings | None = None,
        scheduler: GuiScheduler | None = None,
        wall_clock: Clock | None = None,
    ) -> None:
        super().__init__(parent)
        self.live = live
        self.music: MusicController | None = None
        # Handed in by the composition root; a screen built alone (tests) makes its own.
        self._settings = settings if settings is not None else Settings()
        self._wall = wall_clock if wall_clock is not None else SystemClock()
        # Checks fire at their moments through APScheduler on the GUI thread (the scheduler
        # serves this screen and is shut down with it); evaluating is idempotent, so the
        # once-a-second refresh also catches up after a wall-clock jump.
        self._scheduler = scheduler if scheduler is not None else GuiScheduler(self, timezone=UTC)
        self._active = False
        self._offer_dirty = True
        self._offer: Prefill | None = None
        self._build(cue_player)
        bind_keys(self, self._key_actions())
        keep_ctrl_u(self, self.note, self.vitals_edit, self.meds.field)
        for event in live.events():
            self._on_entry_added(event)
        live.entry_added.connect(self._on_entry_added)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_tick)
        if not self._scheduler.running:
            self._scheduler.start()
        self._active = True
        self._wake_t: float | None = None
        self._evaluate_checks()
        if music is not None:
            self.music = music(live, self.status.setText)
            self.music.changed.connect(self._refresh_music)
            self.dialogs.music = self.music
        self._refresh()
        self._schedule_tick()

    # --- layout --------------------------------------------------------------------------
    def _build(self, cue_player: Callable[[], CuePlayer] | None) -> None:
        self.stream = NoteStream()
        self.status = status_label()
        self.dialogs = DialogActions(self, self.live, self.stream, self.status.setText, self._done)
        top = Header(self.live, self.dialogs.help, self._on_end)
        self.help_button, self.end_button = top.help_button, top.end_button
        self.charting = top.charting
        self.intention = intention_label(self.live)
        self.panel = ClockPanel()
        self.clock, self.phase, self.next_up = (
            self.panel.clock,
            self.panel.phase,
            self.panel.next_up,
        )
        self.music_line, self.progress = self.panel.music_line, self.panel.progress
        self.check_badge = CheckBadge()
        self.alert_banner = AlertBanner()
        self.adverse_offer = OfferLine()  # issue 15: waits under the banner, never takes focus
        self.last_vitals = last_vitals_label()
        self.vitals_edit = vitals_field()
        self.vitals_edit.returnPressed.connect(self._on_vitals_entered)
        self.meds = MedicationLine(self.live, self._say, self._focus_note, lambda: self._refresh())
        self.stream.itemDoubleClicked.connect(lambda _item: self.dialogs.amend())

        self.tag_buttons = tag_chips()
        chips = QHBoxLayout()
        for button in self.tag_buttons.values():
            chips.addWidget(button)
        chips.addStretch(1)
        self.amend_button = quiet_button("Amend…  Ctrl+E", self.dialogs.amend)
        chips.addWidget(self.amend_button)
        self.chime_button = ChimeSwitch(self._settings, cue_player)
        chips.addWidget(self.chime_button)

        self.note = note_field()
        self.note.returnPressed.connect(self._on_note_entered)
        self.note.textEdited.connect(lambda _t: self.status.clear())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.addLayout(top)
        layout.addWidget(self.intention)
        layout.addWidget(self.panel, 3)
        layout.addWidget(self.check_badge)
        layout.addWidget(self.alert_banner)
        layout.addWidget(self.adverse_offer)
        layout.addWidget(self.last_vitals)
        layout.addWidget(self.meds.total)
        layout.addWidget(self.stream, 4)
        layout.addLayout(chips)
        layout.addWidget(self.vitals_edit)
        layout.addWidget(self.meds.field)
        layout.addWidget(self.note)
        layout.addWidget(self.status)
        self.setFocusProxy(self.note)

    def _key_actions(self) -> dict[str, Callable[[], object]]:
        actions: dict[str, Callable[[], object]] = {
            "escape": self._on_escape,
            "help": self.dialogs.help,
            "amend": self.dialogs.amend,
            "end": self._on_end,
            "vitals_line": self._on_vitals_open,
            "vitals_form": self.dialogs.vitals_form,
            "medication_line": self.meds.open,
            "observe": self.dialogs.observe,
            "quick_event": self.dialogs.quick_event,
            "snooze": lambda: self.dialogs.check_action(snooze=True),
            "skip": lambda: self.dialogs.check_action(snooze=False),
            "acknowledge": self._on_acknowledge,
            "adverse_event": self.dialogs.adverse_event,
            "chime": self.chime_button.toggle,
            "silence": lambda: self._music(lambda m: m.toggle_silence()),
            "pause": lambda: self._music(lambda m: m.toggle_pause()),
            "next_track": lambda: self._music(lambda m: m.skip()),
            "softer_track": lambda: self._music(lambda m: m.alternate("softer")),
            "deeper_track": lambda: self._music(lambda m: m.alternate("deeper")),
            "louder": lambda: self._music(lambda m: m.step_volume(VOLUME_STEP)),
            "softer": lambda: self._music(lambda m: m.step_volume(-VOLUME_STEP)),
            "previous_note": lambda: self.stream.step_selection(-1),
            "next_note": lambda: self.stream.step_selection(1),
            "switch_clinician": self._on_switch_clinician,
        }
        for tag, button in self.tag_buttons.items():
            actions[f"tag:{tag}"] = button.toggle
        return actions

    def resizeEvent(self, event: QResizeEvent) -> None:
        self.panel.fit(self.width(), self.height())
        super().resizeEvent(event)

    # --- time ----------------------------------------------------------------------------
    def _schedule_tick(self) -> None:
        # Wake once per displayed second, just after it turns, rather than polling.
        elapsed = self.live.elapsed()
        to_next = (1.0 - (elapsed % 1.0)) / self.live.record.time_scale
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
        self.panel.show_time(self.live)
        self.check_badge.show_state(self.live.check_badge())
        self.alert_banner.show_text(self.live.alert_banner())
        # Worked out when an entry arrives (from the timeline kept in memory), and on the tick
        # only let go once it is too old: no scan every second.
        now = self.live.elapsed()
        if self._offer_dirty or offer_expired(self._offer, now):
            self._offer_dirty = False
            self._offer = pending_offer(self.live.timeline.events, now)
            self.adverse_offer.show_offer(self._offer)
        self.meds.refresh()
        self._refresh_music()
        self.charting.setText(charting_text(self.live.store))

    def _on_switch_clinician(self) -> None:
        """Ctrl+U: another clinician and their PIN; their name is on every entry from now."""
        if SwitchDialog(self.live.store, self).exec():
            self.status.setText(f"{charting_text(self.live.store)}.")
            self._refresh()
        self._focus_note()

    def _refresh_music(self) -> None:
        if self.music is not None:
            self.panel.show_music(self.music.line())

    def _done(self) -> None:
        """After a dialog: show what it saved, give the note field its focus back."""
        self._refresh()
        self._focus_note()

    # --- entries ---------------------------------------------------------------------------
    def _on_note_entered(self) -> None:
        text = self.note.text()
        if not text.strip():
            self.note.clear()
            return
        tags = self._chosen_tags()
        if not save_or_say(lambda: self.live.add_note(text, tags), "note", self._say):
            return
        # Saved (the stream already shows it): only now is the field cleared.
        self.note.clear()
        for button in self.tag_buttons.values():
            button.setChecked(False)

    def _chosen_tags(self) -> tuple[str, ...]:
        return tuple(tag for tag, button in self.tag_buttons.items() if button.isChecked())

    def _say(self, text: str) -> None:
        self.status.setText(text)

    def _on_entry_added(self, event: Event) -> None:
        self._offer_dirty = True
        if event.kind == "vitals":
            self.last_vitals.setText(f"Last vitals {t_plus(event.t or 0)}: {describe_event(event)}")
        if event.kind == "check_due" and not event.data.get("recorded_late") and self._active:
            self.chime_button.ring()
        if event.kind in CHECK_CHANGING and self._active:
            self._schedule_checks()
        self.stream.show_entry(event)

    def _on_escape(self) -> None:
        if self.vitals_edit.isVisible():
            self._close_vitals()
        if self.meds.field.isVisible():
            self.meds.close()
        self.stream.clear_choice()
        self.status.clear()
        self._focus_note()

    def _on_end(self) -> None:
        if self.dialogs.end():
            self._timer.stop()
            self._scheduler.remove_all_jobs()
            self.ended.emit(self.live.record)

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
        if save_or_say(lambda: self.live.add_vitals(text), "vitals", self._say):
            self._close_vitals()
        else:
            self.vitals_edit.setFocus()
        self._refresh()

    def _on_acknowledge(self) -> None:
        alerts = self.live.open_alerts()
        if not alerts:
            self.status.setText("There is no alert to acknowledge.")
            return
        save_or_say(
            lambda: self.live.acknowledge_alert(alerts[0].seq), "acknowledgement", self._say
        )
        self._refresh()

    # --- the protocol's moments -------------------------------------------------------------
    def _evaluate_checks(self) -> None:
        save_or_say(self.live.evaluate_checks, "check", self._say)
        self._schedule_checks()

    def _schedule_checks(self) -> None:
        """One APScheduler job, at the next moment a check becomes due, late or missed."""
        wake = self.live.next_check_wakeup()
        self._wake_t = wake
        if wake is None:
            self._scheduler.remove_all_jobs()
            return
        real = real_seconds_until(wake, self.live.elapsed(), self.live.record.time_scale)
        self._scheduler.add_job(
            self._on_check_job,
            "date",
            run_date=self._wall.now() + timedelta(seconds=real + 0.01),
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
        if self._active and self._scheduler.running:
            self._on_check_time()

    def _on_check_time(self) -> None:
        self._evaluate_checks()
        self._refresh()

    # --- music and the end ---------------------------------------------------------------
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
        self._active = False
        self._timer.stop()
        self.stop_music()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self.live.entry_added.disconnect(self._on_entry_added)
