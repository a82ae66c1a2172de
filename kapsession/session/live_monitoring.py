"""A running session's monitoring: the protocol's checks, vitals, observations and alerts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kapsession.errors import InvalidEntry
from kapsession.monitoring import adverse
from kapsession.monitoring.checks import CheckState, Monitoring
from kapsession.monitoring.observations import (
    validate_observation,
    validate_observation_text,
    validate_quick_event,
)
from kapsession.monitoring.vitals import (
    VITAL_FIELDS,
    Vitals,
    check_thresholds,
    format_trend,
    parse_vitals,
    trend,
    validate_vitals,
)
from kapsession.session.live_status import BadgeState, alert_banner, badge_state
from kapsession.session.timeline import SessionTimeline
from kapsession.storage.store import Event


class LiveMonitoring:
    """The checks the session's frozen protocol owes (due, late, missed, skipped, snoozed), the
    vitals with their trends and alerts, observations, quick events and acknowledgements,
    decided from the timeline the session keeps and written to it."""

    def __init__(self, timeline: SessionTimeline) -> None:
        self.timeline = timeline
        dose = next((e for e in timeline.events if e.kind == "dose"), None)
        snapshot = dose.data.get("monitoring") if dose is not None else None
        self.monitoring: Monitoring | None = (
            Monitoring.from_snapshot(snapshot) if isinstance(snapshot, Mapping) else None
        )

    def evaluate_checks(self) -> list[Event]:
        """Record whatever the protocol's checks owe the timeline now (due, late, missed).
        Idempotent: called again at once it records nothing."""
        if self.monitoring is None or self.timeline.ended:
            return []
        owed = self.monitoring.transitions(self.timeline.events, self.timeline.elapsed())
        if not owed:
            return []
        return self.timeline.append_many([(kind, data, None) for kind, data in owed])

    def next_check_wakeup(self) -> float | None:
        """Seconds since dose at which evaluate_checks next has something to do."""
        if self.monitoring is None or self.timeline.ended:
            return None
        return self.monitoring.next_wakeup(self.timeline.events, self.timeline.elapsed())

    def vitals_history(self) -> list[Vitals]:
        return [
            Vitals.from_dict({k: e.data.get(k) for k in VITAL_FIELDS})
            for e in self.timeline.events
            if e.kind == "vitals"
        ]

    def baseline(self) -> Vitals | None:
        """The first vitals of the session: what trends are measured against."""
        history = self.vitals_history()
        return history[0] if history else None

    def add_vitals(self, entry: str | Vitals, check: str | None = None) -> list[Event]:
        """Vitals typed on one line ("128/82 76 98 [RR [temp]]") or from the form. Impossible
        values are refused naming the field; protocol thresholds raise alerts, stored with the
        vitals in one transaction. Returns the vitals entry and its alerts."""
        vitals = parse_vitals(entry) if isinstance(entry, str) else validate_vitals(entry)
        spec = None
        if self.monitoring is not None:
            spec = (
                self.monitoring.spec(check)
                if check
                else self.monitoring.waiting_for(
                    self.timeline.events, self.timeline.elapsed(), "vitals"
                )
            )
        baseline = self.baseline()
        data: dict[str, Any] = vitals.as_dict()
        if spec is not None:
            data["check"] = spec.key
        changes = trend(vitals, baseline)
        if changes:
            data["trend"] = changes
            data["trend_text"] = format_trend(changes)
        thresholds = self.monitoring.protocol.thresholds_for(spec) if self.monitoring else ()
        items: list[tuple[str, dict[str, Any], str | None]] = [("vitals", data, None)]
        items += [("alert", dict(a.as_dict()), None) for a in check_thresholds(vitals, thresholds)]
        return self.timeline.append_many(items)

    def open_alerts(self) -> list[Event]:
        """Alerts not yet acknowledged, oldest first."""
        events = self.timeline.events
        acknowledged = {e.data.get("alert") for e in events if e.kind == "alert_ack"}
        return [e for e in events if e.kind == "alert" and e.seq not in acknowledged]

    def acknowledge_alert(self, seq: int, note: str = "") -> Event:
        """The therapist saw the alert; who and when is recorded."""
        if seq not in {e.seq for e in self.open_alerts()}:
            raise InvalidEntry("That alert is not open in this session.")
        data: dict[str, Any] = {"alert": seq}
        if note.strip():
            data["text"] = note.strip()
        return self.timeline.append("alert_ack", data)

    def add_observation(
        self, scale: str, value: int | str, text: str = "", check: str | None = None
    ) -> Event:
        data = validate_observation(scale, value, text)
        return self.timeline.append("observation", self._answering(data, scale, check))

    def add_observation_text(self, text: str) -> Event:
        return self.timeline.append("observation", validate_observation_text(text))

    def _answering(self, data: dict[str, Any], asks: str, check: str | None) -> dict[str, Any]:
        if self.monitoring is not None:
            spec = (
                self.monitoring.spec(check)
                if check
                else self.monitoring.waiting_for(
                    self.timeline.events, self.timeline.elapsed(), asks
                )
            )
            if spec is not None:
                data["check"] = spec.key
        return data

    def quick_event(self, kind: str, /, **fields: object) -> Event:
        event_kind, data = validate_quick_event(kind, **fields)
        return self.timeline.append(event_kind, data)

    def record_adverse_event(
        self,
        event: str,
        tier: str,
        intervention: str = "none",
        outcome: str = "",
        linked_seq: int | None = None,
    ) -> Event:
        """An adverse event graded after the World SIVA tool (monitoring/adverse.py); a
        medicine given links to its medication entry (or the dose or a booster)."""
        events = self.timeline.events
        data = adverse.validate_adverse_event(
            event,
            tier,
            intervention,
            outcome,
            linked_seq,
            earlier=[e.seq for e in events],
            medication_seqs=[e.seq for e in events if e.kind in adverse.MEDICINE_KINDS],
        )
        return self.timeline.append(adverse.KIND, data)

    def _open_check(self, key: str) -> str:
        if self.monitoring is None or self.monitoring.spec(key) is None:
            raise InvalidEntry("That check is not part of this session's protocol.")
        return key

    def skip_check(self, key: str, reason: str) -> Event:
        if not reason.strip():
            raise InvalidEntry("Skipping a check needs a reason.")
        return self.timeline.append(
            "check_skipped", {"check": self._open_check(key)}, reason=reason.strip()
        )

    def snooze_check(self, key: str, minutes: int, reason: str) -> Event:
        if not reason.strip():
            raise InvalidEntry("Snoozing a check needs a reason.")
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 60:
            raise InvalidEntry("Snooze for a whole number of minutes from 1 to 60.")
        data = {"check": self._open_check(key), "minutes": minutes}
        return self.timeline.append("check_snoozed", data, reason=reason.strip())

    def waiting_check(self) -> CheckState | None:
        """The longest-waiting due or late check, if any."""
        if self.monitoring is None:
            return None
        waiting = self.monitoring.due_now(self.timeline.events, self.timeline.elapsed())
        return waiting[0] if waiting else None

    def check_badge(self) -> BadgeState:
        """What the live screen's check badge says now."""
        return badge_state(self.monitoring, self.timeline.events, self.timeline.elapsed())

    def alert_banner(self) -> str:
        """What the live screen's alert banner says now (empty: no open alert)."""
        return alert_banner(self.open_alerts())
