"""How loud the arc player's decks are: the master volume's ramp and the pause/silence level.

A deck's volume is master × track volume/100 × crossfade gain × pause/silence gain × the
track's loudness gain (kapsession.music.levels: g dB is a factor 10^(g/60) on libVLC's volume,
whose amplitude is cubic in the percentage), rounded; up to ``MAX_DECK_VOLUME`` (200 %) so that
a quiet track can be brought up. The master volume itself stays 0-100.
Master volume changes ramp at ``VOLUME_RAMP_PER_S`` units a second at most; pause and resume
fade over ``PAUSE_FADE_S``, fade-to-silence and back over ``SILENCE_FADE_S``.
"""

from __future__ import annotations

from kapsession.music.arc import Track
from kapsession.music.crossfade import gain_in
from kapsession.music.levels import MAX_DECK_VOLUME, volume_factor

VOLUME_RAMP_PER_S = 8.0  # master volume units per second (the design's limit is 10)
PAUSE_FADE_S = 2.0
SILENCE_FADE_S = 4.0


def clamp_volume(volume: int) -> int:
    return max(0, min(100, int(volume)))


def _towards(value: float, target: float, step: float) -> float:
    if value < target:
        return min(target, value + step)
    if value > target:
        return max(target, value - step)
    return value


class Loudness:
    """The master volume (ramping towards the one asked for) and the hush: the pause/silence
    level, 0-1, heard as gain sin(level·π/2)."""

    def __init__(self, master_volume: int) -> None:
        self.master = float(clamp_volume(master_volume))
        self.target = clamp_volume(master_volume)
        self.hush = 1.0
        self._hush_rate = 1.0 / PAUSE_FADE_S

    def ask(self, volume: int) -> int | None:
        """Ask for a master volume: the new target, or None when it is the one asked for."""
        target = clamp_volume(volume)
        if target == self.target:
            return None
        self.target = target
        return target

    def set_hush_fade(self, fade_s: float) -> None:
        """The hush moves over ``fade_s`` seconds from now on."""
        self._hush_rate = 1.0 / fade_s

    def ramp(self, dt: float, hushed: bool) -> None:
        """``dt`` seconds on: the master towards its target, the hush towards 0 (``hushed``)
        or 1."""
        self.master = _towards(self.master, float(self.target), VOLUME_RAMP_PER_S * dt)
        self.hush = _towards(self.hush, 0.0 if hushed else 1.0, self._hush_rate * dt)

    def fade_down(self, dt: float) -> None:
        """``dt`` seconds on, the master held: the hush towards 0 (the music is ending)."""
        self.hush = _towards(self.hush, 0.0, self._hush_rate * dt)

    def deck_volume(self, track: Track, gain: float, level_gain_db: float = 0.0) -> int:
        """The volume for a deck playing ``track`` at crossfade ``gain``, brought to the arc's
        loudness by ``level_gain_db``."""
        track_volume = 100 if track.volume is None else track.volume
        hush = gain_in(self.hush)
        volume = self.master * track_volume / 100 * gain * hush * volume_factor(level_gain_db)
        return max(0, min(MAX_DECK_VOLUME, round(volume)))
