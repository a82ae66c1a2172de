"""A track's loudness level and the gain that brings it to an arc's target: plain numbers,
imported at start-up by the arc format and the player (the measuring is kapsession.music.r128,
imported only when a pre-flight runs).

libVLC's volume maps a percentage p to amplitude (p/100)^3 (measured through ``amem`` on
libVLC 3.0.24: 50 -> 0.125, 80 -> 0.512, 150 -> 3.375, 200 -> 8.0, with no cap at 100), so a
gain of g dB is a factor 10^(g/60) on the percentage. The decks go up to ``MAX_DECK_VOLUME``."""

from __future__ import annotations

import math
from dataclasses import dataclass

TARGET_LUFS = -23.0  # EBU R128's programme level; an arc may set its own (arc.target_lufs)
TRUE_PEAK_CEILING_DBTP = -1.0
MAX_DECK_VOLUME = 200  # percent; libVLC's amplitude is (p/100)^3, so 200 % is +18.06 dB
MAX_GAIN_DB = 60.0 * math.log10(MAX_DECK_VOLUME / 100)


@dataclass(frozen=True)
class Level:
    """A track's integrated loudness (LUFS) and true peak (dBTP), and where they came from:
    ``analysis``, ``replaygain`` or ``r128`` (the file's tags)."""

    loudness_lufs: float
    true_peak_dbtp: float
    source: str = "analysis"


def gain_db(
    level: Level | None,
    target_lufs: float = TARGET_LUFS,
    ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP,
) -> float:
    """The gain that brings ``level`` to ``target_lufs`` with its true peak at most
    ``ceiling_dbtp``, within what a deck can give; 0.0 for a track with no level."""
    if level is None:
        return 0.0
    gain = min(target_lufs - level.loudness_lufs, ceiling_dbtp - level.true_peak_dbtp, MAX_GAIN_DB)
    return round(gain, 2)


def volume_factor(gain: float) -> float:
    """The factor on libVLC's volume percentage that gives ``gain`` dB."""
    return float(10.0 ** (gain / 60.0))
