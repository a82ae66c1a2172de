"""Adverse events graded after the World SIVA adverse sedation event reporting tool (Mason,
Green, Piacevoli et al., Br J Anaesth 2012;108:13-20), and the grade the recorded vitals suggest.

The tool grades an event by the worst of what happened (descriptors), what was done about it
(interventions) and how it ended (outcome):

- minimal: vomiting or retching, subclinical respiratory depression, muscle rigidity or
  myoclonus, hypersalivation, paradoxical response, recovery agitation (an emergence
  reaction), prolonged recovery; interventions: none, an additional sedative, an antiemetic or
  antihistamine.
- minor: SpO2 75-90 % for under 60 s, apnoea not prolonged, airway obstruction, failed
  sedation, allergic reaction without anaphylaxis, a change in heart rate or blood pressure of
  25 % or more from baseline, seizure; interventions: airway repositioning, tactile
  stimulation, suction, supplemental oxygen (new or increased).
- moderate: no descriptor of its own; interventions: bag-valve-mask ventilation, an oral or
  nasal airway, CPAP, a reversal agent, an anticonvulsant, rapid IV fluids; outcome: unplanned
  admission or escalation of care.
- sentinel: SpO2 below 75 % at any time, or below 90 % for over 60 s; apnoea over 60 s;
  cardiovascular collapse; cardiac arrest; outcome: death, permanent neurological deficit,
  pulmonary aspiration syndrome.

The suggestion is only a suggestion: the clinician chooses the tier that is stored.
Qt-free; works on stored events and on the exported JSON document's entries alike."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kapsession.errors import InvalidEntry

KIND = "adverse_event"
TIERS: tuple[str, ...] = ("minimal", "minor", "moderate", "sentinel")
TIER_LABELS = {
    "minimal": "Minimal risk",
    "minor": "Minor risk",
    "moderate": "Moderate risk",
    "sentinel": "Sentinel",
}
INTERVENTIONS: tuple[str, ...] = (
    "none",
    "verbal or tactile stimulation",
    "airway manoeuvre",
    "oxygen",
    "medicine",
)
# The least tier each intervention makes an event (World SIVA, step 3): stimulation, airway
# repositioning and supplemental oxygen are minor-risk interventions; none and a medicine such
# as an antiemetic or a sedative are minimal (a reversal agent would be moderate: the
# clinician raises the tier, the suggestion never lowers it below this).
INTERVENTION_FLOOR = {
    "none": "minimal",
    "verbal or tactile stimulation": "minor",
    "airway manoeuvre": "minor",
    "oxygen": "minor",
    "medicine": "minimal",
}
# What an intervention "medicine" links to: engineer A's medication log, or the dose/booster.
MEDICINE_KINDS = ("medication", "dose", "booster_dose")
MAX_EVENT_CHARS = 200
MAX_OUTCOME_CHARS = 500
SOURCE = "World SIVA adverse sedation event reporting tool (Mason et al., Br J Anaesth 2012)"

# SpO2 (World SIVA descriptors)
SPO2_LOW = 90  # below this is a desaturation
SPO2_SEVERE = 75  # below this at any time is sentinel
PROLONGED_S = 60.0  # below SPO2_LOW for longer than this is sentinel
VITAL_CHANGE = 0.25  # a change of 25 % from baseline in HR or BP is a minor descriptor


def tier_rank(tier: str) -> int:
    return TIERS.index(tier)


def worst(*tiers: str) -> str:
    return max(tiers, key=tier_rank)


def _text(value: object, field: str, limit: int, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidEntry(f"Adverse event {field} must be text.")
    if any(unicodedata.category(c) == "Cs" for c in value):
        raise InvalidEntry(f"Adverse event {field} contains broken characters.")
    value = value.strip()
    if len(value) > limit:
        raise InvalidEntry(f"Adverse event {field} can be at most {limit} characters.")
    if required and not value:
        raise InvalidEntry(f"Adverse event {field} is missing: say what happened.")
    if field == "event" and not value.isprintable():
        raise InvalidEntry("Adverse event event contains control characters or line breaks.")
    return value


def validate_adverse_event(
    event: object,
    tier: object,
    intervention: object = "none",
    outcome: object = "",
    linked_seq: object = None,
    *,
    earlier: Iterable[int] = (),
    medication_seqs: Iterable[int] | None = None,
) -> dict[str, Any]:
    """The ``adverse_event`` entry data ``{"event", "tier", "intervention", "outcome",
    "linked_seq"?}``, or InvalidEntry naming the field. ``earlier`` are the seqs of the
    session's entries so far (a link must point at one of them); when ``medication_seqs`` is
    given, an intervention "medicine" must link to one of those."""
    data: dict[str, Any] = {"event": _text(event, "event", MAX_EVENT_CHARS, True)}
    if not isinstance(tier, str) or tier not in TIERS:
        raise InvalidEntry(f"Adverse event tier must be one of: {', '.join(TIERS)}.")
    data["tier"] = tier
    if not isinstance(intervention, str) or intervention not in INTERVENTIONS:
        raise InvalidEntry(
            f"Adverse event intervention must be one of: {', '.join(INTERVENTIONS)}."
        )
    data["intervention"] = intervention
    data["outcome"] = _text(outcome, "outcome", MAX_OUTCOME_CHARS, False)
    if linked_seq is not None:
        if isinstance(linked_seq, bool) or not isinstance(linked_seq, int):
            raise InvalidEntry("Adverse event linked_seq must be an entry number.")
        if linked_seq not in set(earlier):
            raise InvalidEntry(
                f"Adverse event linked_seq {linked_seq} is not an earlier entry of this session."
            )
        if (
            intervention == "medicine"
            and medication_seqs is not None
            and linked_seq not in set(medication_seqs)
        ):
            raise InvalidEntry(
                f"Adverse event linked_seq {linked_seq} is not a medication entry; "
                "a medicine given links to its medication entry."
            )
        data["linked_seq"] = linked_seq
    return data


# --- reading entries (stored events or exported JSON entries) -----------------------------------


@dataclass(frozen=True)
class Entry:
    seq: int
    kind: str
    t: float | None
    data: Mapping[str, Any]


def entries_of(items: Iterable[Any]) -> list[Entry]:
    """Stored events (with .data) or the JSON document's entries (data at the top level)."""
    out: list[Entry] = []
    for item in items:
        if isinstance(item, Mapping):
            seq, kind, t, data = item.get("seq"), item.get("kind"), item.get("t"), item
        else:
            seq, kind, t, data = item.seq, item.kind, item.t, item.data
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            t = None
        out.append(Entry(seq if isinstance(seq, int) else -1, str(kind), t, data))
    return out


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _fmt_t(t: float) -> str:
    """T+mm:ss as dose_clock.t_plus says it (the session room is above this one)."""
    total = int(abs(t))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    sign = "+" if t >= 0 else "-"
    return (
        f"T{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"T{sign}{minutes:02d}:{secs:02d}"
    )


