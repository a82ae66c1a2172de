"""The dose clock, the phase and what is next, driven by a fake clock (no waiting)."""

from __future__ import annotations

import sqlite3

import pytest
from helpers.qt import show_active, stream_texts
from PySide6.QtWidgets import QLabel

from kapsession.clock import FakeClock
from kapsession.session.live import HEARTBEAT_S, LiveSession, SessionPlan, SessionService
from kapsession.session.phases import _STARTS, phase_at
from kapsession.storage.store import Store
from ui.format import t_plus
from ui.live.screen import LiveView


def step(view: LiveView, clock: FakeClock, seconds: float) -> None:
    clock.advance(seconds)
    view._on_tick()


def test_the_clock_starts_at_zero(view):
    assert view.clock.text() == "T+00:00"
    assert view.progress.value() == 0


def test_the_clock_shows_minutes_and_seconds_since_the_dose(view, clock):
    step(view, clock, 125)
    assert view.clock.text() == "T+02:05"
    step(view, clock, 0.9)
    assert view.clock.text() == "T+02:05", "seconds are not rounded up"
    step(view, clock, 0.1)
    assert view.clock.text() == "T+02:06"


def test_past_an_hour_the_clock_shows_hours(view, clock):
    step(view, clock, 59 * 60 + 59)
    assert view.clock.text() == "T+59:59"
    step(view, clock, 1)
    assert view.clock.text() == "T+1:00:00"
    step(view, clock, 2 * 60 + 3)
    assert view.clock.text() == "T+1:02:03"


def test_the_clock_counts_from_the_dose_not_from_when_the_screen_opened(
    qtbot, service: SessionService, clock: FakeClock
):
    record = service.plan(SessionPlan("C-015", "KAP", "intramuscular", 60.0, 60))
    live = service.give_dose(record.id)
    clock.advance(300)
    v = LiveView(live)
    qtbot.addWidget(v)
    assert v.clock.text() == "T+05:00"
    v.stop()


def test_phase_and_next_up_texts_for_a_sublingual_session(view, clock):
    # sublingual: settling 0, onset 15, peak 30, return 55, reflection 75 (kapsession/phases.py);
    # the fixture's session is planned for 75 minutes.
    assert view.phase.text() == "of 75 min · Settling phase"
    assert view.next_up.text() == (
        "Next: Onset phase at T+15:00 (in 15:00) · planned end T+1:15:00"
    )
    step(view, clock, 125)
    assert view.next_up.text() == (
        "Next: Onset phase at T+15:00 (in 12:55) · planned end T+1:15:00"
    )
    step(view, clock, 15 * 60 - 125)
    assert view.phase.text() == "of 75 min · Onset phase"
    assert view.next_up.text().startswith("Next: Peak phase at T+30:00 (in 15:00)")
    step(view, clock, 26 * 60)  # T+41:00
    assert view.phase.text() == "of 75 min · Peak phase"
    assert view.next_up.text().startswith("Next: Return phase at T+55:00 (in 14:00)")
    step(view, clock, 20 * 60)  # T+1:01:00
    assert view.phase.text() == "of 75 min · Return phase"
    assert view.next_up.text() == (
        "Next: Reflection phase at T+1:15:00 (in 14:00) · planned end T+1:15:00"
    )
    assert view.progress.value() == int(1000 * 61 / 75)


def test_past_the_planned_end_the_screen_says_so(view, clock):
    step(view, clock, 75 * 60 - 1)
    assert "over plan" not in view.phase.text()
    assert view.next_up.text().startswith("Next: Reflection phase at T+1:15:00 (in 0:01)")
    step(view, clock, 1)
    assert view.phase.text() == "of 75 min · Reflection phase"
    assert view.next_up.text() == ("Past the planned end: end the session when the client is ready")
    step(view, clock, 4 * 60 + 30)
    assert view.clock.text() == "T+1:19:30"
    assert view.phase.text() == "of 75 min · Reflection phase · 4:30 over plan"
    assert view.progress.value() == 1000


