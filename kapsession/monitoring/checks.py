"""Check timing: which of a plan's checks are due, late or missed, as a pure function of the plan,
the recorded timeline and the time (seconds since dose). Nothing is kept in memory, so the answer
is the same before and after a crash, a sleep or a restart: whatever a moment owes the timeline
is recorded once, however late, and never twice.

Timeline entries read and written (fields in the entry's ``data``):

- ``check_due``     {check, label, due_t[, snoozed_to_t][, recorded_late]}
- ``check_late``    {check, label, due_t[, snoozed_to_t][, recorded_late]}
- ``check_missed``  {check, label, due_t[, snoozed_to_t][, recorded_late]}
- answers: ``vitals`` / ``observation`` entries with ``"check": key`` in their data, and
  ``check_skipped`` {check} with the reason in the entry's reason column;
- ``check_snoozed`` {check, minutes} (reason column): the check's effective due time becomes
  ``minutes`` after the snooze (never earlier than planned); late and missed count from there.
  The latest snooze of a check counts; one with minutes not in (0, MAX_SNOOZE_MINUTES] is
  ignored.

``due_t`` is the planned time; ``recorded_late`` is true when the entry is written more than
``RECORDED_LATE_AFTER_S`` after the moment it stands for (the app was closed, crashed or asleep).
A check is late if it was not answered or skipped by ``late_after`` after its effective due
time, missed if not by ``missed_after``; an answer given before a moment means that moment owes
nothing. A missed check can still be answered: it then shows as answered, and the missed entry
stays on the record."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from kapsession.errors import InvalidEntry
from kapsession.monitoring.dose_rules import DoseRules
from kapsession.monitoring.protocol import CheckSpec, Threshold, plan_from_data, plan_to_data
from kapsession.monitoring.protocol import Protocol as MonitoringProtocol

CHECK_DUE = "check_due"
CHECK_LATE = "check_late"
CHECK_MISSED = "check_missed"
CHECK_SKIPPED = "check_skipped"
CHECK_SNOOZED = "check_snoozed"
ANSWER_KINDS: tuple[str, ...] = ("vitals", "observation")
TRANSITION_KINDS: tuple[str, ...] = (CHECK_DUE, CHECK_LATE, CHECK_MISSED)
# An entry written this long after its moment says so. The scheduler fires on the moment itself,
# so only a closed, crashed or sleeping app gets near it (in a rehearsal at time scale 60, this
# is still a whole second of real time).
RECORDED_LATE_AFTER_S = 60.0
# A snooze outside (0, this] is malformed (the UI offers a few minutes) and is ignored, so a
# bad entry can never push a check out of reach or make a time infinite.
MAX_SNOOZE_MINUTES = 24 * 60

Status = Literal["upcoming", "due", "late", "missed", "answered", "skipped", "snoozed"]


class TimelineEntry(Protocol):
    """What check timing reads from a timeline entry (kapsession.storage.store.Event fits)."""

    @property
    def kind(self) -> str: ...

    @property
    def t(self) -> float | None: ...

    @property
    def data(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class CheckState:
    spec: CheckSpec
    status: Status
    effective_due_t: float  # the planned time, or later if snoozed

    def seconds_until_due(self, t: float) -> float:
        """The countdown the live screen shows (negative once due)."""
        return self.effective_due_t - t


@dataclass
class _Track:
    spec: CheckSpec
    recorded: set[str] = field(default_factory=set)
    answered_t: float | None = None
    skipped_t: float | None = None
    snoozed_until: float | None = None

    @property
    def effective_due(self) -> float:
        if self.snoozed_until is None:
            return self.spec.offset_s
        return max(self.spec.offset_s, self.snoozed_until)

    @property
    def snoozed(self) -> bool:
        return self.snoozed_until is not None and self.snoozed_until > self.spec.offset_s

    @property
    def done_t(self) -> float | None:
        times = [x for x in (self.answered_t, self.skipped_t) if x is not None]
        return min(times) if times else None


def _finite(value: object) -> float | None:
    """A finite number as float, else None (also for bools and integers too big for a float)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _entry_t(entry: TimelineEntry) -> float:
    t = _finite(entry.t)
    # An answer without a usable time counts as given before anything it could be late for.
    return -math.inf if t is None else t


def _tracks(plan: Sequence[CheckSpec], entries: Iterable[TimelineEntry]) -> list[_Track]:
    tracks = [_Track(spec) for spec in plan]
    by_key = {track.spec.key: track for track in tracks}
    for entry in entries:  # in the order recorded: the latest snooze wins
        data = entry.data
        key = data.get("check") if isinstance(data, Mapping) else None
        track = by_key.get(key) if isinstance(key, str) else None
        if track is None:
            continue
        kind = entry.kind
        if kind in TRANSITION_KINDS:
            track.recorded.add(kind)
        elif kind in ANSWER_KINDS:
            at = _entry_t(entry)
            track.answered_t = at if track.answered_t is None else min(track.answered_t, at)
        elif kind == CHECK_SKIPPED:
            at = _entry_t(entry)
            track.skipped_t = at if track.skipped_t is None else min(track.skipped_t, at)
        elif kind == CHECK_SNOOZED:
            minutes, since = _finite(data.get("minutes")), _finite(entry.t)
            if minutes is not None and 0 < minutes <= MAX_SNOOZE_MINUTES and since is not None:
                track.snoozed_until = since + minutes * 60.0
    return tracks


