"""The live screen following a monitoring protocol: a check coming due never takes the note,
the Alt+V vitals line, alerts and their acknowledgement, and the scheduler behind the checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers.monitoring import (
    ALT,
    BASELINE,
    C15,
    LATE_AFTER_S,
    of_kind,
    open_view,
    step,
)
from helpers.qt import committed, stream_texts
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from kapsession.clock import FakeClock
from kapsession.session.live import LiveSession, SessionService
from kapsession.storage.store import Store
from ui.live.screen import LiveView


def assert_note_untouched(view: LiveView, text: str, cursor: int) -> None:
    assert QApplication.focusWidget() is view.note
    assert view.note.text() == text
    assert view.note.cursorPosition() == cursor
    assert not view.note.hasSelectedText()


def alt(qtbot, view: LiveView, key: Qt.Key) -> None:
    qtbot.keyClick(view.note, key, ALT)


def enter_vitals(qtbot, view: LiveView, entry: str) -> None:
    alt(qtbot, view, Qt.Key.Key_V)
    qtbot.keyClicks(view.vitals_edit, entry)
    qtbot.keyClick(view.vitals_edit, Qt.Key.Key_Return)


# --- a check comes due ------------------------------------------------------------------------


def test_the_baseline_is_due_at_the_dose(mview: LiveView, mlive: LiveSession):
    assert mview.check_badge.text().startswith(
        "DUE  Baseline: vitals, MOAA/S, nausea, emotional tone · due 0:00 ago"
    )
    assert mview.check_badge.property("role") == "due"
    assert "T+00:00   Check due: Baseline (planned T+00:00)" in stream_texts(mview.stream)
    assert [e.data["check"] for e in of_kind(mlive, "check_due")] == [BASELINE]


def test_a_check_coming_due_does_not_touch_the_note_being_typed(
    qtbot, mview: LiveView, mlive: LiveSession, store: Store, clock: FakeClock
):
    enter_vitals(qtbot, mview, "120/80 70 98")  # answers the baseline
    assert mview.check_badge.text() == (
        "Next check: Monitoring (vitals, MOAA/S, dissociation, nausea) at T+15:00 · in 15:00"
    )
    assert mview.check_badge.property("role") == "muted"
    qtbot.keyClicks(mview.note, "she says the room is warm")
    for _ in range(5):
        qtbot.keyClick(mview.note, Qt.Key.Key_Left)  # the cursor is back in the word "room"
    text, cursor = "she says the room is warm", len("she says the room is")
    assert_note_untouched(mview, text, cursor)

    step(mview, clock, 15 * 60 + 1)

    assert_note_untouched(mview, text, cursor)
    assert QApplication.activeModalWidget() is None
    assert mview.isActiveWindow()
    assert mview.check_badge.text().startswith(
        "DUE  Monitoring: vitals, MOAA/S, dissociation, nausea · due 0:01 ago"
    )
    assert mview.check_badge.property("role") == "due"
    assert "T+15:01   Check due: Monitoring (planned T+15:00)" in stream_texts(mview.stream)
    (due,) = [r for r in committed(store, "check_due") if C15 in str(r["data"])]
    assert due["t"] == 901.0
    # Typing goes on exactly where it was.
    qtbot.keyClicks(mview.note, " very")
    assert mview.note.text() == "she says the room is very warm"

    step(mview, clock, LATE_AFTER_S)

    assert mview.note.text() == "she says the room is very warm"
    assert QApplication.focusWidget() is mview.note
    assert not mview.note.hasSelectedText()
    assert mview.check_badge.text().startswith("LATE  Monitoring")
    assert "due 5:01 ago" in mview.check_badge.text()
    assert mview.check_badge.property("role") == "late"
    assert "T+20:01   Check late: Monitoring (planned T+15:00)" in stream_texts(mview.stream)
    assert [e.data["check"] for e in of_kind(mlive, "check_late")] == [C15]


def test_a_check_coming_due_keeps_a_selection_the_therapist_made(
    qtbot, mview: LiveView, mlive: LiveSession, clock: FakeClock
):
    enter_vitals(qtbot, mview, "120/80 70 98")
    qtbot.keyClicks(mview.note, "calm then tearful")
    for _ in range(7):
        qtbot.keyClick(mview.note, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert mview.note.selectedText() == "tearful"

    step(mview, clock, 15 * 60)

    assert mview.check_badge.text().startswith("DUE  Monitoring")
    assert QApplication.focusWidget() is mview.note
    assert mview.note.selectedText() == "tearful"
    assert mview.note.selectionStart() == len("calm then ")
    # What the therapist types replaces what they selected, nothing more.
    qtbot.keyClicks(mview.note, "crying")
    assert mview.note.text() == "calm then crying"


def test_each_moment_is_recorded_once_however_often_the_view_wakes(
    mview: LiveView, mlive: LiveSession, clock: FakeClock
):
    mlive.add_vitals("120/80 70 98")
    for _ in range(3):
        step(mview, clock, 15 * 60 / 3)
        mview._on_check_time()
    step(mview, clock, 0)
    assert [e.data["check"] for e in of_kind(mlive, "check_due")] == [BASELINE, C15]
    rows = [t for t in stream_texts(mview.stream) if "Check due: Monitoring" in t]
    assert len(rows) == 1


# --- Alt+V: the vitals line -------------------------------------------------------------------


def test_alt_v_saves_vitals_for_the_due_check_and_gives_the_note_back_unselected(
    qtbot, mview: LiveView, mlive: LiveSession, store: Store
):
    qtbot.keyClicks(mview.note, "half a no")
    alt(qtbot, mview, Qt.Key.Key_V)
    assert mview.vitals_edit.isVisible()
    assert QApplication.focusWidget() is mview.vitals_edit
    assert mview.vitals_edit.text() == "", "nothing is pre-filled"

    qtbot.keyClicks(mview.vitals_edit, "128/82 76 98")
    qtbot.keyClick(mview.vitals_edit, Qt.Key.Key_Return)

    (vitals,) = of_kind(mlive, "vitals")
    assert vitals.data == {
        "systolic": 128,
        "diastolic": 82,
        "heart_rate": 76,
        "spo2": 98,
        "resp_rate": None,
        "temperature": None,
        "check": BASELINE,
    }
    assert len(committed(store, "vitals")) == 1
    assert of_kind(mlive, "alert") == []
    assert not mview.vitals_edit.isVisible()
    assert mview.vitals_edit.text() == ""
    # Regression: hiding the focused vitals line used to pass the focus on as if by Tab, which
    # selected the whole half-typed note, so the next keystroke replaced it.
    assert_note_untouched(mview, "half a no", len("half a no"))
    qtbot.keyClicks(mview.note, "te")
    assert mview.note.text() == "half a note"
    assert mview.status.text() == ""
    assert mview.last_vitals.text() == "Last vitals T+00:00: BP 128/82 · HR 76 · SpO2 98 %"
    assert "T+00:00   BP 128/82 · HR 76 · SpO2 98 %" in stream_texts(mview.stream)
    # The vitals answered the check: the badge now counts down to the next one.
    assert mview.check_badge.text().startswith("Next check: Monitoring")


def test_vitals_with_rr_and_temperature_and_the_trend_from_baseline(
    qtbot, mview: LiveView, mlive: LiveSession, clock: FakeClock
):
    for entry in ("120/80 70 98", "150/80 63 97 14 36.8"):
        alt(qtbot, mview, Qt.Key.Key_V)
        qtbot.keyClicks(mview.vitals_edit, entry)
        qtbot.keyClick(mview.vitals_edit, Qt.Key.Key_Return)
        clock.advance(60)
    first, second = of_kind(mlive, "vitals")
    assert first.data["check"] == BASELINE
    assert "check" not in second.data, "no check was waiting for these"
    assert (second.data["resp_rate"], second.data["temperature"]) == (14, 36.8)
    assert second.data["trend"] == {
        "systolic": 25.0,
        "diastolic": 0.0,
        "heart_rate": -10.0,
        "spo2": -1.0,
    }
    assert mview.last_vitals.text() == (
        "Last vitals T+01:00: BP 150/80 · HR 63 · SpO2 97 % · RR 14 · 36.8 °C"
        "   (sys +25 % · dia ±0 % · HR −10 % · SpO2 −1 % from baseline)"
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("80/120 70 98", "Systolic must be higher than diastolic."),
        ("120/80 70 101", "SpO2 is above the plausible maximum of 100 %."),
        (
            "abc",
            "Blood pressure needs a slash between systolic and diastolic, e.g. '128/82 76 98'.",
        ),
        ("120/80 70", "SpO2 is missing; type e.g. '128/82 76 98'."),
        ("120/80 nan 98", "Heart rate must be a number, not NaN or infinity."),
        ("120/80 −70 98", "Heart rate must be typed with the plain digits 0–9."),
        (
            "120/80 70 98 14 98.6",
            "Temperature is above the plausible maximum of 43 °C (enter °C, not °F).",
        ),
    ],
)
def test_invalid_vitals_keep_the_line_open_and_store_nothing(
    qtbot, mview: LiveView, mlive: LiveSession, store: Store, entry: str, message: str
):
    qtbot.keyClicks(mview.note, "keep me")
    before = len(committed(store))
    alt(qtbot, mview, Qt.Key.Key_V)
    if entry.isascii():
        qtbot.keyClicks(mview.vitals_edit, entry)
    else:  # QTest can only type Latin-1; an input method or a paste brings the rest
        mview.vitals_edit.insert(entry)
    qtbot.keyClick(mview.vitals_edit, Qt.Key.Key_Return)

    assert mview.status.text() == f"Not saved: {message}"
    assert mview.vitals_edit.isVisible()
    assert mview.vitals_edit.text() == entry, "the entry stays, to be corrected"
    assert QApplication.focusWidget() is mview.vitals_edit
    assert len(committed(store)) == before
    assert of_kind(mlive, "vitals") == [] and of_kind(mlive, "alert") == []
    assert mview.check_badge.text().startswith("DUE  Baseline"), "the check is still waiting"
    assert mview.note.text() == "keep me"

    # Esc cancels: nothing stored, the line closes, the note comes back as it was.
    qtbot.keyClick(mview.vitals_edit, Qt.Key.Key_Escape)
    assert not mview.vitals_edit.isVisible()
    assert mview.vitals_edit.text() == ""
    assert mview.status.text() == ""
    assert_note_untouched(mview, "keep me", len("keep me"))
    assert len(committed(store)) == before


def test_a_corrected_entry_saves_once(qtbot, mview: LiveView, mlive: LiveSession):
    alt(qtbot, mview, Qt.Key.Key_V)
    qtbot.keyClicks(mview.vitals_edit, "128/82 76 101")
    qtbot.keyClick(mview.vitals_edit, Qt.Key.Key_Return)
    assert mview.status.text().startswith("Not saved: SpO2")
    qtbot.keyClick(mview.vitals_edit, Qt.Key.Key_Backspace)
    qtbot.keyClick(mview.vitals_edit, Qt.Key.Key_Backspace)
    qtbot.keyClick(mview.vitals_edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(mview.vitals_edit, "97")
    qtbot.keyClick(mview.vitals_edit, Qt.Key.Key_Return)
    assert [e.data["spo2"] for e in of_kind(mlive, "vitals")] == [97]
    assert mview.status.text() == ""
    assert not mview.vitals_edit.isVisible()


def test_enter_on_an_empty_vitals_line_just_closes_it(qtbot, mview: LiveView, mlive, store):
    before = len(committed(store))
    qtbot.keyClicks(mview.note, "typing")
    alt(qtbot, mview, Qt.Key.Key_V)
    qtbot.keyClick(mview.vitals_edit, Qt.Key.Key_Return)
    assert not mview.vitals_edit.isVisible()
    assert len(committed(store)) == before
    assert_note_untouched(mview, "typing", len("typing"))


# --- alerts -----------------------------------------------------------------------------------


SPO2_SOURCE = "World SIVA sedation adverse event tool: SpO2 < 90 % for > 60 s is a sentinel risk"


def test_an_out_of_range_value_raises_an_alert_that_alt_a_acknowledges(
    qtbot, mview: LiveView, mlive: LiveSession, store: Store, clock: FakeClock
):
    assert not mview.alert_banner.isVisible()
    qtbot.keyClicks(mview.note, "breathing slow")
    enter_vitals(qtbot, mview, "120/80 70 88")

    (vitals,) = of_kind(mlive, "vitals")
    (alert,) = of_kind(mlive, "alert")
    assert vitals.data["check"] == BASELINE, "the thresholds of the check it answers"
    assert alert.data == {
        "field": "spo2",
        "value": 88,
        "low": 90,
        "high": None,
        "source": SPO2_SOURCE,
        "message": f"SpO2 88 % is below 90 ({SPO2_SOURCE})",
    }
    assert [r["kind"] for r in committed(store)][-2:] == ["vitals", "alert"]
    assert mview.alert_banner.isVisible()
    banner = mview.alert_banner.text()
    assert f"SpO2 88 % is below 90 ({SPO2_SOURCE})" in banner, "the message, with its source"
    assert "Alt+A" in banner
    assert f"T+00:00   ALERT  SpO2 88 % is below 90 ({SPO2_SOURCE})" in stream_texts(mview.stream)
    # The alert is there to see; it does not take the keyboard.
    assert_note_untouched(mview, "breathing slow", len("breathing slow"))

    clock.advance(20)
    alt(qtbot, mview, Qt.Key.Key_A)

    (ack,) = of_kind(mlive, "alert_ack")
    assert ack.data == {"alert": alert.seq}
    assert (ack.t, ack.author) == (20.0, "therapist")
    assert len(committed(store, "alert_ack")) == 1
    assert mlive.open_alerts() == []
    assert not mview.alert_banner.isVisible()
    assert "T+00:20   Alert acknowledged" in stream_texts(mview.stream)
    assert_note_untouched(mview, "breathing slow", len("breathing slow"))
    # Nothing left to acknowledge.
    alt(qtbot, mview, Qt.Key.Key_A)
    assert mview.status.text() == "There is no alert to acknowledge."
    assert len(of_kind(mlive, "alert_ack")) == 1


def test_several_alerts_are_acknowledged_oldest_first(qtbot, mview: LiveView, mlive: LiveSession):
    enter_vitals(qtbot, mview, "190/80 140 88")
    alerts = of_kind(mlive, "alert")
    assert [a.data["field"] for a in alerts] == ["systolic", "heart_rate", "spo2"]
    assert mview.alert_banner.text().startswith("⚠  Systolic 190 mmHg is above 180")
    assert "(+2 more)" in mview.alert_banner.text()
    alt(qtbot, mview, Qt.Key.Key_A)
    assert mview.alert_banner.text().startswith("⚠  Heart rate 140 /min is above 130")
    assert "(+1 more)" in mview.alert_banner.text()
    alt(qtbot, mview, Qt.Key.Key_A)
    alt(qtbot, mview, Qt.Key.Key_A)
    assert [a.data["alert"] for a in of_kind(mlive, "alert_ack")] == [a.seq for a in alerts]
    assert not mview.alert_banner.isVisible()


def test_an_open_alert_is_shown_again_when_the_screen_reopens(
    qtbot, mlive: LiveSession, pservice: SessionService, clock: FakeClock
):
    mlive.add_vitals("120/80 70 88")
    view = open_view(qtbot, mlive)
    try:
        assert view.alert_banner.isVisible()
        assert "SpO2 88 % is below 90" in view.alert_banner.text()
        alt(qtbot, view, Qt.Key.Key_A)
        assert not view.alert_banner.isVisible()
    finally:
        view.stop()
    # An acknowledged alert stays acknowledged for a screen opened later.
    again = open_view(qtbot, mlive)
    try:
        assert not again.alert_banner.isVisible()
    finally:
        again.stop()


# --- the scheduler behind the checks ----------------------------------------------------------


def assert_job_matches_wakeup(view: LiveView, live: LiveSession, since: datetime) -> None:
    """The job is set for the next moment a check changes, counted from when it was set: some
    time between `since` (taken before whatever set it) and now. Order, not a time window."""
    wake = live.next_check_wakeup()
    assert wake is not None
    job = view._scheduler.get_job("checks")
    assert job is not None
    ahead = timedelta(seconds=(wake - live.elapsed()) / live.record.time_scale)
    assert since + ahead <= job.next_run_time <= datetime.now(UTC) + ahead + timedelta(seconds=0.01)


def test_the_check_job_is_set_for_the_next_moment_a_check_changes(
    qtbot, mview: LiveView, mlive: LiveSession, clock: FakeClock
):
    # The baseline is due: the next moment is when it turns late.
    since = datetime.now(UTC)
    step(mview, clock, 0)
    assert mlive.next_check_wakeup() == LATE_AFTER_S
    assert_job_matches_wakeup(mview, mlive, since)
    assert [j.id for j in mview._scheduler.get_jobs()] == ["checks"], "one job, not one per check"
    # Answered: the next moment is the 15-minute check.
    since = datetime.now(UTC)
    enter_vitals(qtbot, mview, "120/80 70 98")
    assert mlive.next_check_wakeup() == 15 * 60
    assert_job_matches_wakeup(mview, mlive, since)
    since = datetime.now(UTC)
    step(mview, clock, 15 * 60 - 10)
    assert_job_matches_wakeup(mview, mlive, since)
    since = datetime.now(UTC)
    step(mview, clock, 10)
    assert mlive.next_check_wakeup() == 15 * 60 + LATE_AFTER_S
    assert_job_matches_wakeup(mview, mlive, since)


def test_the_check_job_runs_on_the_gui_thread_and_records_the_due_check(
    qtbot, mview: LiveView, mlive: LiveSession, clock: FakeClock
):
    mlive.add_vitals("120/80 70 98")
    mview._timer.stop()  # only the scheduler may notice the check now
    clock.advance(15 * 60)
    assert of_kind(mlive, "check_due")[-1].data["check"] == BASELINE
    since = datetime.now(UTC)
    mview._scheduler.modify_job("checks", next_run_time=since)
    # Driven by the job firing (a generous fuse, not a time limit).
    qtbot.waitUntil(lambda: len(of_kind(mlive, "check_due")) == 2, timeout=30_000)
    assert of_kind(mlive, "check_due")[-1].data["check"] == C15
    assert mview.check_badge.text().startswith("DUE  Monitoring")
    # It set itself up again for the next moment.
    assert_job_matches_wakeup(mview, mlive, since)


def test_a_rehearsal_at_a_time_scale_fires_in_scaled_real_time(
    qtbot, pservice: SessionService, clock: FakeClock
):
    live = pservice.give_dose(pservice.plan_rehearsal(60.0, clock.now()).id)
    assert live.monitoring is not None and live.monitoring.protocol.id == "sublingual"
    since = datetime.now(UTC)
    view = open_view(qtbot, live)
    try:
        # Five minutes of session time until the baseline turns late: five seconds at ×60.
        assert live.next_check_wakeup() == LATE_AFTER_S == 5 * 60
        assert live.elapsed() == 0.0 and live.record.time_scale == 60.0
        assert_job_matches_wakeup(view, live, since)
    finally:
        view.stop()


def test_stopping_the_view_shuts_the_scheduler_down(qtbot, mlive: LiveSession):
    view = open_view(qtbot, mlive)
    assert view._scheduler.running
    view.stop()
    assert not view._scheduler.running


def test_after_the_last_check_no_job_is_left(
    qtbot, mview: LiveView, mlive: LiveSession, clock: FakeClock
):
    step(mview, clock, 76 * 60 + 15 * 60)  # every check has come and gone
    assert mlive.next_check_wakeup() is None
    assert mview._scheduler.get_jobs() == []
    assert mview.check_badge.text() == "All protocol checks done"
    missed = [e.data["check"] for e in of_kind(mlive, "check_missed")]
    assert missed == [
        BASELINE,
        C15,
        "c30-monitoring",
        "c45-monitoring",
        "c60-monitoring",
        "c75-end-of-session",
    ]
