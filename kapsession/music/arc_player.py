"""The arc player: plays a music arc on two decks, following the dose clock.

A pure state machine, Qt-free and without libVLC: the GUI thread calls ``tick`` a few times a
second with the dose clock (``t``, seconds since dose) and a monotonic time (``now_s``, for
ramps), and hands over the adapter's end and error events (``on_track_ended``, ``on_error``).
It never sleeps and never starts threads. Sound goes through two ``Deck`` objects (one libVLC
media player each; two make a crossfade).

Rules (DESIGN.md, Music):

- The phase is ``arc.phase_at(t)``. When it changes, a ``phase`` entry is recorded and the
  phase's first item starts with a crossfade, even mid-track: the arc follows the dose clock
  rather than drifting. A phase longer than its items wraps to its first item; gaps between
  phases are silence. A session that runs past the arc's end stays in its last phase (usually
  reflection), wrapping, until the session ends or the therapist fades to silence: the music
  does not stop on its own while the client is still in the session.
- Crossfades are equal-power: outgoing gain cos(x·π/2), incoming sin(x·π/2), over the incoming
  track's ``fade_in_s`` (into a silence: the outgoing track's ``fade_out_s``). A track marked
  ``gapless_next`` is never faded out when it ends: the next item starts at full volume as it
  ends. (Cutting a gapless track short, by skip or a phase change, still fades: a jump in the
  middle of a track is what the design forbids.)
- A deck's volume is master × track volume/100 × crossfade gain × pause/silence gain, rounded;
  ``Deck.set_volume`` is called only when that whole number changes.
- Master volume changes ramp at ``VOLUME_RAMP_PER_S`` units a second at most; pause and resume
  fade over ``PAUSE_FADE_S``, fade-to-silence and back over ``SILENCE_FADE_S``.
- An error event, an end far earlier than the track's length, or a position that does not move
  for ``STALL_S`` while the track should be playing (a stall), is a fault: recorded as
  ``playback_fault`` and the next item plays. When every track of a phase has failed in a row,
  the phase stays silent until the next one (no endless fault loop).

Timeline entries, through ``record(kind, data)``:

- ``phase`` {name, begins_t}: the arc entered a phase (``begins_t``: its planned start).
- ``track_started`` {title, path, phase, position, item}: ``position`` is the playback position
  in seconds (0.0 for a fresh start), ``item`` the track's 1-based place in its phase.
- ``track_ended`` {title, path, position}: the track was let go (it ended, or its fade out
  began); ``position`` in seconds into the track.
- ``skip`` {title, path}: the therapist skipped the item (title "" for a silence).
- ``volume`` {volume}: the master volume asked for (the ramp follows).
- ``silence`` {on}: the one-key fade to silence and back.
- ``pause`` {on}: music paused or resumed.
- ``playback_fault`` {path, detail}: an error, an early end or a stall; the next item plays.

``finish()`` ends the music with the session or the app: the playing track's ``track_ended`` is
recorded at once (or written by the caller from ``ending_entries()`` with the session's end, as
an ended session takes no more entries), then the decks fade out and stop, unrecorded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kapsession.music.arc import DEFAULT_FADE_IN_S, Arc, Item, Phase, Silence, Track

VOLUME_RAMP_PER_S = 8.0  # master volume units per second (the design's limit is 10)
PAUSE_FADE_S = 2.0
SILENCE_FADE_S = 4.0
GAPLESS_LEAD_S = 0.05  # a gapless track counts as ended this close to its length
EARLY_END_S = 5.0  # an end more than this (or 10 % of the length) before the length is a fault
MIN_PLAY_S = 1.0  # a track of unknown length that ends sooner than this is a fault
# A playing track whose position has not moved for this long is stalled (libVLC's position
# moves in steps of ~0.7 s while playing, measured on 3.0.24 with and without an audio device).
STALL_S = 8.0
SILENCE_TITLE = "Silence"
# Every kind of timeline entry the music records.
MUSIC_KINDS = frozenset(
    {
        "phase",
        "track_started",
        "track_ended",
        "skip",
        "volume",
        "silence",
        "pause",
        "playback_fault",
    }
)


class Deck(Protocol):
    """One libVLC media player; two make a crossfade."""

    def load(self, path: Path) -> None: ...
    def play(self) -> None: ...
    def pause(self) -> None: ...
    def stop(self) -> None: ...
    def set_volume(self, volume: int) -> None: ...  # 0-100, applied at once (ramps are ours)
    def position_s(self) -> float: ...
    def length_s(self) -> float | None: ...


Record = Callable[[str, dict[str, object]], object]


@dataclass
class _Slot:
    """What one deck is doing."""

    track: Track | None = None  # loaded and live (playing, or held by pause/silence)
    gain: float = 0.0  # crossfade gain
    volume: int | None = None  # the last volume set on the deck
    last_pos: float = 0.0
    started_now: float = 0.0
    moved_now: float = 0.0  # when the position last moved (or the track started or resumed)
    ended: bool = False  # the deck reported its end


@dataclass
class _Fade:
    out: int | None  # deck fading out (cos)
    into: int | None  # deck fading in (sin)
    start: float
    duration: float
    out_from: float = 1.0  # the outgoing deck's gain when the fade began

    def x(self, now: float) -> float:
        if self.duration <= 0:
            return 1.0
        return min(1.0, max(0.0, (now - self.start) / self.duration))


def _gain_in(x: float) -> float:
    return math.sin(x * math.pi / 2)


def _gain_out(x: float) -> float:
    return math.cos(x * math.pi / 2)


class ArcPlayer:
    def __init__(
        self,
        arc: Arc,
        decks: tuple[Deck, Deck],
        record: Record,
        master_volume: int = 80,
    ) -> None:
        self.arc, self.decks, self._record = arc, decks, record
        self._slots = (_Slot(), _Slot())
        self._t = 0.0
        self._now: float | None = None
        self._started = False
        self._phase_index: int | None = None
        self._item_index = 0
        self._item: Item | None = None
        self._active: int | None = None  # the deck playing the current item
        self._silence_until = 0.0
        self._fade: _Fade | None = None
        self._pending: tuple[int | None, int, bool] | None = None  # phase, item, natural
        self._faults_in_row = 0
        self._dead = False  # every track of the phase failed: silent until the next phase
        self._master = float(_clamp(master_volume))
        self._master_target = _clamp(master_volume)
        self._paused = False
        self._silenced = False
        self._hush = 1.0  # pause/silence level, 0-1 (gain sin(level·π/2))
        self._hush_rate = 1.0 / PAUSE_FADE_S
        self._held = False  # decks paused by pause/silence
        self._finished = False  # the session ended: fading out, recording nothing
        self._stopped = False  # ... and every deck has stopped

    # --- the clock ---------------------------------------------------------------------------

    def tick(self, t: float, now_s: float) -> None:
        dt = 0.0 if self._now is None else max(0.0, now_s - self._now)
        self._t, self._now = t, now_s
        if self._finished:
            self._fade_out_finished(dt)
            return
        self._ramp_master(dt)
        self._ramp_hush(dt)
        self._update_fade()
        index = self._phase_index_at(t)
        if not self._started or index != self._phase_index:
            self._started = True
            self._phase_index, self._dead, self._faults_in_row = index, False, 0
            phase = self._phase()
            if phase is not None:
                self._record("phase", {"name": phase.name, "begins_t": phase.start_s})
            self._go(index, 0, natural=False)
        else:
            self._check_progress()
        self._apply_volumes()

    def ending_entries(self) -> list[tuple[str, dict[str, object]]]:
        """The ``track_ended`` entries that ``finish()`` would record now: the session's end
        writes them in its own transaction (an ended session takes no more entries)."""
        decks = [self._active]
        if self._fade is not None and self._fade.out != self._active:
            decks.append(self._fade.out)
        entries = [self._ended_entry(d) for d in decks if d is not None]
        return [("track_ended", e) for e in entries if e is not None]

    def finish(self, record: bool = True) -> None:
        """The music ends (the session ended, or the app closes): record the playing track's
        end now unless the caller already wrote ``ending_entries()``, then fade out and stop."""
        if self._finished:
            return
        if record:
            for kind, data in self.ending_entries():
                self._record(kind, data)
        self._finished, self._fade, self._pending = True, None, None
        self._hush_rate = 1.0 / PAUSE_FADE_S

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
        self._hush = max(0.0, self._hush - self._hush_rate * dt)
        self._apply_volumes()
        if self._hush <= 0.0 or self._held:
            for deck in (0, 1):
                self._stop(deck)
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
        phase = self._phase()
        if phase is None or self._dead or self._finished:
            return
        pending = self._pending
        item_index = pending[1] if pending is not None else self._item_index
        item = phase.items[item_index]
        track = item if isinstance(item, Track) else None
        self._record(
            "skip",
            {"title": track.title if track else "", "path": str(track.path) if track else ""},
        )
        self._go(self._phase_index, (item_index + 1) % len(phase.items), natural=False)
        self._apply_volumes()

    def set_master_volume(self, volume: int) -> None:
        target = _clamp(volume)
        if target != self._master_target and not self._finished:
            self._master_target = target
            self._record("volume", {"volume": target})

    @property
    def target_volume(self) -> int:
        """The master volume last asked for."""
        return self._master_target

    @property
    def master_volume(self) -> float:
        """The master volume now (it ramps towards the last one asked for)."""
        return self._master

    # --- the adapter's events --------------------------------------------------------------------

    def on_track_ended(self, deck: int) -> None:
        if self._finished:
            return
        slot = self._slots[deck]
        slot.ended = True
        if deck != self._active or slot.track is None:
            return  # a deck fading out (stopped when its fade ends) or a stale event
        track = slot.track
        played = max(slot.last_pos, self._position(deck))
        length = self.decks[deck].length_s()
        now = self._now if self._now is not None else 0.0
        if length is not None and length > 0:
            early = played < length - max(EARLY_END_S, 0.1 * length)
            detail = f"ended after {played:.1f} s of {length:.1f} s"
        else:
            early = max(played, now - slot.started_now) < MIN_PLAY_S
            detail = f"ended after {played:.1f} s, length unknown"
        if early:
            self._fault(track, detail)
        else:
            self._faults_in_row = 0
            self._go(self._phase_index, self._next_index(), natural=True)
        self._apply_volumes()

    def on_error(self, deck: int, detail: str) -> None:
        if self._finished:
            return
        slot = self._slots[deck]
        if slot.track is None:
            return
        if deck != self._active:
            # The deck fading out failed: let it go quietly, but say so.
            self._record("playback_fault", {"path": str(slot.track.path), "detail": detail})
            self._stop(deck)
            if self._fade is not None and self._fade.out == deck:
                self._fade.out = None
            return
        slot.ended = True
        self._fault(slot.track, detail)
        self._apply_volumes()

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

    def _position(self, deck: int) -> float:
        return max(0.0, self.decks[deck].position_s())

    def _fault(self, track: Track, detail: str) -> None:
        self._record("playback_fault", {"path": str(track.path), "detail": detail})
        self._faults_in_row += 1
        phase = self._phase()
        tracks = sum(isinstance(i, Track) for i in phase.items) if phase else 0
        if self._faults_in_row >= tracks:
            # Nothing in this phase plays: stay silent until the next phase.
            self._end_track(self._active)
            self._release_all()
            self._item, self._active, self._dead, self._pending = None, None, True, None
            return
        self._go(self._phase_index, self._next_index(), natural=False)

    def _go(self, phase_index: int | None, item_index: int, natural: bool) -> None:
        """Move to an item of a phase (None: silence until the next phase)."""
        lingering, linger_gain = None, 0.0
        if self._fade is not None and not self._held:
            active = self._active
            if active is None or not self._slots[active].ended or self._fade.into != active:
                self._pending = (phase_index, item_index, natural)  # after the running fade
                return
            # The incoming track failed while fading in: drop it; a track still fading out
            # goes on fading from where it is.
            lingering = self._fade.out
            if lingering is not None:
                linger_gain = self._slots[lingering].gain
            self._fade = None
        self._pending = None
        now = self._now if self._now is not None else 0.0
        phase = None if phase_index is None else self.arc.phases[phase_index]
        item = None if phase is None or self._dead else phase.items[item_index]
        out = previous = self._active
        out_track = self._slots[out].track if out is not None else None
        self._end_track(out)
        self._item_index, self._item, self._active = item_index, item, None
        gapless = natural and out_track is not None and out_track.gapless_next
        out_done = out is None or self._slots[out].ended or gapless or self._held
        if out is not None and out_done:
            self._stop(out)
            out = None
        out_from = 1.0
        if out is None and lingering is not None:
            out, out_from = lingering, linger_gain
        if isinstance(item, Silence):
            self._silence_until = now + item.seconds
        into: int | None = None
        if isinstance(item, Track) and phase is not None:
            # The other deck than the one playing or just played: a gapless start never waits
            # for the deck that has just ended.
            last = out if out is not None else previous
            into = 0 if last is None else 1 - last
            if self._slots[into].track is not None:
                self._stop(into)
            slot = self._slots[into]
            deck = self.decks[into]
            deck.load(item.path)
            slot.track, slot.ended, slot.last_pos, slot.started_now = item, False, 0.0, now
            slot.moved_now = now
            slot.gain = 1.0 if gapless or self._held else 0.0
            self._set_deck_volume(into, self._volume(into))
            if not self._held:
                deck.play()
            self._active = into
            self._record(
                "track_started",
                {
                    "title": item.title,
                    "path": str(item.path),
                    "phase": phase.name,
                    "position": 0.0,
                    "item": item_index + 1,
                },
            )
        if out is None and (into is None or self._slots[into].gain >= 1.0):
            return
        if isinstance(item, Track):
            duration = item.fade_in_s
        elif out_track is not None:
            duration = out_track.fade_out_s
        else:
            duration = DEFAULT_FADE_IN_S
        self._fade = _Fade(out, into, now, duration, out_from)
        self._update_fade()

    def _end_track(self, deck: int | None) -> None:
        entry = None if deck is None else self._ended_entry(deck)
        if entry is not None:
            self._record("track_ended", entry)

    def _ended_entry(self, deck: int) -> dict[str, object] | None:
        track = self._slots[deck].track
        if track is None:
            return None
        position = max(self._slots[deck].last_pos, self._position(deck))
        return {"title": track.title, "path": str(track.path), "position": round(position, 3)}

    def _update_fade(self) -> None:
        fade = self._fade
        if fade is None:
            return
        now = self._now if self._now is not None else 0.0
        x = 1.0 if self._held else fade.x(now)
        if fade.into is not None:
            self._slots[fade.into].gain = _gain_in(x)
        if fade.out is not None:
            self._slots[fade.out].gain = fade.out_from * _gain_out(x)
        if x >= 1.0:
            if fade.out is not None:
                self._stop(fade.out)
            self._fade = None
            if self._pending is not None:
                self._go(*self._pending)

    def _check_progress(self) -> None:
        if self._held or self._dead or self._phase_index is None:
            return
        now = self._now if self._now is not None else 0.0
        item = self._item
        if isinstance(item, Silence):
            if now >= self._silence_until:
                self._go(self._phase_index, self._next_index(), natural=True)
            return
        active = self._active
        if not isinstance(item, Track) or active is None:
            return
        slot = self._slots[active]
        position = self._position(active)
        if position > slot.last_pos:
            slot.moved_now = now
        elif not slot.ended and now - slot.moved_now >= STALL_S:
            slot.ended = True
            self._fault(item, f"stalled at {position:.1f} s (no progress for {STALL_S:g} s)")
            return
        slot.last_pos = max(slot.last_pos, position)
        if position >= MIN_PLAY_S:
            self._faults_in_row = 0
        length = self.decks[active].length_s()
        if length is None or length <= 0 or position <= 0:
            return
        if item.gapless_next:
            lead = GAPLESS_LEAD_S
        else:
            phase = self.arc.phases[self._phase_index]
            upcoming = phase.items[self._next_index()]
            lead = upcoming.fade_in_s if isinstance(upcoming, Track) else item.fade_out_s
            lead = min(lead, length / 2)
        if position >= length - lead:
            self._go(self._phase_index, self._next_index(), natural=True)

    def _stop(self, deck: int) -> None:
        slot = self._slots[deck]
        if slot.track is not None:
            self.decks[deck].stop()
        slot.track, slot.gain, slot.ended = None, 0.0, False

    def _release_all(self) -> None:
        self._fade = None
        for deck in (0, 1):
            self._stop(deck)

    # --- volume ----------------------------------------------------------------------------------

    def _set_hush(self, fade_s: float) -> None:
        self._hush_rate = 1.0 / fade_s
        if not (self._paused or self._silenced) and self._held:
            self._held = False
            now = self._now if self._now is not None else 0.0
            for deck, slot in enumerate(self._slots):
                if slot.track is not None:
                    slot.moved_now = now
                    self.decks[deck].play()

    def _ramp_hush(self, dt: float) -> None:
        target = 0.0 if self._paused or self._silenced else 1.0
        step = self._hush_rate * dt
        if self._hush < target:
            self._hush = min(target, self._hush + step)
        elif self._hush > target:
            self._hush = max(target, self._hush - step)
        if target == 0.0 and self._hush <= 0.0 and not self._held:
            self._held = True
            self._update_fade()  # a running crossfade completes, unheard
            self._apply_volumes()
            for deck, slot in enumerate(self._slots):
                if slot.track is not None:
                    self.decks[deck].pause()

    def _ramp_master(self, dt: float) -> None:
        step = VOLUME_RAMP_PER_S * dt
        target = float(self._master_target)
        if self._master < target:
            self._master = min(target, self._master + step)
        elif self._master > target:
            self._master = max(target, self._master - step)

    def _volume(self, deck: int) -> int:
        slot = self._slots[deck]
        if slot.track is None:
            return 0
        track_volume = 100 if slot.track.volume is None else slot.track.volume
        hush = _gain_in(self._hush)
        return _clamp(round(self._master * track_volume / 100 * slot.gain * hush))

    def _set_deck_volume(self, deck: int, volume: int) -> None:
        slot = self._slots[deck]
        if slot.volume != volume:
            slot.volume = volume
            self.decks[deck].set_volume(volume)

    def _apply_volumes(self) -> None:
        for deck in (0, 1):
            if self._slots[deck].track is not None:
                self._set_deck_volume(deck, self._volume(deck))


def _clamp(volume: int) -> int:
    return max(0, min(100, int(volume)))
