"""The room board's tiles as pure functions of the hub's rows and the time (worked examples)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kapsession.hub.board import (
    OFFLINE_AFTER_S,
    BoardEntry,
    BoardSession,
    RoomState,
    Snapshot,
    format_t,
    tile,
)

DOSE = datetime(2026, 12, 6, 14, 0, tzinfo=UTC)
PLAN = {
    "plan": [["bp15", 900.0, "BP & pulse"], ["bp30", 1800.0, "BP & pulse 30"]],
    "late_after_s": 300.0,
    "missed_after_s": 900.0,
}


def _session(*entries: BoardEntry, state: str = "running", **kw) -> BoardSession:
    dose = BoardEntry(1, "dose", 0.0, PLAN)
    return BoardSession(
        code=kw.get("code", "C-07"),
        state=state,
        rehearsal=kw.get("rehearsal", False),
        time_scale=kw.get("time_scale", 1.0),
        clock_origin=kw.get("clock_origin"),
        dose_at=kw.get("dose_at", DOSE),
        ended_t=kw.get("ended_t"),
        entries=(dose, *entries),
    )


def _tile(session: BoardSession | None, at: float, synced_ago: float = 1.0):
    """The tile AT seconds after the dose, the room last synced SYNCED_AGO seconds before."""
    now = DOSE + timedelta(seconds=at)
    room = RoomState("a", now - timedelta(seconds=synced_ago), session)
    return tile(room, Snapshot((room,), hub_now=now, read_at=now), now, UTC)


def test_t_plus_is_minutes_and_seconds_since_the_dose() -> None:
    assert format_t(0) == "T+00:00"
    assert format_t(59.99) == "T+00:59"
    assert format_t(75 * 60 + 3) == "T+75:03"
    assert format_t(-5) == "T+00:00"
    shown = _tile(_session(), 754.4)
    assert (shown.code, shown.t_plus) == ("C-07", "T+12:34")


def test_a_check_is_next_then_due_at_its_time_then_late_after_the_protocols_limit() -> None:
    assert (_tile(_session(), 899.0).check_mark, _tile(_session(), 899.0).check) == (
        "next",
        "BP & pulse",
    )
    assert _tile(_session(), 899.0).check_when == "T+15:00"
    assert _tile(_session(), 900.0).check_mark == "due"  # due at 15:00 exactly
    assert _tile(_session(), 1199.0).check_mark == "due"
    assert _tile(_session(), 1200.0).check_mark == "late"  # 15:00 + 5 min late limit
    # A check still unanswered past "missed" shows LATE (the laptop recorded it missed).
    missed = _session(BoardEntry(5, "check_missed", 1800.0, {"check": "bp15"}))
    assert _tile(missed, 1801.0).check_mark == "late"
    assert _tile(missed, 1801.0).check == "BP & pulse"


def test_the_laptops_recorded_late_counts_even_before_the_boards_clock_gets_there() -> None:
    late = _session(BoardEntry(4, "check_late", 1200.0, {"check": "bp15"}))
    assert _tile(late, 1100.0).check_mark == "late"


def test_an_answer_or_a_skip_takes_the_check_off_and_the_next_one_shows() -> None:
    answered = _session(BoardEntry(3, "vitals", 950.0, {"check": "bp15"}))
    shown = _tile(answered, 1000.0)
    assert (shown.check, shown.check_mark, shown.check_when) == ("BP & pulse 30", "next", "T+30:00")
    skipped = _session(BoardEntry(3, "check_skipped", 950.0, {"check": "bp15"}))
    assert _tile(skipped, 1000.0).check == "BP & pulse 30"
    # A snooze moves the due time on: not due until then.
    snoozed = _session(BoardEntry(3, "check_snoozed", 900.0, {"check": "bp15", "minutes": 5}))
    assert _tile(snoozed, 1100.0).check_mark == "next"
    assert _tile(snoozed, 1200.0).check_mark == "due"


def test_an_acknowledged_alert_is_not_open() -> None:
    alerts = _session(
        BoardEntry(7, "alert", 600.0, {"field": "spo2", "low": 92, "source": "protocol"}),
        BoardEntry(8, "alert", 610.0, {"field": "systolic", "high": 160, "source": "protocol"}),
        BoardEntry(9, "alert_ack", 620.0, {"alert": 7}),
    )
    # The vital's label and unit, as the live screen names it; never the value measured.
    assert _tile(alerts, 700.0).alerts == ("Systolic above 160 mmHg",)
    acked = _session(*alerts.entries[1:], BoardEntry(10, "alert_ack", 630.0, {"alert": 8}))
    assert _tile(acked, 700.0).alerts == ()


def test_phase_and_music_follow_the_latest_entries() -> None:
    s = _session(
        BoardEntry(2, "phase", 0.0, {"name": "onset"}),
        BoardEntry(3, "track_started", 1.0, {}),
        BoardEntry(4, "phase", 600.0, {"name": "peak"}),
    )
    assert (_tile(s, 700.0).phase, _tile(s, 700.0).music) == ("peak", True)
    silenced = _session(*s.entries[1:], BoardEntry(5, "silence", 800.0, {"on": True}))
    assert _tile(silenced, 900.0).music is False
    back = _session(*silenced.entries[1:], BoardEntry(6, "silence", 850.0, {"on": False}))
    assert _tile(back, 900.0).music is True
    assert _tile(_session(), 10.0).music is False  # no music played


def test_an_ended_session_today_shows_ended_with_its_time_stopped_and_no_check() -> None:
    ended = _session(
        BoardEntry(2, "alert", 60.0, {"field": "spo2", "low": 92}),
        BoardEntry(3, "track_started", 1.0, {}),
        state="ended",
        ended_t=4500.0,
    )
    shown = _tile(ended, 6000.0)
    assert (shown.t_plus, shown.phase, shown.ended) == ("T+75:00", "ended", True)
    assert (shown.check_mark, shown.alerts, shown.music) == (None, (), False)


def test_a_room_with_no_session_today_shows_its_name_only() -> None:
    yesterday = _session(state="ended", ended_t=60.0, dose_at=DOSE - timedelta(days=1))
    shown = _tile(yesterday, 10.0)
    assert (shown.code, shown.t_plus, shown.check_mark) == (None, "", None)
    assert _tile(None, 10.0).code is None
    never = RoomState("a", None, None)
    now = DOSE
    shown = tile(never, Snapshot((never,), now, now), now, UTC)
    assert (shown.never_synced, shown.offline_since) == (True, None)
    # A session still running from yesterday (never ended) is shown: the room is in use.
    running = _session(dose_at=DOSE - timedelta(days=1))
    assert _tile(running, 10.0).code == "C-07"


def test_a_room_that_stopped_syncing_shows_offline_since_its_last_round() -> None:
    assert _tile(_session(), 100.0, synced_ago=OFFLINE_AFTER_S).offline_since is None
    shown = _tile(_session(), 120.0 + OFFLINE_AFTER_S + 45.0, synced_ago=OFFLINE_AFTER_S + 45.0)
    assert shown.offline_since == "14:02"  # its last round at 14:02:00 UTC


def test_offline_is_measured_on_the_hubs_clock_moved_on_by_the_boards() -> None:
    # The board's clock is 10 minutes ahead of the hub's: the room synced 5 s ago by the hub.
    hub_now = DOSE + timedelta(seconds=300)
    board_now = hub_now + timedelta(minutes=10)
    room = RoomState("a", hub_now - timedelta(seconds=5), _session())
    snap = Snapshot((room,), hub_now=hub_now, read_at=board_now)
    assert tile(room, snap, board_now, UTC).offline_since is None
    later = board_now + timedelta(seconds=60)
    assert tile(room, snap, later, UTC).offline_since == "14:04"


def test_a_rehearsal_counts_t_plus_at_its_time_scale() -> None:
    origin = DOSE - timedelta(seconds=60)
    # Virtual dose at origin + 60 s real * 60 = origin + 3600 s.
    s = _session(
        rehearsal=True, time_scale=60.0, clock_origin=origin, dose_at=origin + timedelta(hours=1)
    )
    now = origin + timedelta(seconds=61)  # one real second after the dose: one virtual minute
    room = RoomState("a", now, s)
    assert tile(room, Snapshot((room,), now, now), now, UTC).t_plus == "T+01:00"
