"""What the live screen says, decided in the core on the fake clock: the check badge, the alert
banner, which alerts are open, the stream's grouping, the next wake-up in real seconds; and one
vitals line costs at most one read of the timeline."""

from __future__ import annotations

from kapsession.clock import FakeClock
from kapsession.monitoring.protocol import builtin_protocols
from kapsession.session.live import LiveSession, SessionPlan, SessionService
from kapsession.session.live_status import (
    alert_banner,
    badge_state,
    real_seconds_until,
    stream_group,
)
from kapsession.storage.store import Store

from .conftest import AUTHOR, TZ

PROTOCOLS = builtin_protocols()


def _start(store: Store, clock: FakeClock) -> LiveSession:
    service = SessionService(store, clock, TZ, AUTHOR, PROTOCOLS)
    record = service.plan(SessionPlan("C-031", "sublingual", "sublingual", 100.0, 75, "to rest"))
    return service.give_dose(record.id)


def test_the_badge_says_due_then_late_then_next(store: Store, clock: FakeClock) -> None:
    live = _start(store, clock)
    live.evaluate_checks()
    due = live.check_badge()
    assert due.level == "due"
    assert due.text.startswith("DUE  Baseline: vitals")
    assert "due 0:00 ago" in due.text and due.text.endswith("Alt+S snooze · Alt+K skip")
    clock.advance(5 * 60 + 1)
    live.evaluate_checks()
    late = live.check_badge()
    assert late.level == "late" and late.text.startswith("LATE  Baseline")
    assert "due 5:01 ago" in late.text
    live.add_vitals("120/80 70 98")
    for scale in ("moaas", "dissociation", "nausea", "emotional_tone", "rass"):
        if live.waiting_check() is None:
            break
        live.add_observation(scale, 0 if scale in ("dissociation", "nausea", "rass") else 5)
    assert live.waiting_check() is None
    following = live.check_badge()
    assert following.level == "muted"
    assert following.text.startswith("Next check: Monitoring")
    assert "at T+15:00 · in 9:59" in following.text


def test_without_a_protocol_there_is_no_badge(store: Store, clock: FakeClock) -> None:
    assert badge_state(None, [], 0.0).text == ""


def test_the_banner_and_the_open_alerts_are_one_truth(store: Store, clock: FakeClock) -> None:
    live = _start(store, clock)
    assert live.alert_banner() == ""
    _vitals, *alerts = live.add_vitals("190/80 140 98")
    assert len(alerts) == 2
    assert live.open_alerts() == alerts
    banner = live.alert_banner()
    assert banner == alert_banner(alerts)
    assert banner.startswith("⚠  Systolic 190 mmHg is above 180") and "(+1 more)" in banner
    assert banner.endswith("Alt+A to acknowledge")
    live.acknowledge_alert(alerts[0].seq)
    assert live.open_alerts() == alerts[1:]
    assert "more" not in live.alert_banner()
    live.acknowledge_alert(alerts[1].seq)
    assert live.alert_banner() == ""


def test_the_stream_groups_entries() -> None:
    assert [stream_group(k) for k in ("note", "alert", "check_late", "check_missed")] == [
        "note",
        "alert",
        "alert",
        "alert",
    ]
    assert stream_group("track_ended") == stream_group("volume") == "hidden"
    assert stream_group("vitals") == stream_group("track_started") == "event"


def test_a_rehearsal_wakes_in_scaled_real_time() -> None:
    assert real_seconds_until(300.0, 0.0, 60.0) == 5.0
    assert real_seconds_until(300.0, 120.0, 1.0) == 180.0
    assert real_seconds_until(300.0, 400.0, 1.0) == 0.0, "a moment passed is now, not negative"


def test_the_kept_timeline_matches_the_database_after_a_resume(
    store: Store, clock: FakeClock
) -> None:
    live = _start(store, clock)
    live.evaluate_checks()
    live.add_vitals("190/80 70 98")
    live.add_note("breathing slowly")
    again = SessionService(store, clock, TZ, AUTHOR, PROTOCOLS).resume()
    assert again is not None
    assert again.open_alerts() == live.open_alerts()
    assert again.check_badge() == live.check_badge()
    assert again.baseline() == live.baseline()


def test_one_vitals_line_reads_the_timeline_at_most_once(
    store: Store, clock: FakeClock, monkeypatch
) -> None:
    live = _start(store, clock)
    live.evaluate_checks()
    reads: list[int] = []
    read_events, read_event = Store.events, Store.event

    def counted_events(self: Store, session_id: int):  # type: ignore[no-untyped-def]
        reads.append(session_id)
        return read_events(self, session_id)

    def counted_event(self: Store, seq: int):  # type: ignore[no-untyped-def]
        reads.append(seq)
        return read_event(self, seq)

    monkeypatch.setattr(Store, "events", counted_events)
    monkeypatch.setattr(Store, "event", counted_event)
    vitals, *_alerts = live.add_vitals("120/80 70 98")
    # What the screen asks after it: the badge, the banner, the next wake-up, the baseline.
    live.check_badge()
    live.alert_banner()
    live.next_check_wakeup()
    live.evaluate_checks()
    assert vitals.data["check"] == "c00-baseline"
    assert len(reads) <= 1, f"{len(reads)} reads of the timeline for one vitals line"