@pytest.mark.parametrize("route", sorted(_STARTS))
def test_phase_text_follows_the_route_table_minute_by_minute(
    qtbot, service: SessionService, clock: FakeClock, route: str
):
    record = service.plan(SessionPlan(f"C-{route[:4]}", "KAP", route, 50.0, 90))
    live = service.give_dose(record.id)
    v = LiveView(live)
    qtbot.addWidget(v)
    for minute in range(0, 121):
        t = minute * 60.0
        info = phase_at(route, t)
        assert v.clock.text() == t_plus(t)
        assert f"{info.name.capitalize()} phase" in v.phase.text(), (route, minute)
        if info.next_name is not None and info.next_at is not None and info.next_at <= 90 * 60:
            assert v.next_up.text().startswith(
                f"Next: {info.next_name.capitalize()} phase at {t_plus(info.next_at)}"
            ), (route, minute, v.next_up.text())
        assert ("over plan" in v.phase.text()) == (t > 90 * 60)
        step(v, clock, 60)
    v.stop()


def test_a_suspend_is_put_on_the_timeline_and_the_clock_keeps_counting(
    view, clock, live: LiveSession, store: Store
):
    step(view, clock, 60)
    clock.suspend(600)
    view._on_tick()

    assert view.clock.text() == "T+11:00", "the medicine kept working while the laptop slept"
    assert stream_texts(view.stream)[-1] == (
        "T+11:00   The laptop slept for 10:00; the clock kept counting"
    )
    (event,) = [e for e in store.events(live.record.id) if e.kind == "suspend"]
    assert event.data == {"seconds": 600.0}
    assert event.t == 660.0


@pytest.mark.parametrize(("jump", "way"), [(3600, "forward"), (-3600, "back")])
def test_a_wall_clock_jump_is_recorded_and_does_not_move_the_dose_clock(
    view, clock, live: LiveSession, store: Store, jump: int, way: str
):
    step(view, clock, 125)
    clock.jump_wall(jump)
    view._on_tick()

    assert view.clock.text() == "T+02:05"
    assert stream_texts(view.stream)[-1] == (
        f"T+02:05   The computer's clock was changed {way} by 60:00; the dose clock was not"
    )
    (event,) = [e for e in store.events(live.record.id) if e.kind == "clock_jump"]
    assert event.data == {"seconds": float(jump)}
    # A second tick does not record the same jump again.
    view._on_tick()
    assert [e.kind for e in store.events(live.record.id)].count("clock_jump") == 1


def test_ordinary_ticks_add_nothing_to_the_stream(view, clock, live, store):
    # Two minutes in: no phase change (onset begins at T+15:00), no clock trouble.
    step(view, clock, 1)
    before = stream_texts(view.stream)
    events = store.events(live.record.id)
    for _ in range(120):
        step(view, clock, 1)
    assert stream_texts(view.stream) == before
    assert store.events(live.record.id) == events
    # Proof of life at least every 15 s (HEARTBEAT_S), so a restart can tell how long it was gone.
    beat = store.last_heartbeat(live.record.id)
    now = live.elapsed()
    assert now == 121.0
    assert beat is not None and now - HEARTBEAT_S < beat <= now


def test_the_clock_keeps_running_when_the_disk_refuses_the_heartbeat(
    view, clock, store, monkeypatch
):
    def refuse(*_args: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "heartbeat", refuse)
    step(view, clock, 30)
    assert view.clock.text() == "T+00:30"


def rehearsal_badges(view: LiveView) -> list[QLabel]:
    return [w for w in view.findChildren(QLabel) if w.accessibleName() == "Rehearsal session"]


def test_a_real_session_has_no_rehearsal_badge(view):
    assert rehearsal_badges(view) == []
    assert not [w for w in view.findChildren(QLabel) if "REHEARSAL" in w.text()]


@pytest.mark.parametrize(("scale", "badge"), [(1.0, "REHEARSAL"), (10.0, "REHEARSAL ×10")])
def test_a_rehearsal_session_shows_the_badge(
    qtbot, service: SessionService, clock: FakeClock, scale: float, badge: str
):
    live = service.give_dose(service.plan_rehearsal(scale, clock.now()).id)
    assert live.record.rehearsal
    assert live.record.client_code == "DEMO-REHEARSAL"
    v = LiveView(live)
    qtbot.addWidget(v)
    show_active(qtbot, v)
    badges = rehearsal_badges(v)
    assert [b.text() for b in badges] == [badge]
    assert badges[0].isVisible()
    v.stop()
