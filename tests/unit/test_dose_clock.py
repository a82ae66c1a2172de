"""The dose clock: sleep counts, wall-clock jumps do not, both go on the timeline; resume after a
restart or a reboot; the scaled rehearsal clock."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapsession.clock import DoseAnchor, FakeClock, ScaledClock
from kapsession.session.dose_clock import (
    JUMP_TOLERANCE_S,
    SUSPEND_TOLERANCE_S,
    ContinuityWatch,
    DoseClock,
)
from kapsession.session.live import LiveSession, SessionService
from kapsession.storage.store import Store

from .conftest import AUTHOR, T0, TZ, PlanFactory


def _start(service: SessionService, make_plan: PlanFactory) -> LiveSession:
    return service.give_dose(service.plan(make_plan()).id)


def test_sleep_counts_toward_elapsed_and_is_recorded_as_a_suspend(
    clock: FakeClock, service: SessionService, make_plan: PlanFactory
) -> None:
    live = _start(service, make_plan)
    clock.advance(600)
    assert live.tick() == []

    clock.suspend(1800)  # the lid was closed for half an hour
    added = live.tick()

    assert live.elapsed() == 2400, "the medicine kept working while the laptop slept"
    assert [(e.kind, e.data, e.t) for e in added] == [("suspend", {"seconds": 1800.0}, 2400.0)]
    assert added[0] in live.events()


def test_a_nap_within_tick_jitter_counts_but_is_not_an_event(
    clock: FakeClock, service: SessionService, make_plan: PlanFactory
) -> None:
    live = _start(service, make_plan)
    clock.suspend(SUSPEND_TOLERANCE_S / 2)

    assert live.tick() == []
    assert live.elapsed() == SUSPEND_TOLERANCE_S / 2


@pytest.mark.parametrize("jump", [3600.0, -3600.0, 7.5, -7.5])
def test_wall_clock_jumps_do_not_move_elapsed_and_are_recorded_signed(
    clock: FakeClock, service: SessionService, make_plan: PlanFactory, jump: float
) -> None:
    live = _start(service, make_plan)
    clock.advance(900)
    live.tick()

    clock.jump_wall(jump)  # NTP step, DST misconfiguration, someone changing the clock
    added = live.tick()
    clock.advance(60)
    after = live.tick()

    assert [(e.kind, e.data["seconds"], e.t) for e in added] == [("clock_jump", jump, 900.0)]
    assert after == [], "a jump is recorded once, not on every tick after it"
    assert live.elapsed() == 960


def test_sleep_and_a_jump_in_the_same_tick_are_both_recorded(
    clock: FakeClock, service: SessionService, make_plan: PlanFactory
) -> None:
    live = _start(service, make_plan)
    clock.suspend(300)
    clock.jump_wall(-120)

    added = live.tick()

    assert sorted((e.kind, e.data["seconds"]) for e in added) == [
        ("clock_jump", -120.0),
        ("suspend", 300.0),
    ]
    assert live.elapsed() == 300


def test_resume_after_a_reboot_reanchors_from_the_wall_clock_and_stores_it(
    tmp_path: Path, clock: FakeClock, make_plan: PlanFactory
) -> None:
    store = Store.open(tmp_path)
    service = SessionService(store, clock, TZ, AUTHOR)
    live = _start(service, make_plan)
    dose_at = clock.now()
    clock.advance(600)
    live.tick()
    store.close()

    clock.reboot(downtime=120, boot="boot-2")  # monotonic readings start over
    store = Store.open(tmp_path)
    resumed = SessionService(store, clock, TZ, AUTHOR).resume()

    assert resumed is not None and resumed.record.id == live.record.id
    assert resumed.elapsed() == 720, "the wall clock is the only link to the dose after a reboot"
    stored = store.session(live.record.id).anchor
    assert stored == DoseAnchor(at=dose_at, mono=clock.monotonic() - 720, boot_id="boot-2")
    assert resumed.dose_clock.anchor == stored
    gap = resumed.events()[-1]
    assert gap.kind == "gap"
    assert gap.data == {
        "from_t": 600.0,
        "to_t": 720.0,
        "seconds": 120.0,
        "cause": "app_stopped_unexpectedly",
    }
    clock.advance(30)
    assert resumed.elapsed() == 750
    store.close()


def test_resume_within_the_same_boot_keeps_the_monotonic_anchor_despite_a_wall_jump(
    tmp_path: Path, clock: FakeClock, make_plan: PlanFactory
) -> None:
    store = Store.open(tmp_path)
    live = _start(SessionService(store, clock, TZ, AUTHOR), make_plan)
    anchor = live.dose_clock.anchor
    live.close()  # a normal quit with the session still running
    store.close()

    clock.advance(300)
    clock.jump_wall(-3600)  # the wall clock went back an hour while the app was closed
    store = Store.open(tmp_path)
    resumed = SessionService(store, clock, TZ, AUTHOR).resume()

    assert resumed is not None
    assert resumed.elapsed() == 300, "within one boot only the monotonic clock counts"
    assert store.session(live.record.id).anchor == anchor
    gap = resumed.events()[-1]
    assert (gap.kind, gap.data["cause"], gap.data["seconds"]) == ("gap", "app_closed", 300.0)
    store.close()


def test_resume_returns_none_without_a_running_session(service: SessionService) -> None:
    assert service.resume() is None


def test_dose_clock_resume_is_pure_about_the_boot_id(clock: FakeClock) -> None:
    anchor = DoseAnchor(at=clock.now(), mono=clock.monotonic(), boot_id=clock.boot_id())
    clock.advance(42)

    same, reanchored = DoseClock.resume(clock, anchor)
    assert (same.anchor, reanchored, same.elapsed()) == (anchor, False, 42)

    clock.reboot(downtime=18, boot="boot-7")
    fresh, reanchored = DoseClock.resume(clock, anchor)
    assert reanchored is True
    assert fresh.elapsed() == 60
    assert (fresh.anchor.at, fresh.anchor.boot_id) == (anchor.at, "boot-7")


def test_rehearsal_scale_60_makes_one_real_second_a_session_minute() -> None:
    base = FakeClock(T0)
    scaled = ScaledClock(base, 60, origin=base.now())
    dose = DoseClock(scaled, DoseAnchor(scaled.now(), scaled.monotonic(), scaled.boot_id()))

    base.advance(1)
    assert scaled.now() - T0 == timedelta(seconds=60)
    assert dose.elapsed() == 60

    base.suspend(2)
    assert dose.elapsed() == 180, "sleep counts in rehearsal too, scaled"
    base.advance(72)
    assert dose.elapsed() == 75 * 60, "a 75-minute rehearsal takes 75 real seconds"


def test_a_fresh_scaled_clock_with_the_same_origin_continues_where_the_old_one_was() -> None:
    base = FakeClock(T0)
    first = ScaledClock(base, 60, origin=T0)
    anchor = DoseAnchor(first.now(), first.monotonic(), first.boot_id())
    base.advance(10)
    before = DoseClock(first, anchor).elapsed()

    second = ScaledClock(base, 60, origin=T0)  # the app restarted in the same boot
    resumed, reanchored = DoseClock.resume(second, anchor)

    assert second.now() == first.now()
    assert reanchored is False
    assert resumed.elapsed() == before == 600
    base.advance(1)
    assert resumed.elapsed() == 660


def test_a_rehearsal_resumed_after_a_reboot_counts_the_downtime_scaled() -> None:
    base = FakeClock(T0)
    scaled = ScaledClock(base, 60, origin=T0)
    anchor = DoseAnchor(scaled.now(), scaled.monotonic(), scaled.boot_id())
    base.advance(5)

    base.reboot(downtime=10, boot="boot-2")
    resumed, reanchored = DoseClock.resume(ScaledClock(base, 60, origin=T0), anchor)

    assert reanchored is True
    assert resumed.elapsed() == pytest.approx((5 + 10) * 60)


@pytest.mark.parametrize("scale", [0.0, -1.0, math.nan])
def test_scaled_clock_refuses_a_scale_that_is_not_positive(scale: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(FakeClock(T0), scale, origin=T0)


_seconds = st.integers(min_value=0, max_value=4 * 3600 * 1000).map(lambda ms: ms / 1000)
_signed = st.integers(min_value=-86400 * 1000, max_value=86400 * 1000).map(lambda ms: ms / 1000)
_steps = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), _seconds),
        st.tuples(st.just("suspend"), _seconds),
        st.tuples(st.just("jump_wall"), _signed),
    ),
    max_size=40,
)


@given(_steps)
def test_elapsed_is_always_the_real_time_awake_or_asleep(steps: list[tuple[str, float]]) -> None:
    clock = FakeClock(T0)
    dose = DoseClock(clock, DoseAnchor(clock.now(), clock.monotonic(), clock.boot_id()))
    watch = ContinuityWatch(clock, dose)
    real = 0.0
    for kind, seconds in steps:
        getattr(clock, kind)(seconds)
        if kind != "jump_wall":
            real += seconds
        found = watch.check()
        # Each step is seen on its own tick, so it is reported alone, with its size
        # (values within a millisecond of the tolerance are left unasserted).
        if kind == "suspend" and seconds > SUSPEND_TOLERANCE_S + 0.001:
            assert [d.kind for d in found] == ["suspend"]
            assert found[0].seconds == pytest.approx(seconds, abs=1e-3)
        elif kind == "jump_wall" and abs(seconds) > JUMP_TOLERANCE_S + 0.001:
            assert [d.kind for d in found] == ["clock_jump"]
            assert found[0].seconds == pytest.approx(seconds, abs=1e-3)
        elif kind == "advance" or abs(seconds) < JUMP_TOLERANCE_S - 0.001:
            assert found == []
        assert dose.elapsed() == pytest.approx(real, abs=1e-6)


def test_a_full_disk_at_restart_still_reopens_the_session(
    clock: FakeClock, file_service: SessionService, make_plan: PlanFactory, monkeypatch
) -> None:
    import sqlite3

    live = file_service.give_dose(file_service.plan(make_plan()).id)
    clock.advance(600)

    def full(*_a: object, **_k: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(file_service.store, "append", full)
    resumed = file_service.resume()
    assert resumed is not None and resumed.record.id == live.record.id
    assert resumed.elapsed() == 600


def test_an_export_written_while_the_app_was_closed_does_not_hide_the_clean_close(
    tmp_path: Path, clock: FakeClock, make_plan: PlanFactory
) -> None:
    from kapsession.exports.session_export import record_output

    store = Store.open(tmp_path)
    live = _start(SessionService(store, clock, TZ, AUTHOR), make_plan)
    live.close()
    # `kapsession export` from the command line while the app is closed notes the export.
    record_output(
        store, store.session(live.record.id), "export", {"format": "json"}, b"{}", TZ, AUTHOR, clock
    )
    store.close()
    clock.advance(60)
    store = Store.open(tmp_path)
    resumed = SessionService(store, clock, TZ, AUTHOR).resume()
    assert resumed is not None
    gap = resumed.events()[-1]
    assert (gap.kind, gap.data["cause"]) == ("gap", "app_closed")
    store.close()
