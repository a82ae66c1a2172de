"""What the live screen does through a dialog: amend a note, end the session, the vitals form,
an observation, a quick event, snooze or skip a check. Each save goes through the session;
a failed write stays in the dialog with the therapist's input (`saving.db_write`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QDialog, QWidget

from kapsession.monitoring.discharge import circulation_score, spo2_score
from kapsession.monitoring.observations import SCALES
from kapsession.monitoring.ready import ready_line
from kapsession.monitoring.vitals import Vitals
from kapsession.session.live import LiveSession
from kapsession.storage.store import SessionRecord

from ..dialogs import AmendDialog, ShortcutsDialog
from ..monitor_dialogs import CheckActionDialog, EndDialog, ObservationDialog, QuickEventDialog
from ..vitals_form import VitalsForm
from .adverse_event import AdverseEventDialog, pending_offer
from .music import MusicController
from .note_stream import NoteStream
from .saving import db_write


class DialogActions:
    def __init__(
        self,
        parent: QWidget,
        live: LiveSession,
        stream: NoteStream,
        say: Callable[[str], None],
        done: Callable[[], None],
    ) -> None:
        self._parent, self._live, self._stream = parent, live, stream
        self._say, self._done = say, done
        self.music: MusicController | None = None

    def _run(self, dialog: QDialog) -> bool:
        accepted = bool(dialog.exec())
        dialog.deleteLater()  # parented to the screen: would otherwise live as long as it
        return accepted

    def help(self) -> None:
        self._run(ShortcutsDialog(self._parent))
        self._done()

    def amend(self) -> None:
        seq = self._stream.selected_note()
        if seq is None:
            self._say("There is no note to amend yet.")
            return
        text, tags = self._stream.notes[seq]

        def save(new_text: str, new_tags: tuple[str, ...], reason: str) -> None:
            with db_write("amendment"):
                self._live.amend_note(seq, new_text, new_tags, reason)

        self._run(AmendDialog(text, tags, save, self._parent))
        self._done()

    def end(self) -> bool:
        """True when the session ended."""
        music = self.music

        def end(reason: str, discharge: dict[str, Any] | None) -> SessionRecord:
            closing = music.ending_entries() if music is not None else []
            with db_write("session end"):
                record = self._live.end(reason, discharge, closing)
            if music is not None:
                music.session_ended()
            return record

        live = self._live
        hints = self._discharge_hints()
        if self._run(EndDialog(live.elapsed(), live.planned_seconds, end, hints, self._parent)):
            return True
        self._done()
        return False

    def _discharge_hints(self) -> dict[str, str]:
        """Suggestions from the recorded vitals; the therapist still chooses every score."""
        history = self._live.vitals_history()
        if not history:
            return {}
        hints: dict[str, str] = {}
        ready = ready_line(self._live.events())  # computed, beside the time recorded (issue 15)
        if ready:
            hints["ready"] = ready.split(" · recorded:")[0]
        first, last = history[0], history[-1]
        change = 100 * (last.systolic - first.systolic) / first.systolic
        return hints | {
            "circulation": f"Latest systolic {last.systolic} vs baseline {first.systolic} "
            f"({change:+.0f} %): suggests {circulation_score(last.systolic, first.systolic)}",
            "spo2": f"Latest SpO2 {last.spo2} %: on room air suggests {spo2_score(last.spo2, False)}",
        }

    def vitals_form(self) -> None:
        def save(vitals: Vitals) -> None:
            with db_write("vitals"):
                self._live.add_vitals(vitals)

        self._run(VitalsForm(save, self._parent))
        self._done()

    def observe(self) -> None:
        waiting = self._live.waiting_check()
        ids = list(waiting.spec.scales) if waiting and waiting.spec.scales else list(SCALES)
        # Every answer belongs to the check the dialog was opened for: after the first one the
        # check is answered, so the session could no longer tell which check the rest are for.
        asked = waiting.spec if waiting and waiting.spec.scales else None

        def save(scale: str, value: int | str) -> None:
            with db_write("observation"):
                self._live.add_observation(
                    scale, value, check=asked.key if asked and scale in asked.scales else None
                )

        self._run(ObservationDialog([SCALES[i] for i in ids], save, self._parent))
        self._done()

    def quick_event(self) -> None:
        def record(kind: str, **fields: object) -> None:
            with db_write("quick event"):
                self._live.quick_event(kind, **fields)

        self._run(QuickEventDialog(record, self._live.record.route, self._parent))
        self._done()

    def adverse_event(self) -> None:
        """Alt+X: an adverse event, pre-filled from the offer waiting on the screen, if any."""
        live = self._live

        def save(
            event: str, tier: str, intervention: str, outcome: str, linked: int | None
        ) -> None:
            with db_write("adverse event"):
                live.record_adverse_event(event, tier, intervention, outcome, linked)

        events = list(live.timeline.events)
        offer = pending_offer(events, live.elapsed())
        self._run(AdverseEventDialog(events, offer, save, self._parent))
        self._done()

    def check_action(self, snooze: bool) -> None:
        waiting = self._live.waiting_check()
        if waiting is None:
            self._say("No check is due right now.")
            return
        key = waiting.spec.key

        def act(minutes: int, reason: str) -> None:
            with db_write("check action"):
                if snooze:
                    self._live.snooze_check(key, minutes, reason)
                else:
                    self._live.skip_check(key, reason)

        self._run(CheckActionDialog(waiting.spec.label, snooze, act, self._parent))
        self._done()