@dataclass(frozen=True)
class Suggestion:
    """The tier the recorded vitals suggest, why, and the entry it comes from."""

    tier: str
    reason: str
    source_seq: int | None = None
    source_t: float | None = None


def _spo2_suggestion(vitals: list[Entry], upto: float | None) -> Suggestion | None:
    """Desaturations in the SpO2 readings: a run of readings below 90 % lasts from the first of
    them to the first reading at or above 90 % after it (or, with none yet, to the last low
    reading: the least it can have lasted)."""
    readings = [
        (e, v)
        for e in vitals
        if e.t is not None
        and (upto is None or e.t <= upto)
        and (v := _number(e.data.get("spo2"))) is not None
    ]
    best: Suggestion | None = None
    run_start: Entry | None = None
    run_min: tuple[float, Entry] | None = None

    def close(end_t: float, recovered: bool) -> Suggestion | None:
        assert run_start is not None and run_min is not None and run_start.t is not None
        lowest, low_e = run_min
        length = end_t - run_start.t
        if lowest < SPO2_SEVERE:
            return Suggestion(
                "sentinel",
                f"SpO2 {lowest:g} % at {_fmt_t(low_e.t or 0)}: below {SPO2_SEVERE} % at any "
                "time is sentinel (World SIVA)",
                low_e.seq,
                low_e.t,
            )
        if length > PROLONGED_S:
            return Suggestion(
                "sentinel",
                f"SpO2 below {SPO2_LOW} % from {_fmt_t(run_start.t)} for {length:.0f} s: "
                f"over {PROLONGED_S:.0f} s is sentinel (World SIVA)",
                run_start.seq,
                run_start.t,
            )
        how = (
            f"back to {SPO2_LOW} % or more within {PROLONGED_S:.0f} s"
            if recovered
            else "no later reading yet"
        )
        return Suggestion(
            "minor",
            f"SpO2 {lowest:g} % at {_fmt_t(low_e.t or 0)} ({how}): 75–90 % for under "
            f"{PROLONGED_S:.0f} s is minor (World SIVA)",
            low_e.seq,
            low_e.t,
        )

    for e, v in readings:
        assert e.t is not None
        if v < SPO2_LOW:
            if run_start is None:
                run_start, run_min = e, (v, e)
            elif run_min is not None and v < run_min[0]:
                run_min = (v, e)
        elif run_start is not None:
            found = close(e.t, True)
            best = _worse(best, found)
            run_start, run_min = None, None
    if run_start is not None and readings:
        last_t = readings[-1][0].t
        assert last_t is not None
        best = _worse(best, close(last_t, False))
    return best


