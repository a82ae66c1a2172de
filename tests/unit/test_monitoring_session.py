"""A live session following a monitoring protocol: checks, vitals, alerts, observations,
snoozes and skips, discharge gating, crash-and-resume, and what the JSON export shows."""

from __future__ import annotations

import pytest

from kapsession.clock import FakeClock
from kapsession.errors import InvalidEntry
from kapsession.exports import timeline_json
from kapsession.monitoring.protocol import builtin_protocols
from kapsession.session.live import LiveSession, SessionPlan, SessionService
from kapsession.storage.store import Store

from .conftest import AUTHOR, TZ

PROTOCOLS = builtin_protocols()
PASSING = {
    "scores": {"activity": 2, "respiration": 2, "circulation": 2, "consciousness": 2, "spo2": 1},
    "ride_home": True,
    "ready_at_t": 70 * 60.0,
}


def _service(store: Store, clock: FakeClock) -> SessionService:
    return SessionService(store, clock, TZ, AUTHOR, PROTOCOLS)


def _start(service: SessionService, protocol: str = "sublingual", minutes: int = 75) -> LiveSession:
    route = PROTOCOLS[protocol].route
    record = service.plan(SessionPlan("C-031", protocol, route, 100.0, minutes, "to rest"))
    return service.give_dose(record.id)


def _kinds(live: LiveSession, *kinds: str) -> list[str]:
    return [e.kind for e in live.events() if not kinds or e.kind in kinds]


def test_the_dose_freezes_the_protocol_in_the_timeline(store: Store, clock: FakeClock) -> None:
    live = _start(_service(store, clock))
    dose = live.events()[0]
    snapshot = dose.data["monitoring"]
    assert snapshot["id"] == "sublingual"
    assert [c["offset_s"] for c in snapshot["plan"]] == [0, 900, 1800, 2700, 3600, 4500]
    assert all(t["source"] for t in snapshot["thresholds"])
    # A restart rebuilds the monitoring from the timeline, not from the files.
    again = SessionService(store, clock, TZ, AUTHOR, protocols={}).resume()
    assert again is not None and again.monitoring is not None
    assert again.monitoring.plan == live.monitoring.plan  # type: ignore[union-attr]


def test_vitals_answer_the_due_check_and_trend_against_the_baseline(
    store: Store, clock: FakeClock
) -> None:
    live = _start(_service(store, clock))
    assert _kinds(live.evaluate_checks()[0:1] and live, "check_due") == ["check_due"]
    (baseline,) = live.add_vitals("120/80 70 98")
    assert baseline.data["check"] == "c00-baseline"
    assert "trend" not in baseline.data
    clock.advance(15 * 60)
    live.evaluate_checks()
    vitals, alert = live.add_vitals("181/84 77 97 14 36.8")
    assert vitals.data["check"].startswith("c15")
    assert vitals.data["trend"]["systolic"] == pytest.approx(50.8, abs=0.1)
    assert vitals.data["trend_text"].startswith("sys +51 %")
    assert alert.kind == "alert" and alert.data["field"] == "systolic"
    assert "OpenMRS" in alert.data["source"] and "above 180" in alert.data["message"]
    assert [a.seq for a in live.open_alerts()] == [alert.seq]
    ack = live.acknowledge_alert(alert.seq, "repeat in 5 min")
    assert ack.data == {"alert": alert.seq, "text": "repeat in 5 min"}
    assert live.open_alerts() == []
    with pytest.raises(InvalidEntry):
        live.acknowledge_alert(alert.seq)


def test_impossible_vitals_store_nothing(store: Store, clock: FakeClock) -> None:
    live = _start(_service(store, clock))
    before = len(live.events())
    for text in (
        "80/120 70 98",
        "120/80 70 101",
        "120/80 NaN 98",
        "1e309/80 70 98",
        "١٢٠/80 70 98",
    ):
        with pytest.raises(InvalidEntry):
            live.add_vitals(text)
    assert len(live.events()) == before


def test_observations_skip_and_snooze_are_timeline_entries(store: Store, clock: FakeClock) -> None:
    live = _start(_service(store, clock))
    live.evaluate_checks()
    moaas = live.add_observation("moaas", 5)
    assert moaas.data["check"] == "c00-baseline" and moaas.data["label"]
    clock.advance(15 * 60)
    live.evaluate_checks()
    snooze = live.snooze_check("c15-monitoring", 5, "client speaking, do not interrupt")
    assert snooze.reason == "client speaking, do not interrupt"
    clock.advance(4 * 60)
    assert live.evaluate_checks() == []  # snoozed: not late yet
    skip = live.skip_check("c15-monitoring", "client asleep, breathing calmly")
    assert skip.kind == "check_skipped"
    clock.advance(20 * 60)
    kinds = _kinds(live.evaluate_checks() and live, "check_late", "check_missed")
    assert all("c15" not in e.data["check"] for e in live.events() if e.kind in kinds)
    with pytest.raises(InvalidEntry, match="reason"):
        live.skip_check("c30-monitoring", "  ")
    with pytest.raises(InvalidEntry, match="not part"):
        live.snooze_check("c99", 5, "x")
    booster = live.quick_event("booster_dose", mg=50, route="sublingual", lot="L-22")
    assert booster.kind == "booster_dose" and booster.data["mg"] == 50


