"""How the review screen moves through a session, decided without Qt: which marker the next or
previous key lands on, which part of the time axis a zoom, a jump or "whole session" shows,
and which search hit opens first (what the side panel says is review_detail.py).

Times on the axis are minutes since the dose (the timeline's x), entry times are seconds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kapsession.integration.review import NoteHit, Review

# Zoomed in no further than a minute across (half a minute either side of the centre).
MIN_HALF_SPAN = 0.5
# The whole session is shown with a minute's margin either side; panning may go five beyond.
WHOLE_MARGIN = 1.0
PAN_MARGIN = 5.0
# A search hit is shown in twenty minutes around it.
HIT_SPAN = 20.0


@dataclass(frozen=True)
class XRange:
    """A stretch of the time axis, in minutes since the dose."""

    lo: float
    hi: float

    @property
    def centre(self) -> float:
        return (self.lo + self.hi) / 2

    def holds(self, x: float) -> bool:
        return self.lo <= x <= self.hi


def step_marker(
    review: Review, current: int | None, current_seq: int | None, direction: int
) -> int | None:
    """The index of the marker the next (direction > 0) or previous key selects.

    From a marker, one along (stopping at either end). From an entry with no marker (a vitals
    reading chosen in the list), the first marker after it or the last before it. From nothing,
    the first or the last marker. None when the session has no markers."""
    markers = review.markers
    if not markers:
        return None
    if current is not None:
        return max(0, min(len(markers) - 1, current + direction))
    index = 0 if direction > 0 else len(markers) - 1
    if current_seq is not None:
        event = review.event(current_seq)
        t = event.t if event is not None and event.t is not None else 0.0
        found = markers.first_after(t) if direction > 0 else markers.last_until(t)
        if found is not None:
            index = found
    return index


def minutes_of(review: Review, seq: int | None) -> float | None:
    """Where an entry sits on the axis; None for no entry or one with no time since dose."""
    if seq is None:
        return None
    event = review.event(seq)
    if event is None or event.t is None:
        return None
    return event.t / 60.0


def nearest_reading(review: Review, minutes: float) -> int | None:
    """The vitals reading nearest a point on the axis (a click on a line with no dots); the
    earlier of two as near. None when the session has no readings."""
    times = review.vitals.t
    if not times:
        return None
    seconds = minutes * 60.0
    nearest = min(range(len(times)), key=lambda i: abs(times[i] - seconds))
    return review.vitals.seq[nearest]


def zoomed(view: XRange, factor: float, centre: float | None = None) -> XRange:
    """The view scaled by `factor` (0.5 zooms in, 2 out) around `centre` (the selection),
    else around the middle of the view."""
    middle = view.centre if centre is None else centre
    half = max(MIN_HALF_SPAN, (view.hi - view.lo) * factor / 2)
    return XRange(middle - half, middle + half)


def revealed(view: XRange, x: float) -> XRange | None:
    """The view moved to centre `x` when it is out of sight; None when it is in sight."""
    if view.holds(x):
        return None
    half = (view.hi - view.lo) / 2
    return XRange(x - half, x + half)


def around(x: float, minutes: float = HIT_SPAN) -> XRange:
    return XRange(x - minutes / 2, x + minutes / 2)


def whole_session(review: Review) -> XRange:
    return XRange(review.start_t / 60.0 - WHOLE_MARGIN, review.end_t / 60.0 + WHOLE_MARGIN)


def pan_limits(review: Review) -> XRange:
    """How far the axis may be panned."""
    return XRange(review.start_t / 60.0 - PAN_MARGIN, review.end_t / 60.0 + PAN_MARGIN)


def first_hit(hits: Sequence[NoteHit], session_id: int | None) -> int:
    """The hit opened first: the first in the session on screen when it has one, else the
    newest session's (hits come newest session first)."""
    return next((i for i, h in enumerate(hits) if h.session_id == session_id), 0)


def results_heading(query: str, count: int) -> str:
    """The line above the search results."""
    if not count:
        return f"No note contains “{query.strip()}”."
    return f"{count} note{'s' if count != 1 else ''} in all sessions · Enter opens · F3 next"
