"""When a deck's playback is a fault: an end far earlier than the track's length, or a
position that does not move for ``STALL_S`` while the track should be playing (a stall). (An
error event from the deck is one too.) The arc player records each as ``playback_fault`` and
plays the next item; when every track of a phase has failed in a row, the phase stays silent
until the next one (no endless fault loop)."""

from __future__ import annotations

from kapsession.music.arc import Phase, Track

EARLY_END_S = 5.0  # an end more than this (or 10 % of the length) before the length is a fault
MIN_PLAY_S = 1.0  # a track of unknown length that ends sooner than this is a fault
# A playing track whose position has not moved for this long is stalled (libVLC's position
# moves in steps of ~0.7 s while playing, measured on 3.0.24 with and without an audio device).
STALL_S = 8.0


def early_end(played: float, length: float | None, elapsed: float) -> str | None:
    """What is wrong with a track's end after ``played`` seconds of its ``length`` (None or 0:
    unknown), ``elapsed`` seconds after it started; None when it is an end in its time."""
    if length is not None and length > 0:
        early = played < length - max(EARLY_END_S, 0.1 * length)
        detail = f"ended after {played:.1f} s of {length:.1f} s"
    else:
        early = max(played, elapsed) < MIN_PLAY_S
        detail = f"ended after {played:.1f} s, length unknown"
    return detail if early else None


def stall_detail(position: float) -> str:
    return f"stalled at {position:.1f} s (no progress for {STALL_S:g} s)"


def every_track_failed(faults_in_row: int, phase: Phase | None) -> bool:
    """True when ``faults_in_row`` faults mean nothing in the phase plays."""
    tracks = sum(isinstance(i, Track) for i in phase.items) if phase else 0
    return faults_in_row >= tracks
