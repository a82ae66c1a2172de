"""Equal-power crossfades between the arc player's two decks, and when they begin.

Outgoing gain cos(x·π/2), incoming sin(x·π/2), x going 0 → 1 over the incoming track's
``fade_in_s`` (into a silence: the outgoing track's ``fade_out_s``). A track marked
``gapless_next`` is never faded out when it ends: the next item starts at full volume as it
ends. (Cutting a gapless track short, by skip or a phase change, still fades: a jump in the
middle of a track is what the design forbids.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kapsession.music.arc import DEFAULT_FADE_IN_S, Item, Track

GAPLESS_LEAD_S = 0.05  # a gapless track counts as ended this close to its length


def gain_in(x: float) -> float:
    return math.sin(x * math.pi / 2)


def gain_out(x: float) -> float:
    return math.cos(x * math.pi / 2)


@dataclass
class Fade:
    """One running crossfade between the decks."""

    out: int | None  # deck fading out (cos)
    into: int | None  # deck fading in (sin)
    start: float
    duration: float
    out_from: float = 1.0  # the outgoing deck's gain when the fade began

    def x(self, now: float) -> float:
        if self.duration <= 0:
            return 1.0
        return min(1.0, max(0.0, (now - self.start) / self.duration))


def fade_duration(item: Item | None, out_track: Track | None) -> float:
    """How long the fade into ``item`` (a track, a silence, or nothing) takes."""
    if isinstance(item, Track):
        return item.fade_in_s
    if out_track is not None:
        return out_track.fade_out_s
    return DEFAULT_FADE_IN_S


def end_lead(track: Track, upcoming: Item, length: float) -> float:
    """How long before ``track``'s end (of ``length`` seconds) the next item begins: the
    upcoming track's fade in (into a silence: this track's fade out), at most half the track;
    a gapless track goes on to its end."""
    if track.gapless_next:
        return GAPLESS_LEAD_S
    lead = upcoming.fade_in_s if isinstance(upcoming, Track) else track.fade_out_s
    return min(lead, length / 2)
