"""Ready to leave, computed from the entries: the first moment the protocol's discharge criteria
held (modified Aldrete >= 9 and MOAA/S 5) and stayed held for the protocol's period (15 minutes
by default), to show beside the time the clinician recorded in the discharge check.

The modified Aldrete score is built at each recorded moment from what the entries measure:
circulation from the systolic BP against the first (baseline) vitals, SpO2 from the saturation
(room air: oxygen given as an adverse event's intervention scores it as needing oxygen),
respiration from the respiratory rate (8-26 /min breathes freely; outside it, limited; 0 apnoeic)
and consciousness from the MOAA/S (5 fully awake, 3-4 arousable on calling, 0-2 not responding).
Activity, and respiration when no rate was typed, are not measured by the entries: they are
taken from the latest discharge check if there is one, else counted as full, and the reason
says so. Without vitals (BP and SpO2) and a MOAA/S the moment does not count. Qt-free."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kapsession.monitoring.adverse import Entry, entries_of
from kapsession.monitoring.discharge import PASS_MARK, circulation_score, spo2_score

DEFAULT_SUSTAINED_S = 15 * 60.0
RR_LOW, RR_HIGH = 8, 26


@dataclass(frozen=True)
class Readiness:
    """When the criteria first held (``from_t``) and when they had held for the period
    (``ready_t``, the time of the entry that confirmed it), with the recorded time."""

    ready_t: float | None
    from_t: float | None
    source_seq: int | None
    sustained_s: float
    recorded_t: float | None
    reason: str

    @property
    def ready(self) -> bool:
        return self.ready_t is not None


def sustained_period(items: Iterable[Any]) -> float:
    """The protocol's period, as the dose entry recorded it (default 15 minutes)."""
    for e in entries_of(items):
        if e.kind == "dose":
            snap = e.data.get("monitoring")
            if isinstance(snap, Mapping):
                value = snap.get("discharge_sustained_s")
                if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                    return float(value)
    return DEFAULT_SUSTAINED_S


def _moaas_points(moaas: int) -> int:
    return 2 if moaas == 5 else 1 if moaas >= 3 else 0


def _rr_points(rr: float) -> int:
    if rr == 0:
        return 0
    return 2 if RR_LOW <= rr <= RR_HIGH else 1


def _recorded(entries: list[Entry]) -> float | None:
    for e in reversed(entries):
        if e.kind == "discharge":
            value = e.data.get("ready_at_t")
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
    return None


def ready_to_leave(items: Iterable[Any], sustained_s: float | None = None) -> Readiness:
    """The first moment the discharge criteria held for ``sustained_s`` (default: the
    protocol's period recorded at the dose), from the session's entries in time order."""
    entries = sorted(
        (e for e in entries_of(items) if e.t is not None), key=lambda e: (e.t or 0.0, e.seq)
    )
    period = sustained_period(entries) if sustained_s is None else float(sustained_s)
    recorded = _recorded(entries)
    baseline: float | None = None
    systolic = spo2 = rr = moaas = activity = charted_rr = None
    oxygen = False
    activity_charted = rr_counted = False
    held_from: Entry | None = None
    for e in entries:
        d = e.data
        if e.kind == "vitals":
            sys_v = d.get("systolic")
            if isinstance(sys_v, int | float) and not isinstance(sys_v, bool):
                if baseline is None:
                    baseline = float(sys_v)
                systolic = float(sys_v)
            if isinstance(d.get("spo2"), int) and not isinstance(d.get("spo2"), bool):
                spo2 = d["spo2"]
            rv = d.get("resp_rate")
            if isinstance(rv, int | float) and not isinstance(rv, bool):
                rr = float(rv)
        elif e.kind == "observation" and d.get("scale") == "moaas":
            if isinstance(d.get("value"), int) and not isinstance(d.get("value"), bool):
                moaas = d["value"]
        elif e.kind == "discharge":
            scores = d.get("scores")
            if isinstance(scores, Mapping) and isinstance(scores.get("activity"), int):
                activity, activity_charted = scores["activity"], True
            if isinstance(scores, Mapping) and isinstance(scores.get("respiration"), int):
                charted_rr = scores["respiration"]
        elif e.kind == "adverse_event" and d.get("intervention") == "oxygen":
            oxygen = True
        else:
            continue
        holds = False
        if None not in (systolic, spo2, moaas) and baseline:
            assert systolic is not None and spo2 is not None and moaas is not None
            if rr is not None:
                breathing = _rr_points(rr)
            elif charted_rr is not None:
                breathing = charted_rr
            else:
                breathing, rr_counted = 2, True
            try:
                total = (
                    (activity if activity is not None else 2)
                    + circulation_score(systolic, baseline)
                    + spo2_score(spo2, oxygen)
                    + breathing
                    + _moaas_points(moaas)
                )
            except Exception:  # a value the score refuses: the moment does not count
                total = -1
            holds = moaas == 5 and total >= PASS_MARK
        if not holds:
            held_from = None
            continue
        if held_from is None:
            held_from = e
        assert held_from.t is not None and e.t is not None
        if e.t - held_from.t >= period:
            activity_note = "" if activity_charted else "; activity not charted, counted as 2"
            if rr_counted:
                activity_note += "; respiratory rate not measured, respiration counted as 2"
            return Readiness(
                e.t,
                held_from.t,
                e.seq,
                period,
                recorded,
                f"modified Aldrete >= {PASS_MARK} and MOAA/S 5 from the entry at "
                f"{_t(held_from.t)}, still at {_t(e.t)} ({period / 60:g} min){activity_note}",
            )
    return Readiness(
        None,
        None,
        None,
        period,
        recorded,
        f"the criteria (modified Aldrete >= {PASS_MARK} and MOAA/S 5 for {period / 60:g} min) "
        "never held in the recorded entries",
    )


def _t(t: float) -> str:
    from kapsession.monitoring.adverse import _fmt_t

    return _fmt_t(t)


def ready_line(items: Iterable[Any]) -> str:
    """What the live end dialog and the review show beside the recorded time: "Ready to leave
    by the entries: T+55:15 (criteria held from T+39:15 for 15 min) · recorded: T+1:11:00";
    empty when nothing was measured."""
    entries = entries_of(items)
    if not any(e.kind in ("vitals", "observation") for e in entries):
        return ""
    found = ready_to_leave(entries)
    if found.ready_t is not None:
        computed = (
            f"{_t(found.ready_t)} (criteria held from {_t(found.from_t or 0)} for "
            f"{found.sustained_s / 60:g} min)"
        )
    else:
        computed = f"not yet ({found.reason})"
    recorded = _t(found.recorded_t) if found.recorded_t is not None else "not recorded"
    return f"Ready to leave by the entries: {computed} · recorded: {recorded}"