def _boundaries(track: _Track, protocol: MonitoringProtocol) -> list[tuple[str, float]]:
    due = track.effective_due
    return [
        (CHECK_DUE, due),
        (CHECK_LATE, due + protocol.late_after_s),
        (CHECK_MISSED, due + protocol.missed_after_s),
    ]


def _owed(track: _Track, protocol: MonitoringProtocol) -> list[tuple[str, float]]:
    """The entries this check will owe the timeline (at their moments), given what is recorded:
    none that is already there, none for a moment it was answered or skipped by."""
    done = track.done_t
    return [
        (kind, moment)
        for kind, moment in _boundaries(track, protocol)
        if kind not in track.recorded and (done is None or done > moment)
    ]


def _require_time(t: float) -> float:
    checked = _finite(t)
    if checked is None:
        raise ValueError("t must be a finite number of seconds since the dose")
    return checked


def pending_transitions(
    plan: Sequence[CheckSpec],
    protocol: MonitoringProtocol,
    events: Iterable[TimelineEntry],
    t: float,
) -> list[tuple[str, dict[str, Any]]]:
    """The (kind, data) entries to record now so the timeline is right at ``t``, in the order
    their moments came. Recording them all and calling again at the same ``t`` gives []."""
    t = _require_time(t)
    owed: list[tuple[float, int, int, str, dict[str, Any]]] = []
    for position, track in enumerate(_tracks(plan, events)):
        for kind, moment in _owed(track, protocol):
            if moment > t:
                continue
            spec = track.spec
            data: dict[str, Any] = {"check": spec.key, "label": spec.label, "due_t": spec.offset_s}
            if track.snoozed:
                data["snoozed_to_t"] = track.effective_due
            if t - moment > RECORDED_LATE_AFTER_S:
                data["recorded_late"] = True
            owed.append((moment, TRANSITION_KINDS.index(kind), position, kind, data))
    owed.sort(key=lambda item: item[:3])
    return [(kind, data) for *_, kind, data in owed]


def check_states(
    plan: Sequence[CheckSpec],
    protocol: MonitoringProtocol,
    events: Iterable[TimelineEntry],
    t: float,
) -> list[CheckState]:
    """Every check of the plan with its status at ``t``, in plan order."""
    t = _require_time(t)
    states: list[CheckState] = []
    for track in _tracks(plan, events):
        due = track.effective_due
        status: Status
        if track.answered_t is not None:
            status = "answered"
        elif track.skipped_t is not None:
            status = "skipped"
        elif CHECK_MISSED in track.recorded or t >= due + protocol.missed_after_s:
            status = "missed"
        elif track.snoozed and t < due:
            status = "snoozed"
        elif CHECK_LATE in track.recorded or t >= due + protocol.late_after_s:
            status = "late"
        elif CHECK_DUE in track.recorded or t >= due:
            status = "due"
        else:
            status = "upcoming"
        states.append(CheckState(track.spec, status, due))
    return states


def next_check(
    plan: Sequence[CheckSpec],
    protocol: MonitoringProtocol,
    events: Iterable[TimelineEntry],
    t: float,
) -> CheckState | None:
    """The next check still to come (upcoming, or snoozed), for the countdown; None if none."""
    coming = [
        s for s in check_states(plan, protocol, events, t) if s.status in ("upcoming", "snoozed")
    ]
    return min(coming, key=lambda s: s.effective_due_t, default=None)


def due_now(
    plan: Sequence[CheckSpec],
    protocol: MonitoringProtocol,
    events: Iterable[TimelineEntry],
    t: float,
) -> list[CheckState]:
    """The checks waiting for an answer now (due or late), the longest-waiting first."""
    waiting = [s for s in check_states(plan, protocol, events, t) if s.status in ("due", "late")]
    return sorted(waiting, key=lambda s: s.effective_due_t)


def next_wakeup(
    plan: Sequence[CheckSpec],
    protocol: MonitoringProtocol,
    events: Iterable[TimelineEntry],
    t: float,
) -> float | None:
    """When to look again: the next moment (seconds since dose) at which pending_transitions
    returns something new, or a snoozed check comes due again (the live screen changes then,
    though nothing new is recorded). ``t`` itself if something is owed already; None when no
    check has anything left to come."""
    t = _require_time(t)
    moments: list[float] = []
    for track in _tracks(plan, events):
        moments.extend(moment for _, moment in _owed(track, protocol))
        if (
            track.snoozed
            and track.done_t is None
            and CHECK_MISSED not in track.recorded
            and track.effective_due > t
        ):
            moments.append(track.effective_due)
    if not moments:
        return None
    return max(t, min(moments))


# --- a running session's protocol, frozen at the dose ----------------------------------------


@dataclass(frozen=True)
class Monitoring:
    protocol: MonitoringProtocol
    plan: tuple[CheckSpec, ...]

    @classmethod
    def start(cls, protocol: MonitoringProtocol, planned_minutes: int) -> Monitoring:
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
            # Ready to leave (monitoring/ready.py) reads it from here (issue 15).
            "discharge_sustained_s": p.discharge_sustained_s,
            "dose_rules": p.dose_rules.to_data(),
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> Monitoring:
        try:
            plan = plan_from_data(data["plan"])
            protocol = MonitoringProtocol(
                id=str(data["id"]),
                name=str(data["name"]),
                route=str(data["route"]),
                planned_minutes=int(data["planned_minutes"]),
                late_after_s=float(data["late_after_s"]),
                missed_after_s=float(data["missed_after_s"]),
                checks=plan,
                thresholds=tuple(Threshold(**t) for t in data["thresholds"]),
                path="",
                dose_rules=DoseRules.from_data(data.get("dose_rules")),
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
