"""A protocol's rules around the medicine: the ketamine ceiling and the start gate.

In a protocol file::

    [medication]
    ketamine_ceiling_mg = 300            # the session's total, dose and boosters included
    ketamine_ceiling_mg_per_kg = 4       # with a weight recorded at preparation; the lower wins
    ceiling_source = "..."

    [start_gate]
    last_food_hours = 6                  # at least this long since the last food
    last_clear_liquid_hours = 2          # ... and since the last clear liquid
    hold_systolic = 160                  # pre-dose BP above this: weigh before dosing
    hold_diastolic = 100
    source = "..."

Every key is optional; a protocol without them has no ceiling and the gate checks only what the
preparation records. The rules are frozen with the protocol at the dose (``to_data`` in the
dose entry's monitoring snapshot) so a later edit of the file never changes a running session.

The start gate (``gate_items``) lists what is unmet before the dose; it never blocks: the dose
question shows the items and going ahead needs a reason, which is recorded with the dose."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from kapsession.errors import InvalidEntry

MEDICATION_KEYS = ("ketamine_ceiling_mg", "ketamine_ceiling_mg_per_kg", "ceiling_source")
GATE_KEYS = (
    "last_food_hours",
    "last_clear_liquid_hours",
    "hold_systolic",
    "hold_diastolic",
    "source",
)
# (key, low, high) of the numbers: wide enough for any real protocol, narrow enough to catch a
# slip (a ceiling in g, fasting in minutes).
_RANGES: dict[str, tuple[float, float]] = {
    "ketamine_ceiling_mg": (1, 2000),
    "ketamine_ceiling_mg_per_kg": (0.05, 20),
    "last_food_hours": (0, 24),
    "last_clear_liquid_hours": (0, 24),
    "hold_systolic": (90, 250),
    "hold_diastolic": (50, 150),
}


@dataclass(frozen=True)
class DoseRules:
    ketamine_ceiling_mg: float | None = None
    ketamine_ceiling_mg_per_kg: float | None = None
    ceiling_source: str = ""
    last_food_hours: float | None = None
    last_clear_liquid_hours: float | None = None
    hold_systolic: float | None = None
    hold_diastolic: float | None = None
    source: str = ""

    def to_data(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_data(cls, data: object) -> DoseRules:
        """Read the rules frozen in a dose entry (absent or damaged: no rules)."""
        if not isinstance(data, Mapping):
            return cls()
        values: dict[str, Any] = {}
        for key in (*MEDICATION_KEYS, *GATE_KEYS):
            value = data.get(key)
            if key in ("ceiling_source", "source"):
                values[key] = value if isinstance(value, str) else ""
            elif isinstance(value, int | float) and not isinstance(value, bool):
                values[key] = float(value)
        return cls(**values)


def parse_dose_rules(
    medication: object, gate: object, fail: Callable[[str, str, str | None], Exception]
) -> DoseRules:
    """The rules from a protocol file's ``[medication]`` and ``[start_gate]`` tables (either may
    be missing). ``fail(problem, table, key)`` makes the protocol error to raise."""
    values: dict[str, Any] = {}
    for table, name, keys in (
        (medication, "medication", MEDICATION_KEYS),
        (gate, "start_gate", GATE_KEYS),
    ):
        if table is None:
            continue
        if not isinstance(table, Mapping):
            raise fail(f"must be a [{name}] table", name, None)
        for key, value in table.items():
            if key not in keys:
                raise fail(f"unknown field; [{name}] has {', '.join(keys)}", name, key)
            if key in ("ceiling_source", "source"):
                if not isinstance(value, str) or len(value) > 300:
                    raise fail("must be text of at most 300 characters", name, key)
                values[key] = value.strip()
                continue
            low, high = _RANGES[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (low <= value <= high)
            ):
                raise fail(f"must be a number from {low:g} to {high:g}", name, key)
            values[key] = float(value)
    rules = DoseRules(**values)
    if (
        rules.ketamine_ceiling_mg is not None or rules.ketamine_ceiling_mg_per_kg is not None
    ) and not rules.ceiling_source:
        raise fail(
            "is required with a ceiling (where the value comes from)",
            "medication",
            "ceiling_source",
        )
    return rules


# --- the start gate -------------------------------------------------------------------------


@dataclass(frozen=True)
class GateFacts:
    """What the gate reads, from the preparation and the pre-dose vitals."""

    last_food: datetime | None = None
    last_clear_liquid: datetime | None = None
    predose_systolic: int | None = None
    predose_diastolic: int | None = None
    readiness: tuple[str, ...] = ()  # preparation.readiness: consent, ride home, ...


def _hours(seconds: float) -> str:
    hours, minutes = divmod(int(seconds // 60), 60)
    return f"{hours} h {minutes:02d} min"


def _since(label: str, at: datetime | None, rule: float | None, now: datetime) -> str | None:
    if rule is None:
        return None
    if at is None:
        return f"{label} time not recorded (the protocol asks {rule:g} h)"
    gap = (now - at).total_seconds()
    if gap < 0:
        return f"{label} time is after now: check it"
    if gap < rule * 3600:
        return f"{label} {_hours(gap)} ago, the protocol asks at least {rule:g} h"
    return None


def gate_items(rules: DoseRules, facts: GateFacts, now: datetime) -> list[str]:
    """What is unmet before the dose, in words for the dose question; empty: nothing."""
    items = list(facts.readiness)
    for label, at, rule in (
        ("Last food", facts.last_food, rules.last_food_hours),
        ("Last clear liquid", facts.last_clear_liquid, rules.last_clear_liquid_hours),
    ):
        found = _since(label, at, rule, now)
        if found:
            items.append(found)
    if rules.hold_systolic is not None or rules.hold_diastolic is not None:
        sys_, dia = facts.predose_systolic, facts.predose_diastolic
        hold = "/".join(
            f"{v:g}" if v is not None else "–" for v in (rules.hold_systolic, rules.hold_diastolic)
        )
        if sys_ is None or dia is None:
            items.append("Pre-dose blood pressure not recorded")
        elif (rules.hold_systolic is not None and sys_ > rules.hold_systolic) or (
            rules.hold_diastolic is not None and dia > rules.hold_diastolic
        ):
            where = f" ({rules.source})" if rules.source else ""
            items.append(
                f"Pre-dose blood pressure {sys_}/{dia} mmHg is above the hold threshold "
                f"{hold} mmHg{where}"
            )
    return items


def require_reason(items: list[str], reason: str) -> str:
    """Going ahead with unmet items needs a reason; the cleaned reason (empty: none needed)."""
    cleaned = " ".join(reason.split()) if isinstance(reason, str) else ""
    if items and not cleaned:
        raise InvalidEntry("Giving the dose with unmet items needs a reason.")
    if len(cleaned) > 500:
        raise InvalidEntry("Reason is longer than 500 characters.")
    return cleaned if items else ""