def _worse(a: Suggestion | None, b: Suggestion | None) -> Suggestion | None:
    if a is None:
        return b
    if b is None:
        return a
    return b if tier_rank(b.tier) > tier_rank(a.tier) else a


_CHANGE_FIELDS = (("heart_rate", "Heart rate"), ("systolic", "Systolic BP"))


def _change_suggestion(vitals: list[Entry], upto: float | None) -> Suggestion | None:
    if not vitals:
        return None
    base = vitals[0]
    for e in vitals[1:]:
        if upto is not None and (e.t is None or e.t > upto):
            continue
        for field, label in _CHANGE_FIELDS:
            b, v = _number(base.data.get(field)), _number(e.data.get(field))
            if b and v is not None and abs(v - b) / b >= VITAL_CHANGE:
                pct = round(abs(v - b) / b * 100)
                return Suggestion(
                    "minor",
                    f"{label} {v:g} at {_fmt_t(e.t or 0)} is {pct} % from the baseline {b:g}: "
                    "a change of 25 % or more is minor (World SIVA)",
                    e.seq,
                    e.t,
                )
    return None


_MINIMAL_EVENTS = {
    "vomiting": "Vomiting or retching is a minimal-risk descriptor (World SIVA)",
    "emergence_reaction": "Recovery agitation (an emergence reaction) is a minimal-risk "
    "descriptor (World SIVA)",
}


def suggest(
    items: Iterable[Any],
    *,
    cause: Entry | None = None,
    intervention: str = "none",
    upto: float | None = None,
) -> Suggestion:
    """The tier the recorded entries suggest for an adverse event, with its reason: the worst
    of the SpO2 readings (desaturation and how long it lasted), a change of 25 % from baseline
    in heart rate or systolic BP, the cause (vomiting, an emergence reaction: minimal) and the
    intervention's floor. ``upto`` limits the readings to those up to that time since dose."""
    entries = entries_of(items)
    vitals = [e for e in entries if e.kind == "vitals"]
    found: Suggestion | None = None
    if cause is not None and cause.kind in _MINIMAL_EVENTS:
        found = Suggestion("minimal", _MINIMAL_EVENTS[cause.kind], cause.seq, cause.t)
    found = _worse(found, _change_suggestion(vitals, upto))
    found = _worse(found, _spo2_suggestion(vitals, upto))
    floor = INTERVENTION_FLOOR.get(intervention, "minimal")
    if found is None or tier_rank(floor) > tier_rank(found.tier):
        reason = (
            f"The intervention ({intervention}) is a {floor}-risk intervention (World SIVA)"
            if floor != "minimal"
            else "Nothing in the recorded vitals reaches a higher tier"
        )
        found = Suggestion(floor, reason)
    return found


