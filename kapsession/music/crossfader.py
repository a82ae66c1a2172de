"""Moves the arc player's music from deck to deck: each item starts on the other deck than the
one playing, with an equal-power crossfade (``crossfade``); a track's start and its letting go
are recorded as ``track_started`` and ``track_ended``. While pause or silence holds the decks,
a crossfade completes at once, unheard."""

from __future__ import annotations

from collections.abc import Callable

from kapsession.music.arc import Item, Phase, Track
from kapsession.music.crossfade import Fade, fade_duration, gain_in, gain_out
from kapsession.music.deck_pair import DeckPair
from kapsession.music.loudness import Loudness
from kapsession.music.music_entries import Record, track_ended_entry, track_started_entry

# A track's measured loudness (None: unknown) and the gain that brings it to the arc's target.
LevelOf = Callable[[Track], "tuple[float | None, float]"]


class Crossfader:
    def __init__(
        self,
        pair: DeckPair,
        loudness: Loudness,
        record: Record,
        level_of: LevelOf = lambda _track: (None, 0.0),
    ) -> None:
        self.pair, self.loudness, self._record = pair, loudness, record
        self._level_of = level_of
        self.active: int | None = None  # the deck playing the current item
        self.fade: Fade | None = None
        self.held = False  # decks paused by pause/silence

    def busy(self) -> bool:
        """A crossfade is running that the next item waits for (it does not wait when the
        incoming track failed while fading in)."""
        if self.fade is None or self.held:
            return False
        active = self.active
        return active is None or not self.pair[active].ended or self.fade.into != active

    def switch(
        self,
        item: Item | None,
        phase: Phase | None,
        item_index: int,
        natural: bool,
        now: float,
        alternate: str | None = None,
    ) -> None:
        """Let the playing item go and start ``item`` (None: silence), the ``item_index``-th
        of ``phase`` (or, with ``alternate``, the phase's softer or deeper alternate in its
        place); ``natural``: the playing item came to its end."""
        lingering, linger_gain = None, 0.0
        if self.fade is not None and not self.held:
            # The incoming track failed while fading in: drop it; a track still fading out
            # goes on fading from where it is.
            lingering = self.fade.out
            if lingering is not None:
                linger_gain = self.pair[lingering].gain
            self.fade = None
        out = previous = self.active
        out_track = self.pair[out].track if out is not None else None
        self.end_track(out)
        self.active = None
        gapless = natural and out_track is not None and out_track.gapless_next
        out_done = out is None or self.pair[out].ended or gapless or self.held
        if out is not None and out_done:
            self.pair.stop(out)
            out = None
        # A deck let go mid-fade (a skip while it faded in) fades out from where it is.
        out_from = 1.0 if out is None else min(1.0, self.pair[out].gain)
        if out is None and lingering is not None:
            out, out_from = lingering, linger_gain
        into: int | None = None
        if isinstance(item, Track) and phase is not None:
            # The other deck than the one playing or just played: a gapless start never waits
            # for the deck that has just ended.
            last = out if out is not None else previous
            into = 0 if last is None else 1 - last
            loudness_lufs, level_gain = self._level_of(item)
            start_gain = 1.0 if gapless or self.held else 0.0
            self.pair.load(into, item, now, gain=start_gain, level_gain_db=level_gain)
            self.pair.set_volume(into, self.volume(into))
            if not self.held:
                self.pair.play(into)
            self.active = into
            entry = track_started_entry(item, phase, item_index, loudness_lufs, level_gain)
            if alternate is not None:
                entry["alternate"] = alternate
            self._record("track_started", entry)
        if out is None and (into is None or self.pair[into].gain >= 1.0):
            return
        self.fade = Fade(out, into, now, fade_duration(item, out_track), out_from)
        self.update(now)

    def update(self, now: float) -> bool:
        """Set the running crossfade's gains at ``now``: True when it has just completed."""
        fade = self.fade
        if fade is None:
            return False
        x = 1.0 if self.held else fade.x(now)
        if fade.into is not None:
            self.pair[fade.into].gain = gain_in(x)
        if fade.out is not None:
            self.pair[fade.out].gain = fade.out_from * gain_out(x)
        if x < 1.0:
            return False
        if fade.out is not None:
            self.pair.stop(fade.out)
        self.fade = None
        return True

    def cut_fade(self) -> None:
        """A skip during a crossfade does not wait for it: of the two decks, the louder goes
        on fading out from where it is in the next fade (``switch``), the quieter is let go at
        once (no third deck to keep it)."""
        fade = self.fade
        if fade is None or self.held:
            return
        into, out = fade.into, fade.out
        gain_into = 0.0 if into is None else self.pair[into].gain
        gain_out_ = 0.0 if out is None else self.pair[out].gain
        if out is not None and gain_out_ >= gain_into:
            if into is not None:  # the track fading in goes; the one fading out lingers
                if into == self.active:
                    self.end_track(into)
                    self.active = None
                self.pair.stop(into)
            fade.into = None
            return
        if out is not None:  # the track fading in is the louder: the other goes now
            self.pair.stop(out)
        self.fade = None

    def drop(self, deck: int) -> None:
        """Let a deck fading out go at once (it failed)."""
        self.pair.stop(deck)
        if self.fade is not None and self.fade.out == deck:
            self.fade.out = None

    def silence_all(self) -> None:
        """Let the playing track go and stop every deck, no fade."""
        self.end_track(self.active)
        self.fade = None
        self.pair.stop_all()
        self.active = None

    def ending_entries(self) -> list[tuple[str, dict[str, object]]]:
        """The ``track_ended`` entries of the playing track and of one still fading out."""
        decks = [self.active]
        if self.fade is not None and self.fade.out != self.active:
            decks.append(self.fade.out)
        entries = [self.ended_entry(d) for d in decks if d is not None]
        return [("track_ended", e) for e in entries if e is not None]

    def end_track(self, deck: int | None) -> None:
        entry = None if deck is None else self.ended_entry(deck)
        if entry is not None:
            self._record("track_ended", entry)

    def ended_entry(self, deck: int) -> dict[str, object] | None:
        track = self.pair[deck].track
        return None if track is None else track_ended_entry(track, self.pair.played(deck))

    def volume(self, deck: int) -> int:
        slot = self.pair[deck]
        if slot.track is None:
            return 0
        return self.loudness.deck_volume(slot.track, slot.gain, slot.level_gain_db)

    def apply_volumes(self) -> None:
        for deck in self.pair.live():
            self.pair.set_volume(deck, self.volume(deck))
