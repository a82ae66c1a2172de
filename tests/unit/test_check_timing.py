"""Check timing: every shipped protocol walked through a whole session on simulated time. Each
check comes due once, on time; answered in time it is never late; through a sleep or a crash it
is recorded late or missed, never dropped and never doubled; snoozes and skips do what they say."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapsession.monitoring.checks import (
    CHECK_DUE,
    CHECK_LATE,
    CHECK_MISSED,
    CHECK_SKIPPED,
    CHECK_SNOOZED,
    RECORDED_LATE_AFTER_S,
    check_states,
    due_now,
    next_check,
    next_wakeup,
    pending_transitions,
)
from kapsession.monitoring.protocol import CheckSpec, Protocol, builtin_protocols
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.store import Event, Store

from .conftest import AUTHOR, TZ, PlanFactory

PROTOCOLS = builtin_protocols()
MIN = 60.0
TRANSITIONS = (CHECK_DUE, CHECK_LATE, CHECK_MISSED)


class Timeline:
    """Fake timeline: entries become the same Event records the store returns."""

    def __init__(self, protocol: Protocol, planned_minutes: int | None = None) -> None:
        self.protocol = protocol
        self.plan: tuple[CheckSpec, ...] = protocol.plan(planned_minutes)
        self.events: list[Event] = []

    def record(self, kind: str, data: dict[str, Any], t: float, reason: str | None = None) -> Event:
        event = Event(
            len(self.events) + 1, 1, kind, "2026-03-02T09:00:00.000Z", TZ, t, AUTHOR, None, reason,
            dict(data),
        )  # fmt: skip
        self.events.append(event)
        return event

    def pending(self, t: float) -> list[tuple[str, dict[str, Any]]]:
        return pending_transitions(self.plan, self.protocol, self.events, t)

    def advance(self, t: float) -> list[tuple[str, dict[str, Any]]]:
        """What the live session does on every scheduler wake-up: record what is owed."""
        owed = self.pending(t)
        for kind, data in owed:
            self.record(kind, data, t)
        return owed

    def wakeup(self, t: float) -> float | None:
        return next_wakeup(self.plan, self.protocol, self.events, t)

    def states(self, t: float) -> dict[str, str]:
        return {
            s.spec.key: s.status for s in check_states(self.plan, self.protocol, self.events, t)
        }

    def answer(self, key: str, t: float, kind: str = "vitals") -> Event:
        return self.record(kind, {"check": key, "systolic": 120, "diastolic": 80}, t)

    def transitions(self) -> list[tuple[str, str, float]]:
        return [(e.kind, e.data["check"], e.t or 0.0) for e in self.events if e.kind in TRANSITIONS]

    def count(self) -> Counter[tuple[str, str]]:
        return Counter((kind, key) for kind, key, _ in self.transitions())

    def key(self, minute: int) -> str:
        return next(c.key for c in self.plan if c.offset_s == minute * MIN)


def walk_by_wakeups(timeline: Timeline, t: float = 0.0, until: float = math.inf) -> float:
    """Jump straight from one wake-up to the next, as the scheduler does."""
    while True:
        wake = timeline.wakeup(t)
        if wake is None or wake > until:
            return t
        assert wake >= t
        t = wake
        timeline.advance(t)  # may be nothing: a snooze running out only changes the screen


def session_end(protocol: Protocol) -> float:
    return protocol.planned_minutes * MIN + protocol.missed_after_s


# --- a whole session, nobody answering ---------------------------------------------------------


@pytest.mark.parametrize("ident", sorted(PROTOCOLS))
def test_unanswered_checks_come_due_then_late_then_missed_each_once_on_time(ident: str) -> None:
    protocol = PROTOCOLS[ident]
    timeline = Timeline(protocol)
    walk_by_wakeups(timeline)
    assert timeline.wakeup(session_end(protocol)) is None, "nothing left to come"
    expected = []
    for spec in timeline.plan:
        expected += [
            (CHECK_DUE, spec.key, spec.offset_s),
            (CHECK_LATE, spec.key, spec.offset_s + protocol.late_after_s),
            (CHECK_MISSED, spec.key, spec.offset_s + protocol.missed_after_s),
        ]
    assert sorted(timeline.transitions(), key=lambda x: (x[2], x[1])) == sorted(
        expected, key=lambda x: (x[2], x[1])
    )
    assert set(timeline.count().values()) == {1}
    assert not [e for e in timeline.events if e.data.get("recorded_late")]
    for event in timeline.events:
        assert event.data["due_t"] == next(
            c.offset_s for c in timeline.plan if c.key == event.data["check"]
        )
        assert event.data["label"]
    assert set(timeline.states(session_end(protocol)).values()) == {"missed"}


@pytest.mark.parametrize("ident", sorted(PROTOCOLS))
def test_one_second_ticks_record_exactly_what_the_wakeups_record(ident: str) -> None:
    protocol = PROTOCOLS[ident]
    by_wakeup = Timeline(protocol)
    walk_by_wakeups(by_wakeup)
    by_tick = Timeline(protocol)
    for second in range(int(session_end(protocol)) + 120):
        by_tick.advance(float(second))
    assert by_tick.transitions() == by_wakeup.transitions()


@pytest.mark.parametrize("ident", sorted(PROTOCOLS))
@pytest.mark.parametrize("length", [45, 90, 120])
def test_other_session_lengths_walk_the_same_way(ident: str, length: int) -> None:
    protocol = PROTOCOLS[ident]
    timeline = Timeline(protocol, length)
    walk_by_wakeups(timeline)
    assert timeline.plan[-1].offset_s == length * MIN
    assert timeline.count() == Counter(
        {(kind, c.key): 1 for c in timeline.plan for kind in TRANSITIONS}
    )


# --- answering ------------------------------------------------------------------------------


@pytest.mark.parametrize("ident", sorted(PROTOCOLS))
def test_checks_answered_in_time_are_never_late_or_missed(ident: str) -> None:
    protocol = PROTOCOLS[ident]
    timeline = Timeline(protocol)
    t = 0.0
    for spec in timeline.plan:
        assert timeline.wakeup(t) == spec.offset_s, "the scheduler wakes for the next check"
        t = spec.offset_s
        assert timeline.advance(t) == [
            (CHECK_DUE, {"check": spec.key, "label": spec.label, "due_t": spec.offset_s})
        ]
        assert [s.spec for s in due_now(timeline.plan, protocol, timeline.events, t)] == [spec]
        t += protocol.late_after_s - 1  # the last second before it would be late
        timeline.advance(t)
        timeline.answer(spec.key, t)
        timeline.answer(spec.key, t, kind="observation")
        assert timeline.advance(t) == []
        assert timeline.states(t)[spec.key] == "answered"
    assert timeline.wakeup(t) is None
    assert timeline.count() == Counter({(CHECK_DUE, c.key): 1 for c in timeline.plan})
    assert set(timeline.states(10 * 3600).values()) == {"answered"}


def test_an_answer_given_before_the_check_comes_due_settles_it() -> None:
    timeline = Timeline(PROTOCOLS["sublingual"])
    c15 = timeline.key(15)
    walk_by_wakeups(timeline, until=14 * MIN)
    timeline.answer(c15, 14 * MIN)
    walk_by_wakeups(timeline, t=14 * MIN)
    assert not [k for k in timeline.count() if k[1] == c15]
    assert timeline.states(10 * 3600)[c15] == "answered"


def test_an_answer_after_late_stops_it_being_missed() -> None:
    timeline = Timeline(PROTOCOLS["sublingual"])
    c15 = timeline.key(15)
    walk_by_wakeups(timeline, until=22 * MIN)
    assert timeline.states(22 * MIN)[c15] == "late"
    timeline.answer(c15, 22 * MIN)
    walk_by_wakeups(timeline, t=22 * MIN)
    assert [k for k in timeline.transitions() if k[1] == c15] == [
        (CHECK_DUE, c15, 15 * MIN),
        (CHECK_LATE, c15, 20 * MIN),
    ]
    assert timeline.states(10 * 3600)[c15] == "answered"


def test_a_missed_check_answered_afterwards_shows_answered_and_keeps_its_record() -> None:
    timeline = Timeline(PROTOCOLS["sublingual"])
    c15 = timeline.key(15)
    walk_by_wakeups(timeline, until=31 * MIN)
    assert timeline.states(31 * MIN)[c15] == "missed"
    timeline.answer(c15, 31 * MIN)
    assert timeline.states(31 * MIN)[c15] == "answered"
    assert timeline.count()[(CHECK_MISSED, c15)] == 1
    assert timeline.advance(31 * MIN) == []


def test_an_answer_that_beat_the_scheduler_to_the_late_moment_is_still_recorded_late() -> None:
    # The answer came at 20:30 but nothing had recorded the 20:00 late moment yet (e.g. the
    # GUI was busy): the check *was* late, and the timeline says so once, not missed.
    timeline = Timeline(PROTOCOLS["sublingual"])
    c15 = timeline.key(15)
    walk_by_wakeups(timeline, until=19 * MIN)
    timeline.answer(c15, 20.5 * MIN)
    owed = timeline.advance(20.5 * MIN)
    assert [(kind, data["check"]) for kind, data in owed] == [(CHECK_LATE, c15)]
    walk_by_wakeups(timeline, t=20.5 * MIN)
    assert timeline.count()[(CHECK_MISSED, c15)] == 0


def test_skipped_checks_are_done() -> None:
    timeline = Timeline(PROTOCOLS["sublingual"])
    c15 = timeline.key(15)
    walk_by_wakeups(timeline, until=15.5 * MIN)
    timeline.record(CHECK_SKIPPED, {"check": c15}, 15.5 * MIN, reason="client asleep, calm")
    walk_by_wakeups(timeline, t=15.5 * MIN)
    assert [k for k in timeline.transitions() if k[1] == c15] == [(CHECK_DUE, c15, 15 * MIN)]
    assert timeline.states(10 * 3600)[c15] == "skipped"
    assert c15 not in [
        s.spec.key for s in due_now(timeline.plan, timeline.protocol, timeline.events, 16 * MIN)
    ]


def test_entries_for_other_checks_or_other_things_are_ignored() -> None:
    timeline = Timeline(PROTOCOLS["sublingual"])
    timeline.record("note", {"text": "client smiled"}, 1.0)
    timeline.record("vitals", {"systolic": 120}, 2.0)  # not tied to a check
    timeline.record("vitals", {"check": "c99-nothing"}, 3.0)
    timeline.record(CHECK_DUE, {"check": 15}, 4.0)  # malformed: not a key
    walk_by_wakeups(timeline)
    counts = Counter(
        (e.kind, e.data["check"])
        for e in timeline.events[4:]  # what the walk recorded, after the four entries above
        if e.kind in TRANSITIONS
    )
    assert counts == Counter({(kind, c.key): 1 for c in timeline.plan for kind in TRANSITIONS})


# --- what the live screen shows -------------------------------------------------------------


def test_next_check_counts_down_and_due_now_lists_what_waits() -> None:
    protocol = PROTOCOLS["sublingual"]
    timeline = Timeline(protocol)
    c00, c15, c30 = timeline.key(0), timeline.key(15), timeline.key(30)
    timeline.answer(c00, 1 * MIN)
    walk_by_wakeups(timeline, until=10 * MIN)
    upcoming = next_check(timeline.plan, protocol, timeline.events, 10 * MIN)
    assert upcoming is not None and upcoming.spec.key == c15 and upcoming.status == "upcoming"
    assert upcoming.seconds_until_due(10 * MIN) == 5 * MIN
    assert due_now(timeline.plan, protocol, timeline.events, 10 * MIN) == []
    walk_by_wakeups(timeline, t=10 * MIN, until=31 * MIN)
    waiting = due_now(timeline.plan, protocol, timeline.events, 31 * MIN)
    assert [(s.spec.key, s.status) for s in waiting] == [(c30, "due")]
    assert timeline.states(31 * MIN)[c15] == "missed"
    nxt = next_check(timeline.plan, protocol, timeline.events, 31 * MIN)
    assert nxt is not None and nxt.spec.offset_s == 45 * MIN
    assert next_check(timeline.plan, protocol, timeline.events, 76 * MIN) is None


def test_bad_times_are_refused() -> None:
    timeline = Timeline(PROTOCOLS["sublingual"])
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="finite"):
            timeline.pending(bad)
        with pytest.raises(ValueError, match="finite"):
            timeline.wakeup(bad)


# --- sleep and crashes ------------------------------------------------------------------------


@pytest.mark.parametrize("ident", sorted(PROTOCOLS))
def test_a_sleep_across_a_due_time_records_it_late_never_dropped_never_doubled(ident: str) -> None:
    protocol = PROTOCOLS[ident]
    timeline = Timeline(protocol)
    first_after_0 = timeline.plan[1]
    before = first_after_0.offset_s - MIN
    walk_by_wakeups(timeline, until=before)
    woke = before + 20 * MIN  # the laptop slept for 20 minutes
    owed = timeline.advance(woke)
    slept_through = [
        (kind, c.key)
        for c in timeline.plan
        for kind, moment in (
            (CHECK_DUE, c.offset_s),
            (CHECK_LATE, c.offset_s + protocol.late_after_s),
            (CHECK_MISSED, c.offset_s + protocol.missed_after_s),
        )
        if before < moment <= woke
    ]
    assert sorted((kind, data["check"]) for kind, data in owed) == sorted(slept_through)
    due = next(
        data for kind, data in owed if kind == CHECK_DUE and data["check"] == first_after_0.key
    )
    assert due["recorded_late"] is True and due["due_t"] == first_after_0.offset_s
    assert (CHECK_LATE, first_after_0.key) in slept_through, "20 min is past the late moment"
    for kind, data in owed:
        moment = {
            CHECK_DUE: 0.0,
            CHECK_LATE: protocol.late_after_s,
            CHECK_MISSED: protocol.missed_after_s,
        }[kind]
        recorded_late = woke - (data["due_t"] + moment) > RECORDED_LATE_AFTER_S
        assert data.get("recorded_late", False) is recorded_late
    assert timeline.advance(woke) == [], "asking again at once gives nothing new"
    walk_by_wakeups(timeline, t=woke)
    assert timeline.count() == Counter({(k, c.key): 1 for c in timeline.plan for k in TRANSITIONS})


def test_a_sleep_over_the_whole_session_still_records_every_check() -> None:
    protocol = PROTOCOLS["sublingual"]
    timeline = Timeline(protocol)
    timeline.advance(0.0)
    owed = timeline.advance(3 * 3600)
    assert len(owed) == 3 * len(timeline.plan) - 1
    moments = [
        data["due_t"] + {CHECK_DUE: 0, CHECK_LATE: 300, CHECK_MISSED: 900}[kind]
        for kind, data in owed
    ]
    assert moments == sorted(moments), "recorded in the order they came"
    assert timeline.wakeup(3 * 3600) is None


def crash_store(folder: Path) -> Store:
    """A second connection to the same files, as a restarted app gets after a kill."""
    return Store.open(folder, create=False)


def test_crash_and_resume_from_the_stored_timeline_never_doubles(
    tmp_path: Path, clock: Any, make_plan: PlanFactory
) -> None:
    folder = tmp_path / "data"
    store = Store.open(folder)
    service = SessionService(store, clock, TZ, AUTHOR)
    plan: SessionPlan = make_plan(protocol="Sublingual lozenge KAP", planned_minutes=75)
    record = service.plan(plan)
    service.give_dose(record.id)
    protocol = PROTOCOLS["sublingual"]
    checks = protocol.plan(record.planned_minutes)

    def record_owed(store: Store, t: float, limit: int | None = None) -> list[str]:
        owed = pending_transitions(checks, protocol, store.events(record.id), t)
        for kind, data in owed[:limit]:
            store.append(record.id, kind, clock.now(), TZ, t, data, author=AUTHOR)
        return [f"{kind}:{data['check']}" for kind, data in owed[:limit]]

    def walk(store: Store, t: float, until: float) -> float:
        while (wake := next_wakeup(checks, protocol, store.events(record.id), t)) is not None:
            if wake > until:
                break
            t = wake
            record_owed(store, t)
        return t

    walk(store, 0.0, 16 * MIN)
    c00, c15 = checks[0].key, checks[1].key
    store.append(record.id, "vitals", clock.now(), TZ, 15.5 * MIN, {"check": c15, "spo2": 98})
    # Killed at 17:00; nothing is closed. The app comes back at 40:00 and first records only
    # one of what it owes before being killed again mid-batch.
    second = crash_store(folder)
    assert record_owed(second, 40 * MIN, limit=1) == [f"{CHECK_DUE}:{checks[2].key}"]
    third = crash_store(folder)
    rest = record_owed(third, 40 * MIN)
    assert rest == [f"{CHECK_LATE}:{checks[2].key}"]
    assert record_owed(third, 40 * MIN) == []
    walk(third, 40 * MIN, 10 * 3600)

    stored = third.events(record.id)
    pairs = Counter((e.kind, e.data["check"]) for e in stored if e.kind in TRANSITIONS)
    assert max(pairs.values()) == 1, "never doubled"
    assert pairs[(CHECK_MISSED, c00)] == 1
    assert (CHECK_LATE, c15) not in pairs, "answered in time"
    for spec in checks[2:]:
        assert all(pairs[(kind, spec.key)] == 1 for kind in TRANSITIONS), spec.key
    late_due = next(e for e in stored if e.kind == CHECK_DUE and e.data["check"] == checks[2].key)
    assert late_due.data["recorded_late"] is True and late_due.t == 40 * MIN
    for s in (store, second, third):
        s.close()


# --- snoozing ------------------------------------------------------------------------------


def test_snooze_moves_the_due_time_and_late_and_missed_with_it() -> None:
    protocol = PROTOCOLS["sublingual"]
    timeline = Timeline(protocol)
    c15 = timeline.key(15)
    walk_by_wakeups(timeline, until=16 * MIN)
    timeline.record(CHECK_SNOOZED, {"check": c15, "minutes": 10}, 16 * MIN, reason="client talking")
    state = next(
        s
        for s in check_states(timeline.plan, protocol, timeline.events, 16 * MIN)
        if s.spec.key == c15
    )
    assert (state.status, state.effective_due_t) == ("snoozed", 26 * MIN)
    assert timeline.advance(20 * MIN) == [], "not late at 20:00 any more"
    assert timeline.wakeup(20 * MIN) == 26 * MIN, "the screen shows it due again at 26:00"
    assert timeline.advance(26 * MIN) == []
    assert timeline.states(26 * MIN)[c15] == "due"
    assert timeline.wakeup(26 * MIN) == 30 * MIN  # the next check
    walk_by_wakeups(timeline, t=26 * MIN, until=45 * MIN)
    mine = [e for e in timeline.events if e.data.get("check") == c15 and e.kind in TRANSITIONS]
    assert [(e.kind, e.t) for e in mine] == [
        (CHECK_DUE, 15 * MIN),
        (CHECK_LATE, 31 * MIN),
        (CHECK_MISSED, 41 * MIN),
    ]
    assert mine[1].data["snoozed_to_t"] == 26 * MIN and "recorded_late" not in mine[1].data


def test_a_snooze_never_brings_a_check_forward_and_the_latest_snooze_counts() -> None:
    protocol = PROTOCOLS["sublingual"]
    timeline = Timeline(protocol)
    c15 = timeline.key(15)
    timeline.advance(0.0)
    timeline.answer(timeline.key(0), 1 * MIN)
    timeline.record(CHECK_SNOOZED, {"check": c15, "minutes": 2}, 10 * MIN)
    assert timeline.states(10 * MIN)[c15] == "upcoming"
    assert timeline.wakeup(10 * MIN) == 15 * MIN
    timeline.record(CHECK_SNOOZED, {"check": c15, "minutes": 5}, 14 * MIN)
    assert timeline.states(14 * MIN)[c15] == "snoozed"
    assert timeline.wakeup(14 * MIN) == 19 * MIN
    owed = timeline.advance(19 * MIN)
    assert owed == [
        (
            CHECK_DUE,
            {"check": c15, "label": "Monitoring", "due_t": 15 * MIN, "snoozed_to_t": 19 * MIN},
        )
    ]
    for bad in ("ten", -5, 0, True, None, float("inf"), 10**400, 1e308, 24 * 60 + 1):
        timeline.record(CHECK_SNOOZED, {"check": timeline.key(30), "minutes": bad}, 29 * MIN)
    assert timeline.states(29 * MIN)[timeline.key(30)] == "upcoming", (
        "a malformed snooze is ignored"
    )


def test_a_check_snoozed_after_it_went_late_is_not_late_again() -> None:
    protocol = PROTOCOLS["sublingual"]
    timeline = Timeline(protocol)
    c15 = timeline.key(15)
    walk_by_wakeups(timeline, until=21 * MIN)
    timeline.record(CHECK_SNOOZED, {"check": c15, "minutes": 5}, 21 * MIN)
    assert timeline.states(22 * MIN)[c15] == "snoozed"
    walk_by_wakeups(timeline, t=21 * MIN)
    assert timeline.count()[(CHECK_LATE, c15)] == 1
    missed = next(e for e in timeline.events if e.kind == CHECK_MISSED and e.data["check"] == c15)
    assert missed.t == 26 * MIN + protocol.missed_after_s


# --- property: whatever happens, never doubled, never dropped ---------------------------------

actions = st.lists(
    st.tuples(
        st.floats(0, 40 * MIN, allow_nan=False),  # time passing (a jump may be a sleep)
        st.sampled_from(["nothing", "answer", "skip", "snooze", "crash"]),
        st.integers(0, 20),  # which check
        st.integers(1, 30),  # snooze minutes
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(
    ident=st.sampled_from(sorted(PROTOCOLS)),
    steps=actions,
    length=st.sampled_from([45, 60, 90, 120]),
)
def test_any_history_of_time_answers_snoozes_and_crashes_keeps_the_timeline_right(
    ident: str, steps: list[tuple[float, str, int, int]], length: int
) -> None:
    protocol = PROTOCOLS[ident]
    timeline = Timeline(protocol, length)
    t = 0.0
    for dt, action, which, minutes in steps:
        t += dt
        spec = timeline.plan[which % len(timeline.plan)]
        if action == "crash":
            # A crash loses nothing written; a rebuilt timeline is the same records.
            rebuilt = Timeline(protocol, length)
            rebuilt.events = list(timeline.events)
            timeline = rebuilt
        owed = timeline.advance(t)
        assert timeline.pending(t) == [], "idempotent"
        assert len({(k, d["check"]) for k, d in owed}) == len(owed)
        if action == "answer":
            timeline.answer(spec.key, t)
        elif action == "skip":
            timeline.record(CHECK_SKIPPED, {"check": spec.key}, t, reason="not needed")
        elif action == "snooze":
            timeline.record(CHECK_SNOOZED, {"check": spec.key, "minutes": minutes}, t, reason="r")
        wake = timeline.wakeup(t)
        assert wake is None or wake >= t
        assert max(timeline.count().values(), default=1) == 1, "never doubled"
    walk_by_wakeups(timeline, t)
    assert timeline.wakeup(max(t, 10 * 3600)) is None
    counts = timeline.count()
    assert max(counts.values(), default=1) == 1
    states = timeline.states(10 * 3600)
    for spec in timeline.plan:
        kinds = [
            e.kind for e in timeline.events if e.kind in TRANSITIONS and e.data["check"] == spec.key
        ]
        assert kinds == [k for k in TRANSITIONS if k in kinds], "due, then late, then missed"
        if states[spec.key] not in ("answered", "skipped"):
            assert kinds == list(TRANSITIONS), f"{spec.key} dropped: {kinds}"
            assert states[spec.key] == "missed"
    after = {
        CHECK_DUE: 0.0,
        CHECK_LATE: protocol.late_after_s,
        CHECK_MISSED: protocol.missed_after_s,
    }
    for event in timeline.events:
        if event.kind in TRANSITIONS:
            due = event.data.get("snoozed_to_t", event.data["due_t"])
            assert event.t is not None and event.t >= due + after[event.kind], "never early"
