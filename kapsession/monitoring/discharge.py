"""Discharge readiness: the modified Aldrete score, the ride home and the time the client was
ready, and whether a session may be ended as complete.

Modified Aldrete (Aldrete 1995): five items scored 0–2, at least 9 of 10 to discharge.
Circulation compares systolic BP with the baseline; SpO2 scores the saturation and whether
oxygen is needed to hold it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple

from kapsession.errors import InvalidEntry
from kapsession.monitoring.vitals import LIMITS

SOURCE = "Modified Aldrete score (Aldrete 1995)"
PASS_MARK = 9
MAX_SCORE = 10
# Readiness is recorded within the day of the dose (REMS observes >= 2 h); anything later is a slip.
MAX_READY_T = 24 * 3600.0


class AldreteItem(NamedTuple):
    id: str
    name: str
    # (score, label), best first; the score's digit is its key.
    options: tuple[tuple[int, str], ...]


ITEMS: tuple[AldreteItem, ...] = (
    AldreteItem(
        "activity",
        "Activity",
        ((2, "Moves all four limbs"), (1, "Moves two limbs"), (0, "Moves no limbs")),
    ),
    AldreteItem(
        "respiration",
        "Respiration",
        (
            (2, "Breathes deeply and coughs freely"),
            (1, "Dyspnoea or limited breathing"),
            (0, "Apnoeic"),
        ),
    ),
    AldreteItem(
        "circulation",
        "Circulation",
        (
            (2, "Systolic BP within ±20 % of baseline"),
            (1, "Systolic BP 20–49 % from baseline"),
            (0, "Systolic BP 50 % or more from baseline"),
        ),
    ),
    AldreteItem(
        "consciousness",
        "Consciousness",
        ((2, "Fully awake"), (1, "Arousable on calling"), (0, "Not responding")),
    ),
    AldreteItem(
        "spo2",
        "SpO2",
        (
            (2, "SpO2 above 92 % on room air"),
            (1, "Needs oxygen to keep SpO2 above 90 %"),
            (0, "SpO2 below 90 % even with oxygen"),
        ),
    ),
)
ITEM_IDS: tuple[str, ...] = tuple(i.id for i in ITEMS)
_NAMES = {i.id: i.name for i in ITEMS}


def _systolic(value: object, what: str, low: float) -> Fraction:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        # An int is always finite (and math.isfinite would overflow on a huge one).
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        raise InvalidEntry(f"Circulation: {what} systolic must be a number.")
    high = LIMITS["systolic"].high
    if not low <= value <= high:
        raise InvalidEntry(f"Circulation: {what} systolic must be from {low:g} to {high:g} mmHg.")
    return Fraction(value)


def circulation_score(current_systolic: float, baseline_systolic: float) -> int:
    """2 if systolic is within ±20 % of baseline (exactly 20 % counts as within), 1 if it is
    more than 20 % but less than 50 % away, 0 if 50 % or more. Computed exactly (no rounding
    at the edges): 144 against 120 is 20 % and scores 2."""
    current = _systolic(current_systolic, "current", 0)
    baseline = _systolic(baseline_systolic, "baseline", 1)
    change = abs(current - baseline) / baseline
    if change <= Fraction(20, 100):
        return 2
    if change < Fraction(50, 100):
        return 1
    return 0


def spo2_score(spo2: int, on_oxygen: bool) -> int:
    """2: above 92 % on room air. 1: above 90 % but needing oxygen for it (or 91–92 % on room
    air, which would need oxygen). 0: 90 % or below, with or without oxygen (below 90 % is a
    sentinel event; exactly 90 % is not "above 90 %" and is scored conservatively)."""
    if isinstance(spo2, bool) or not isinstance(spo2, int):
        raise InvalidEntry("SpO2 for the discharge score must be a whole number.")
    if not 0 <= spo2 <= 100:
        raise InvalidEntry("SpO2 for the discharge score must be from 0 to 100 %.")
    if not isinstance(on_oxygen, bool):
        raise InvalidEntry("SpO2 for the discharge score: say whether oxygen is given.")
    if spo2 > 92 and not on_oxygen:
        return 2
    if spo2 > 90:
        return 1
    return 0


def _check_scores(answers: object) -> dict[str, int]:
    if not isinstance(answers, Mapping):
        raise InvalidEntry("Discharge score: the answers are missing.")
    unknown = [k for k in answers if k not in _NAMES]
    if unknown:
        raise InvalidEntry(
            f"Discharge score has no item {str(unknown[0])[:40]!r}; items: {', '.join(ITEM_IDS)}."
        )
    scores: dict[str, int] = {}
    for item in ITEM_IDS:
        if item not in answers or answers[item] is None:
            raise InvalidEntry(f"Discharge score: {_NAMES[item]} is not answered.")
        value = answers[item]
        if isinstance(value, bool) or not isinstance(value, int) or value not in (0, 1, 2):
            raise InvalidEntry(f"Discharge score: {_NAMES[item]} must be 0, 1 or 2.")
        scores[item] = value
    return scores


def _check_ready_at(ready_at_t: object, now_t: float | None) -> float | None:
    if ready_at_t is None:
        return None
    if (
        isinstance(ready_at_t, bool)
        or not isinstance(ready_at_t, int | float)
        or (isinstance(ready_at_t, float) and not math.isfinite(ready_at_t))
    ):
        raise InvalidEntry("Ready time must be a number of seconds since the dose.")
    if not 0 <= ready_at_t <= MAX_READY_T:
        raise InvalidEntry("Ready time must be after the dose and within 24 hours of it.")
    if now_t is not None and ready_at_t > now_t:
        raise InvalidEntry("Ready time cannot be in the future.")
    return float(ready_at_t)


@dataclass(frozen=True)
class DischargeAssessment:
    """A checked discharge-readiness assessment; constructing one validates it."""

    scores: Mapping[str, int]
    ride_home_confirmed: bool
    ready_at_t: float | None
    pass_mark: int = PASS_MARK

    def __post_init__(self) -> None:
        pm = self.pass_mark
        if isinstance(pm, bool) or not isinstance(pm, int) or not 0 <= pm <= MAX_SCORE:
            raise InvalidEntry(f"Discharge pass mark must be a whole number from 0 to {MAX_SCORE}.")
        # A plain dict in item order, copied so the caller's dict cannot change it later.
        object.__setattr__(self, "scores", _check_scores(self.scores))
        if not isinstance(self.ride_home_confirmed, bool):
            raise InvalidEntry("Ride home must be confirmed or not (yes or no).")
        object.__setattr__(self, "ready_at_t", _check_ready_at(self.ready_at_t, None))

    @property
    def score(self) -> int:
        return sum(self.scores.values())

    @property
    def passed(self) -> bool:
        return self.score >= self.pass_mark

    def as_dict(self) -> dict[str, Any]:
        """The ``discharge`` event data."""
        return {
            "scores": dict(self.scores),
            "total": self.score,
            "pass_mark": self.pass_mark,
            "passed": self.passed,
            "ride_home": self.ride_home_confirmed,
            "ready_at_t": self.ready_at_t,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> DischargeAssessment:
        """Rebuild (and re-check) an assessment from its stored event data."""
        if not isinstance(data, Mapping):
            raise InvalidEntry("Discharge data is missing.")
        return cls(
            data.get("scores"),  # type: ignore[arg-type]
            data.get("ride_home"),  # type: ignore[arg-type]
            data.get("ready_at_t"),  # type: ignore[arg-type]
            data.get("pass_mark", PASS_MARK),  # type: ignore[arg-type]
        )


def assess(
    answers: Mapping[str, int],
    ride_home: bool,
    ready_at_t: float | None,
    *,
    pass_mark: int = PASS_MARK,
    now_t: float | None = None,
) -> DischargeAssessment:
    """Check the answers and build the assessment, or raise InvalidEntry naming the item.
    ``now_t`` (seconds since dose, if given) refuses a ready time in the future."""
    ready = _check_ready_at(ready_at_t, now_t)
    return DischargeAssessment(answers, ride_home, ready, pass_mark)


def validate_discharge(
    answers: dict[str, int],
    ride_home: bool,
    ready_at_t: float | None,
    *,
    pass_mark: int = PASS_MARK,
    now_t: float | None = None,
) -> dict[str, Any]:
    """The ``discharge`` event data: ``{"scores": {activity, respiration, circulation,
    consciousness, spo2}, "total", "pass_mark", "passed", "ride_home", "ready_at_t"}``."""
    return assess(answers, ride_home, ready_at_t, pass_mark=pass_mark, now_t=now_t).as_dict()


def can_end_complete(assessment: DischargeAssessment | None) -> tuple[bool, list[str]]:
    """Whether the session may be ended as complete, and every reason it may not (ending anyway
    needs a reason from the therapist; the UI asks for it)."""
    if assessment is None:
        return False, ["The discharge check has not been done."]
    reasons: list[str] = []
    if not assessment.passed:
        reasons.append(
            f"Discharge score is {assessment.score} of {MAX_SCORE}; "
            f"{assessment.pass_mark} is needed."
        )
    if not assessment.ride_home_confirmed:
        reasons.append("The ride home is not confirmed.")
    if assessment.ready_at_t is None:
        reasons.append("The time the client was ready to leave is not recorded.")
    return not reasons, reasons
