"""A running session's medication log: administrations typed on one line (Alt+D), the running
ketamine total on the live screen and the ceiling alert (monitoring/medication.py has the rules).

The weight is read from the session's newest preparation entry (``screening.weight_kg``), the
ceiling from the protocol frozen at the dose. A ``medication`` entry and the alert it raises are
written in one transaction: nothing is stored half-valid, and the alert is acknowledged like
every other (Alt+A)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kapsession.monitoring.dose_rules import DoseRules
from kapsession.monitoring.medication import (
    KIND,
    Administration,
    Catalogue,
    builtin_catalogue,
    ceiling_alert,
    ketamine_total,
    medication_log,
    parse_medication,
    total_text,
)
from kapsession.monitoring.observations import validate_quick_event
from kapsession.session.timeline import SessionTimeline
from kapsession.storage.store import Event


def weight_of(events: list[Event]) -> float | None:
    """The weight recorded at preparation (the newest preparation entry), kg."""
    for e in reversed(events):
        if e.kind == "preparation":
            screening = e.data.get("screening")
            weight = screening.get("weight_kg") if isinstance(screening, Mapping) else None
            if isinstance(weight, int | float) and not isinstance(weight, bool) and weight > 0:
                return float(weight)
            return None
    return None


def session_drug(events: list[Event]) -> str:
    """Esketamine when the session's protocol is an esketamine one; ketamine otherwise."""
    dose = next((e for e in events if e.kind == "dose"), None)
    snap = dose.data.get("monitoring") if dose is not None else None
    text = ""
    if isinstance(snap, Mapping):
        text = f"{snap.get('id', '')} {snap.get('name', '')}".lower()
    return "esketamine" if "esketamine" in text or "spravato" in text else "ketamine"


class LiveMedication:
    def __init__(self, timeline: SessionTimeline, rules: DoseRules, author: str) -> None:
        self.timeline, self.rules, self.author = timeline, rules, author
        self.catalogue: Catalogue = builtin_catalogue()
        self.warnings: tuple[str, ...] = ()
        self._seen, self._total = 0, 0.0
        self._weight: float | None = None

    @property
    def weight_kg(self) -> float | None:
        self._catch_up()
        return self._weight

    def total_mg(self) -> float:
        self._catch_up()
        return round(self._total, 6)

    def _catch_up(self) -> None:
        """The total and the weight, kept in step with the timeline (entries are only ever
        appended): the live screen asks every second, and a long session has thousands."""
        events = self.timeline.events
        new = events[self._seen :]
        if new:
            self._total += ketamine_total(new)
            if any(e.kind == "preparation" for e in new):
                self._weight = weight_of(events)
            self._seen = len(events)

    def total_text(self) -> str:
        """The live screen's line, e.g. "Ketamine 150 mg · 2.14 mg/kg"."""
        return total_text(self.total_mg(), self.weight_kg)

    def log(self) -> list[Any]:
        return medication_log(self.timeline.events, session_drug(self.timeline.events))

    def given_by(self) -> str:
        """Who gave it: the charting clinician (issue 14), else the session's author."""
        charting = getattr(self.timeline.store, "charting", None)
        return str(charting[0]) if charting else self.author

    def _alert(self, before: float, after: float) -> dict[str, Any] | None:
        r = self.rules
        return ceiling_alert(
            before,
            after,
            r.ketamine_ceiling_mg,
            r.ketamine_ceiling_mg_per_kg,
            self.weight_kg,
            r.ceiling_source,
        )

    def add(self, line: str) -> list[Event]:
        """One administration typed on a line; returns the ``medication`` entry and the ceiling
        alert it raised, if any. Warnings (an unlisted medicine) are left in ``warnings``."""
        given = parse_medication(line, self.catalogue, self.timeline.elapsed())
        return self.record(given)

    def record(self, given: Administration) -> list[Event]:
        before = self.total_mg()
        data = given.as_dict()
        data["given_by"] = self.given_by()
        after = before + ketamine_total([_Probe(KIND, data)])
        data["total_mg"] = round(after, 6)
        items: list[tuple[str, dict[str, Any], float | None]] = [(KIND, data, given.t)]
        alert = self._alert(before, after)
        if alert is not None:
            items.append(("alert", alert, None))
        self.warnings = given.warnings
        return self._write(items)

    def booster(self, **fields: object) -> list[Event]:
        """A booster from the quick events: stored as before (``booster_dose``), with the
        ceiling alert when it takes the total past the ceiling."""
        kind, data = validate_quick_event("booster_dose", **fields)
        before = self.total_mg()
        after = before + ketamine_total([_Probe(kind, data)])
        data["total_mg"] = round(after, 6)  # every administration carries the total after it
        items: list[tuple[str, dict[str, Any], float | None]] = [(kind, data, None)]
        alert = self._alert(before, after)
        if alert is not None:
            items.append(("alert", alert, None))
        return self._write(items)

    def _write(self, items: list[tuple[str, dict[str, Any], float | None]]) -> list[Event]:
        tl = self.timeline
        if len(items) == 1 and items[0][2] is None:
            kind, data, _ = items[0]
            return [tl.append(kind, data)]
        now_t = round(tl.elapsed(), 3)
        at = tl.clock.now()
        with tl.store.db.atomic():
            events = [
                tl.store.append(
                    tl.record.id,
                    kind,
                    at,
                    tl.tz,
                    now_t if t is None else round(t, 3),
                    data,
                    tl.author,
                )
                for kind, data, t in items
            ]
        tl.committed(events)
        return events


class _Probe:
    def __init__(self, kind: str, data: Mapping[str, Any]) -> None:
        self.kind, self.data = kind, data
