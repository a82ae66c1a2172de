"""A running session's monitoring protocol, frozen at the dose.

The protocol's plan, thresholds and timing are recorded in the dose entry, so a session keeps
exactly the checks it started with even if the clinic edits or removes the protocol file while it
runs (or between a crash and the restart)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .checks import (
    CheckState,
    TimelineEntry,
    check_states,
    due_now,
    next_check,
    next_wakeup,
    pending_transitions,
)
from .errors import InvalidEntry
from .protocol import CheckSpec, Protocol, Threshold, plan_from_data, plan_to_data


@dataclass(frozen=True)
class Monitoring:
    protocol: Protocol
    plan: tuple[CheckSpec, ...]

    @classmethod
    def start(cls, protocol: Protocol, planned_minutes: int) -> Monitoring:
        return cls(protocol, protocol.plan(planned_minutes))

    def snapshot(self) -> dict[str, Any]:
        """What the dose entry records (JSON-able)."""
        p = self.protocol
        return {
            "id": p.id,
            "name": p.name,
            "route": p.route,
            "planned_minutes": p.planned_minutes,
            "late_after_s": p.late_after_s,
            "missed_after_s": p.missed_after_s,
            "thresholds": [
                {
                    "field": t.field,
                    "low": t.low,
                    "high": t.high,
                    "source": t.source,
                    "applies_to": t.applies_to,
                }
                for t in p.thresholds
            ],
            "plan": plan_to_data(self.plan),
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> Monitoring:
        try:
            plan = plan_from_data(data["plan"])
            protocol = Protocol(
                id=str(data["id"]),
                name=str(data["name"]),
                route=str(data["route"]),
                planned_minutes=int(data["planned_minutes"]),
                late_after_s=float(data["late_after_s"]),
                missed_after_s=float(data["missed_after_s"]),
                checks=plan,
                thresholds=tuple(Threshold(**t) for t in data["thresholds"]),
                path="",
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidEntry(
                f"The recorded protocol of this session is damaged ({exc})."
            ) from None
        return cls(protocol, plan)

    def spec(self, key: str | None) -> CheckSpec | None:
        return next((c for c in self.plan if c.key == key), None)

    def transitions(
        self, events: Sequence[TimelineEntry], t: float
    ) -> list[tuple[str, dict[str, Any]]]:
        return pending_transitions(self.plan, self.protocol, events, t)

    def states(self, events: Sequence[TimelineEntry], t: float) -> list[CheckState]:
        return check_states(self.plan, self.protocol, events, t)

    def next_check(self, events: Sequence[TimelineEntry], t: float) -> CheckState | None:
        return next_check(self.plan, self.protocol, events, t)

    def due_now(self, events: Sequence[TimelineEntry], t: float) -> list[CheckState]:
        return due_now(self.plan, self.protocol, events, t)

    def next_wakeup(self, events: Sequence[TimelineEntry], t: float) -> float | None:
        return next_wakeup(self.plan, self.protocol, events, t)

    def waiting_for(self, events: Sequence[TimelineEntry], t: float, asks: str) -> CheckSpec | None:
        """The check an entry of kind `asks` ("vitals" or a scale id) answers: the longest-waiting
        due or late check that asks for it; else the latest check that came due within its
        missed window, asks for it and has not had it yet (a check counts as answered after
        its first part, e.g. MOAA/S before the vitals, but the vitals still belong to it)."""

        def wants(spec: CheckSpec) -> bool:
            return spec.vitals if asks == "vitals" else asks in spec.scales

        given = {
            (e.data.get("check"), "vitals" if e.kind == "vitals" else e.data.get("scale"))
            for e in events
            if e.kind in ("vitals", "observation") and e.data.get("check")
        }
        for state in self.due_now(events, t):
            if wants(state.spec) and (state.spec.key, asks) not in given:
                return state.spec
        recent = [
            s
            for s in self.states(events, t)
            if s.status in ("answered", "missed")
            and wants(s.spec)
            and (s.spec.key, asks) not in given
            and s.effective_due_t <= t <= s.effective_due_t + self.protocol.missed_after_s
        ]
        return max(recent, key=lambda s: s.effective_due_t).spec if recent else None
