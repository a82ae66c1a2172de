"""The shape of a medicine session by route: which phase the client is likely in.

These are orientation for the therapist, not clinical rules. Sources: DESIGN.md clinical
reference (sublingual lozenge onset 15-20 min, peak ~40 min, fades over 1-2 h; IM onset < 5 min,
lasting ~60 min); IV infusions typically run ~40 min; intranasal esketamine peaks within
~20-40 min and is observed for >= 2 h (Spravato REMS)."""

from __future__ import annotations

from dataclasses import dataclass

PHASE_NAMES = ("settling", "onset", "peak", "return", "reflection")

# Minutes from the dose at which each phase begins, per route.
_STARTS: dict[str, tuple[float, float, float, float, float]] = {
    "intramuscular": (0, 2, 8, 35, 55),
    "sublingual": (0, 15, 30, 55, 75),
    "intravenous": (0, 5, 15, 40, 55),
    "intranasal": (0, 5, 20, 45, 75),
}


@dataclass(frozen=True)
class PhaseInfo:
    name: str
    started_at: float  # seconds since dose
    next_name: str | None
    next_at: float | None  # seconds since dose


def phase_at(route: str, t: float) -> PhaseInfo:
    starts = [m * 60 for m in _STARTS.get(route, _STARTS["sublingual"])]
    index = 0
    for i, start in enumerate(starts):
        if t >= start:
            index = i
    nxt = index + 1
    return PhaseInfo(
        PHASE_NAMES[index],
        starts[index],
        PHASE_NAMES[nxt] if nxt < len(starts) else None,
        starts[nxt] if nxt < len(starts) else None,
    )