@pytest.mark.parametrize("protocol_id", sorted(PROTOCOLS))
def test_every_shipped_protocol_walks_through_a_session_answered_on_time(
    protocol_id: str, tmp_path
) -> None:
    clock = FakeClock()
    store = Store.open(tmp_path / "data")
    live = _start(_service(store, clock), protocol_id, PROTOCOLS[protocol_id].planned_minutes)
    end = live.planned_seconds
    while live.elapsed() < end + 60:
        for event in live.evaluate_checks():
            if event.kind == "check_due":
                live.add_vitals("124/80 72 98")
        wake = live.next_check_wakeup()
        clock.advance(60 if wake is None else max(1.0, min(60.0, wake - live.elapsed())))
    due = [e.data["check"] for e in live.events() if e.kind == "check_due"]
    assert due == [c.key for c in live.monitoring.plan]  # type: ignore[union-attr]
    assert _kinds(live, "check_late", "check_missed") == []
    store.close()


def test_a_crash_and_a_sleep_across_due_times_mark_late_and_missed_once(
    tmp_path, clock: FakeClock
) -> None:
    store = Store.open(tmp_path / "data")
    live = _start(_service(store, clock))
    live.evaluate_checks()
    live.add_vitals("120/80 70 98")
    clock.suspend(22 * 60)  # lid closed across the 15-minute check
    live.tick()
    kinds = [e.kind for e in live.evaluate_checks()]
    assert kinds == ["check_due", "check_late"]  # due at 15, late at 20; now T+22
    store.close()
    clock.advance(20 * 60)  # then the app was killed; the 30-minute check passes while it is gone
    store = Store.open(tmp_path / "data")
    resumed = _service(store, clock).resume()
    assert resumed is not None
    first = {(e.kind, e.data["check"][:3]) for e in resumed.evaluate_checks()}
    assert first == {("check_missed", "c15"), ("check_due", "c30"), ("check_late", "c30")}
    assert resumed.evaluate_checks() == []  # never doubled
    due = [e.data["check"] for e in resumed.events() if e.kind == "check_due"]
    assert len(due) == len(set(due)) == 3
    store.close()


def test_ending_as_complete_needs_a_passing_discharge_check(store: Store, clock: FakeClock) -> None:
    live = _start(_service(store, clock))
    clock.advance(75 * 60)
    with pytest.raises(InvalidEntry, match="discharge check has not been done"):
        live.end()
    failing = {**PASSING, "ride_home": False}
    with pytest.raises(InvalidEntry, match="ride home"):
        live.end(discharge=failing)
    assert live.record.state == "running"
    record = live.end(discharge=PASSING)
    assert record.state == "ended"
    discharge, ended = live.events()[-2:]
    assert discharge.kind == "discharge" and discharge.data["total"] == 9
    assert discharge.data["passed"] is True and discharge.data["ready_at_t"] == 4200
    assert ended.data == {"complete": True}


def test_ending_anyway_with_a_reason_is_recorded_as_not_complete(
    store: Store, clock: FakeClock
) -> None:
    live = _start(_service(store, clock))
    clock.advance(50 * 60)
    live.end("client transferred to the prescriber's care")
    ended = live.events()[-1]
    assert ended.data == {"complete": False}
    assert ended.reason == "client transferred to the prescriber's care"


def test_the_json_export_shows_checks_vitals_alerts_and_acknowledgements(
    store: Store, clock: FakeClock
) -> None:
    live = _start(_service(store, clock))
    live.evaluate_checks()
    _, alert = live.add_vitals("120/80 70 88")
    live.acknowledge_alert(alert.seq)
    live.add_observation("dissociation", 2)
    clock.advance(40 * 60)
    live.evaluate_checks()
    doc = timeline_json.timeline(store, live.record.id, clock.now())
    by_kind = {e["kind"]: e for e in doc["events"]}
    assert {"check_due", "check_late", "check_missed", "vitals", "alert", "alert_ack"} <= set(
        by_kind
    )
    assert by_kind["vitals"]["spo2"] == 88 and by_kind["vitals"]["systolic"] == 120
    assert set(by_kind["vitals"]) >= {
        "seq",
        "kind",
        "at",
        "t",
        "heart_rate",
        "resp_rate",
        "temperature",
    }
    assert by_kind["alert"]["field"] == "spo2" and by_kind["alert"]["source"]
    assert by_kind["alert_ack"]["alert"] == alert.seq
    assert by_kind["check_due"]["check"] and "due_t" in by_kind["check_due"]
    assert by_kind["observation"]["scale"] == "dissociation"


def test_rems_baseline_vitals_after_an_observation_still_belong_to_the_baseline(
    store: Store, clock: FakeClock
) -> None:
    live = _start(_service(store, clock), "esketamine-rems", 120)
    live.evaluate_checks()
    spec = live.monitoring.plan[0]  # type: ignore[union-attr]
    scale = spec.scales[0] if spec.scales else "moaas"
    live.add_observation(scale, 5 if scale == "moaas" else 0, check=spec.key)
    vitals, *alerts = live.add_vitals("150/95 80 98")
    assert vitals.data["check"] == spec.key
    assert {a.data["field"] for a in alerts} >= {"systolic"}, (
        "the pre-dose 140/90 threshold applies"
    )


def test_a_failed_end_leaves_no_discharge_entry(
    store: Store, clock: FakeClock, monkeypatch
) -> None:
    import sqlite3

    live = _start(_service(store, clock))
    clock.advance(75 * 60)

    def full_disk(*_args: object, **_kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store, "end_session", full_disk)
    with pytest.raises(sqlite3.OperationalError):
        live.end(discharge=PASSING)
    monkeypatch.undo()
    assert "discharge" not in _kinds(live)
    live.end(discharge=PASSING)
    assert _kinds(live, "discharge", "session_ended") == ["discharge", "session_ended"]
