"""What the live screen says about the protocol, decided here so the screen only draws it: the
check badge, the alert banner, which entries the notes stream shows and how, and which entries
move the next check moment. Qt-free and tested on the fake clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from kapsession.monitoring.checks import ANSWER_KINDS, CheckState, Monitoring
from kapsession.session.dose_clock import minutes_seconds, t_plus
from kapsession.session.entry_text import CHECK_KINDS, scale_in_sentence
from kapsession.storage.store import Event

BadgeLevel = Literal["muted", "due", "late"]
StreamGroup = Literal["hidden", "note", "alert", "event"]

CHECK_KEYS = "Alt+V vitals · Alt+O observe · Alt+S snooze · Alt+K skip"

# Music entries kept off the notes stream (a track ending, each volume step): the stream is for
# what the therapist needs to see; the export and the review hold them all.
NOT_IN_STREAM = frozenset({"track_ended", "volume"})
ALERTING = frozenset({"alert", "check_late", "check_missed"})

# Entries after which the next check moment may have changed.
CHECK_CHANGING = frozenset({*ANSWER_KINDS, *CHECK_KINDS, "suspend", "clock_jump"})


@dataclass(frozen=True)
class BadgeState:
    text: str  # "DUE  Baseline: vitals, MOAA/S · due 0:02 ago"; empty: no badge
    level: BadgeLevel


def asks(state: CheckState) -> str:
    """What a check asks for, in words: "vitals, MOAA/S"."""
    parts = ["vitals"] if state.spec.vitals else []
    parts += [scale_in_sentence(s) for s in state.spec.scales]
    return ", ".join(parts) or "observation"


def badge_state(monitoring: Monitoring | None, timeline: Sequence[Event], t: float) -> BadgeState:
    """The check badge at `t` seconds since the dose: the longest-waiting check, else the next."""
    if monitoring is None:
        return BadgeState("", "muted")
    waiting = monitoring.due_now(timeline, t)
    if waiting:
        state = waiting[0]
        late = (
            state.status == "late" or t - state.effective_due_t >= monitoring.protocol.late_after_s
        )
        ago = minutes_seconds(t - state.effective_due_t)
        more = f"  (+{len(waiting) - 1} more)" if len(waiting) > 1 else ""
        word = "LATE" if late else "DUE"
        return BadgeState(
            f"{word}  {state.spec.label}: {asks(state)} · due {ago} ago{more}\n{CHECK_KEYS}",
            "late" if late else "due",
        )
    upcoming = monitoring.next_check(timeline, t)
    if upcoming is None:
        return BadgeState("All protocol checks done", "muted")
    return BadgeState(
        f"Next check: {upcoming.spec.label} ({asks(upcoming)}) at "
        f"{t_plus(upcoming.effective_due_t)} · in "
        f"{minutes_seconds(upcoming.effective_due_t - t)}",
        "muted",
    )


def alert_banner(open_alerts: Sequence[Event]) -> str:
    """The banner over the stream while alerts wait to be acknowledged; empty: none."""
    if not open_alerts:
        return ""
    more = f"  (+{len(open_alerts) - 1} more)" if len(open_alerts) > 1 else ""
    # The message already names the threshold's source.
    return f"⚠  {open_alerts[0].data['message']}{more}   ·   Alt+A to acknowledge"


def stream_group(kind: str) -> StreamGroup:
    """How the notes stream shows an entry of this kind."""
    if kind in NOT_IN_STREAM:
        return "hidden"
    if kind == "note":
        return "note"
    return "alert" if kind in ALERTING else "event"


def real_seconds_until(wake_t: float, elapsed: float, time_scale: float) -> float:
    """Real seconds until the session reaches `wake_t` (a rehearsal's clock runs faster)."""
    return max(0.0, (wake_t - elapsed) / time_scale)
