"""The arc player: plays a music arc on two decks, following the dose clock.

A pure state machine, Qt-free and without libVLC: the GUI thread calls ``tick`` a few times a
second with the dose clock (``t``, seconds since dose) and a monotonic time (``now_s``, for
ramps), and hands over the adapter's end and error events (``on_track_ended``, ``on_error``).
It never sleeps and never starts threads. Sound goes through two ``Deck`` objects (one libVLC
media player each; two make a crossfade: ``deck_pair``).

Rules (DESIGN.md, Music):

- The phase is ``arc.phase_at(t)``. When it changes, a ``phase`` entry is recorded and the
  phase's first item starts with a crossfade, even mid-track: the arc follows the dose clock
  rather than drifting. A phase longer than its items wraps to its first item; gaps between
  phases are silence. A session that runs past the arc's end stays in its last phase (usually
  reflection), wrapping, until the session ends or the therapist fades to silence: the music
  does not stop on its own while the client is still in the session.
- Crossfades are equal-power (``crossfade``); volumes ramp (``loudness``).
- An error event, an early end or a stall is a fault (``playback_faults``): recorded as
  ``playback_fault`` and the next item plays. When every track of a phase has failed in a row,
  the phase stays silent until the next one (no endless fault loop).

The timeline entries it records, through ``record(kind, data)``, are in ``music_entries``.

``finish()`` ends the music with the session or the app: the playing track's ``track_ended`` is
recorded at once (or written by the caller from ``ending_entries()`` with the session's end, as
an ended session takes no more entries), then the decks fade out and stop, unrecorded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kapsession.music import levels as music_levels
from kapsession.music.arc import Arc, Item, Phase, Silence, Track
from kapsession.music.crossfade import end_lead
from kapsession.music.crossfader import Crossfader
from kapsession.music.deck_pair import Deck, DeckPair
from kapsession.music.loudness import PAUSE_FADE_S, SILENCE_FADE_S, Loudness
from kapsession.music.music_entries import Record, fault_entry, phase_entry, skip_entry
from kapsession.music.playback_faults import (
    MIN_PLAY_S,
    STALL_S,
    early_end,
    every_track_failed,
    stall_detail,
)

SILENCE_TITLE = "Silence"


class ArcPlayer:
    def __init__(
        self,
        arc: Arc,
        decks: tuple[Deck, Deck],
        record: Record,
        master_volume: int = 80,
        levels: Callable[[Path], music_levels.Level | None] = lambda _path: None,
    ) -> None:
        """``levels``: a track's measured loudness (the pre-flight's, kapsession.music.r128),
        or None when it is unknown (the track then plays as mastered, with no gain); it is
        asked once, as the track starts, and must not block (no analysis here)."""
        self.arc, self.decks, self._record = arc, decks, record
        self._levels = levels
        self._pair = DeckPair(decks)
        self._loudness = Loudness(master_volume)
        self._mixer = Crossfader(self._pair, self._loudness, record, self._level_of)
        self._t = 0.0
        self._now: float | None = None
        self._started = False
        self._phase_index: int | None = None
        self._item_index = 0
        self._item: Item | None = None
        self._silence_until = 0.0
        self._pending: tuple[int | None, int, bool] | None = None  # phase, item, natural
        self._faults_in_row = 0
        self._dead = False  # every track of the phase failed: silent until the next phase
        self._paused = False
        self._silenced = False
        self._finished = False  # the session ended: fading out, recording nothing
        self._stopped = False  # ... and every deck has stopped

    # --- the clock ---------------------------------------------------------------------------

    def tick(self, t: float, now_s: float) -> None:
        dt = 0.0 if self._now is None else max(0.0, now_s - self._now)
        self._t, self._now = t, now_s
        if self._finished:
            self._fade_out_finished(dt)
            return
        self._ramp(dt)
        self._update_fade()
        index = self._phase_index_at(t)
        if not self._started or index != self._phase_index:
            self._started = True
            self._phase_index, self._dead, self._faults_in_row = index, False, 0
            phase = self._phase()
            if phase is not None:
                self._record("phase", phase_entry(phase))
            self._go(index, 0, natural=False)
        else:
            self._check_progress()
        self._mixer.apply_volumes()

    def ending_entries(self) -> list[tuple[str, dict[str, object]]]:
        """The ``track_ended`` entries that ``finish()`` would record now: the session's end
        writes them in its own transaction (an ended session takes no more entries)."""
        return self._mixer.ending_entries()

    def finish(self, record: bool = True) -> None:
        """The music ends (the session ended, or the app closes): record the playing track's
        end now unless the caller already wrote ``ending_entries()``, then fade out and stop."""
        if self._finished:
            return
        if record:
            for kind, data in self.ending_entries():
                self._record(kind, data)
        self._finished, self._mixer.fade, self._pending = True, None, None
        self._loudness.set_hush_fade(PAUSE_FADE_S)

    @property
    def finished(self) -> bool:
        """True from ``finish()`` on (fading out or stopped)."""
        return self._finished

    @property
    def stopped(self) -> bool:
        """True once ``finish()`` has faded every deck out and stopped it."""
        return self._stopped

    def _fade_out_finished(self, dt: float) -> None:
        if self._stopped:
            return
        self._loudness.fade_down(dt)
        self._mixer.apply_volumes()
        if self._loudness.hush <= 0.0 or self._mixer.held:
            self._pair.stop_all()
            self._stopped = True

    # --- the therapist's controls --------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def silenced(self) -> bool:
        return self._silenced

    def pause(self) -> None:
        if self._finished:
            return
        if not self._paused:
            self._paused = True
            self._record("pause", {"on": True})
            self._set_hush(PAUSE_FADE_S)

    def resume(self) -> None:
        if self._paused and not self._finished:
            self._paused = False
            self._record("pause", {"on": False})
            self._set_hush(PAUSE_FADE_S)

    def silence(self) -> None:
        if not self._silenced and not self._finished:
            self._silenced = True
            self._record("silence", {"on": True})
            self._set_hush(SILENCE_FADE_S)

    def unsilence(self) -> None:
        if self._silenced and not self._finished:
            self._silenced = False
            self._record("silence", {"on": False})
            self._set_hush(SILENCE_FADE_S)

    def skip(self) -> None:
        """The next item, at once, even during a crossfade (it does not wait for the fade):
        the item heard now is the one skipped. A move that was waiting for the fade (the next
        item, or the next phase) is the one made."""
        phase = self._phase()
        if phase is None or self._dead or self._finished:
            return
        heard = self._item if self._item is not None else phase.items[self._item_index]
        self._record("skip", skip_entry(heard))
        pending, self._pending = self._pending, None
        self._mixer.cut_fade()
        if pending is not None:
            self._go(pending[0], pending[1], natural=False, at_once=True)
        else:
            self._go(self._phase_index, self._next_index(), natural=False, at_once=True)
        self._mixer.apply_volumes()

    def alternate(self, kind: str) -> Track | None:
        """Crossfade at once to the phase's next ``softer`` or ``deeper`` alternate (Alt+[ /
        Alt+]): the first of that kind, or the one after the alternate of that kind playing
        now. Its ``track_started`` carries ``alternate``; after it the phase goes on with the
        item after the one it replaced. None when the phase holds no such alternate (nothing
        changes: no browsing during a session)."""
        phase = self._phase()
        if phase is None or self._dead or self._finished:
            return None
        choices = [a.track for a in phase.alternates if a.kind == kind]
        if not choices:
            return None
        track = choices[0]
        if self._item in choices:  # pressed again: the next one of that kind
            track = choices[(choices.index(self._item) + 1) % len(choices)]
        self._pending = None
        self._mixer.cut_fade()
        self._item = track
        self._mixer.switch(track, phase, self._item_index, False, self._clock(), alternate=kind)
        self._mixer.apply_volumes()
        return track

    def set_master_volume(self, volume: int) -> None:
        if self._finished:
            return
        target = self._loudness.ask(volume)
        if target is not None:
            self._record("volume", {"volume": target})

    @property
    def target_volume(self) -> int:
        """The master volume last asked for."""
        return self._loudness.target

    @property
    def master_volume(self) -> float:
        """The master volume now (it ramps towards the last one asked for)."""
        return self._loudness.master

    # --- the adapter's events --------------------------------------------------------------------

    def on_track_ended(self, deck: int) -> None:
        if self._finished:
            return
        slot = self._pair[deck]
        slot.ended = True
        if deck != self._mixer.active or slot.track is None:
            return  # a deck fading out (stopped when its fade ends) or a stale event
        elapsed = self._clock() - slot.started_now
        detail = early_end(self._pair.played(deck), self._pair.length(deck), elapsed)
        if detail is not None:
            self._fault(slot.track, detail)
        else:
            self._faults_in_row = 0
            self._go(self._phase_index, self._next_index(), natural=True)
        self._mixer.apply_volumes()

    def on_error(self, deck: int, detail: str) -> None:
        if self._finished:
            return
        slot = self._pair[deck]
        if slot.track is None:
            return
        if deck != self._mixer.active:
            # The deck fading out failed: let it go quietly, but say so.
            self._record("playback_fault", fault_entry(slot.track, detail))
            self._mixer.drop(deck)
            return
        slot.ended = True
        self._fault(slot.track, detail)
        self._mixer.apply_volumes()

    # --- for the live screen ---------------------------------------------------------------------

    def now_playing(self) -> tuple[str, str, float] | None:
        """(title, phase name, seconds left in the phase), or None outside the arc's phases."""
        phase = self._phase()
        if phase is None or self._finished:
            return None
        item = self._item
        title = item.title if isinstance(item, Track) else SILENCE_TITLE
        return title, phase.name, max(0.0, phase.end_s - self._t)

    # --- inside ----------------------------------------------------------------------------------

    def _clock(self) -> float:
        return self._now if self._now is not None else 0.0

    def _phase_index_at(self, t: float) -> int | None:
        phase = self.arc.phase_at(t)
        if phase is None:
            if self.arc.phases and t >= self.arc.phases[-1].end_s:
                return len(self.arc.phases) - 1  # past the arc's end: the last phase goes on
            return None
        return next(i for i, p in enumerate(self.arc.phases) if p is phase)

    def _phase(self) -> Phase | None:
        return None if self._phase_index is None else self.arc.phases[self._phase_index]

    def _next_index(self) -> int:
        phase = self._phase()
        return 0 if phase is None else (self._item_index + 1) % len(phase.items)

    def _fault(self, track: Track, detail: str) -> None:
        self._record("playback_fault", fault_entry(track, detail))
        self._faults_in_row += 1
        if every_track_failed(self._faults_in_row, self._phase()):
            # Nothing in this phase plays: stay silent until the next phase.
            self._mixer.silence_all()
            self._item, self._dead, self._pending = None, True, None
            return
        self._go(self._phase_index, self._next_index(), natural=False)

    def _go(
        self, phase_index: int | None, item_index: int, natural: bool, at_once: bool = False
    ) -> None:
        """Move to an item of a phase (None: silence until the next phase); unless ``at_once``
        (a skip), after a running crossfade."""
        if not at_once and self._mixer.busy():
            self._pending = (phase_index, item_index, natural)  # after the running fade
            return
        self._pending = None
        phase = None if phase_index is None else self.arc.phases[phase_index]
        item = None if phase is None or self._dead else phase.items[item_index]
        self._item_index, self._item = item_index, item
        if isinstance(item, Silence):
            self._silence_until = self._clock() + item.seconds
        self._mixer.switch(item, phase, item_index, natural, self._clock())

    def _update_fade(self) -> None:
        if self._mixer.update(self._clock()) and self._pending is not None:
            self._go(*self._pending)

    def _check_progress(self) -> None:
        if self._mixer.held or self._dead or self._phase_index is None:
            return
        now = self._clock()
        item = self._item
        if isinstance(item, Silence):
            if now >= self._silence_until:
                self._go(self._phase_index, self._next_index(), natural=True)
            return
        active = self._mixer.active
        if not isinstance(item, Track) or active is None:
            return
        slot = self._pair[active]
        position = self._pair.position(active)
        if position > slot.last_pos:
            slot.moved_now = now
        elif not slot.ended and now - slot.moved_now >= STALL_S:
            slot.ended = True
            self._fault(item, stall_detail(position))
            return
        slot.last_pos = max(slot.last_pos, position)
        if position >= MIN_PLAY_S:
            self._faults_in_row = 0
        length = self._pair.length(active)
        if length is None or length <= 0 or position <= 0:
            return
        upcoming = self.arc.phases[self._phase_index].items[self._next_index()]
        if position >= length - end_lead(item, upcoming, length):
            self._go(self._phase_index, self._next_index(), natural=True)

    # --- volume ----------------------------------------------------------------------------------

    def _level_of(self, track: Track) -> tuple[float | None, float]:
        level = self._levels(track.path)
        if level is None:
            return None, 0.0
        return level.loudness_lufs, music_levels.gain_db(level, self.arc.target_lufs)

    def _set_hush(self, fade_s: float) -> None:
        self._loudness.set_hush_fade(fade_s)
        if not (self._paused or self._silenced) and self._mixer.held:
            self._mixer.held = False
            self._pair.release(self._clock())

    def _ramp(self, dt: float) -> None:
        hushed = self._paused or self._silenced
        self._loudness.ramp(dt, hushed)
        if hushed and self._loudness.hush <= 0.0 and not self._mixer.held:
            self._mixer.held = True
            self._update_fade()  # a running crossfade completes, unheard
            self._mixer.apply_volumes()
            self._pair.hold()