# --- what an offer to record one is pre-filled with ---------------------------------------------


_ALERT_EVENTS = {
    "spo2": "Oxygen desaturation",
    "heart_rate": "Heart rate out of range",
    "systolic": "Blood pressure out of range",
    "diastolic": "Blood pressure out of range",
    "resp_rate": "Respiratory rate out of range",
    "temperature": "Temperature out of range",
}
_ALERT_DIRECTION = {
    ("heart_rate", "low"): "Bradycardia",
    ("heart_rate", "high"): "Tachycardia",
    ("systolic", "low"): "Hypotension",
    ("systolic", "high"): "Hypertension",
    ("diastolic", "high"): "Hypertension",
    ("resp_rate", "low"): "Respiratory depression",
}


@dataclass(frozen=True)
class Prefill:
    """An offer to record an adverse event: what happened, the suggested tier and its reason,
    the entry that prompted it (its seq goes in linked_seq)."""

    event: str
    suggestion: Suggestion
    linked_seq: int | None
    t: float | None = None  # when what prompted it happened


def offers(kind: str, data: Mapping[str, Any]) -> bool:
    """Whether an entry offers an adverse event: vomiting, an emergence reaction, or an alert on
    a vital sign. Not the ketamine ceiling's alert (issue 15's medication log; field
    ketamine_total_mg): a total past the ceiling is not a sedation event."""
    if kind == "alert":
        return str(data.get("field", "")) in _ALERT_EVENTS
    return kind in OFFERING_KINDS


def prefill(cause: Any, items: Iterable[Any]) -> Prefill | None:
    """The pre-filled adverse event for an entry that offers one (vomiting, an emergence
    reaction, a vitals alert), or None for an entry that does not."""
    (c,) = entries_of([cause])
    if not offers(c.kind, c.data):
        return None
    if c.kind == "vomiting":
        event = "Vomiting"
    elif c.kind == "emergence_reaction":
        event = "Emergence reaction"
    elif c.kind == "alert":
        field = str(c.data.get("field", ""))
        value = _number(c.data.get("value"))
        low = _number(c.data.get("low"))
        direction = "low" if low is not None and value is not None and value < low else "high"
        event = _ALERT_DIRECTION.get((field, direction), _ALERT_EVENTS.get(field, "Vital sign"))
        if value is not None:
            event += f" ({value:g})"
    else:
        return None
    return Prefill(event, suggest(items, cause=c, upto=c.t), c.seq if c.seq >= 0 else None, c.t)


OFFERING_KINDS = ("vomiting", "emergence_reaction", "alert")


def recorded_for(items: Iterable[Any]) -> set[int]:
    """Seqs of entries an adverse event already links to (their offer is answered)."""
    return {
        ls
        for e in entries_of(items)
        if e.kind == KIND and isinstance(ls := e.data.get("linked_seq"), int)
    }


def describe(data: Mapping[str, Any]) -> str:
    """One line: "Oxygen desaturation (88) - minor; oxygen; outcome: resolved"."""
    parts = [f"{data.get('event', '')} - {data.get('tier', '')}"]
    intervention = data.get("intervention")
    if intervention and intervention != "none":
        parts.append(str(intervention))
    if data.get("outcome"):
        parts.append(f"outcome: {data.get('outcome')}")
    if isinstance(data.get("linked_seq"), int):
        parts.append(f"linked to entry {data['linked_seq']}")
    return "; ".join(parts)
