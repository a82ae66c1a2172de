"""The monitoring dialogs opened from the live screen: Alt+O observations, Alt+Q quick events,
Alt+S snooze and Alt+K skip, and the discharge hints in the end dialog."""

from __future__ import annotations

import pytest
from helpers.monitoring import (
    ALT,
    BASELINE,
    C15,
    CTRL_SHIFT,
    LATE_AFTER_S,
    of_kind,
    step,
)
from helpers.qt import ModalDriver, committed, reactivate, stream_texts
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QLabel, QPushButton

from kapsession.clock import FakeClock
from kapsession.session.live import LiveSession
from kapsession.storage.store import Store
from ui.live.screen import LiveView
from ui.monitor_dialogs import CheckActionDialog, EndDialog, ObservationDialog, QuickEventDialog


def alt(qtbot, view: LiveView, key: Qt.Key) -> None:
    qtbot.keyClick(view.note, key, ALT)


def active(qtbot, dialog: QDialog) -> None:
    """Keys go to the dialog once it is the active window (until then the live screen's
    shortcuts, e.g. its Esc, would take them)."""
    qtbot.waitUntil(dialog.isActiveWindow, timeout=2000)


def answers(live: LiveSession) -> list[tuple[object, object, object]]:
    return [
        (e.data["scale"], e.data["value"], e.data.get("check"))
        for e in of_kind(live, "observation")
    ]


def option_texts(dialog: ObservationDialog) -> list[str]:
    return [b.text() for b in dialog.findChildren(QPushButton) if b.isVisible()]


def button(dialog: CheckActionDialog, text: str) -> QPushButton:
    (found,) = [b for b in dialog.findChild(QDialogButtonBox).buttons() if b.text() == text]
    return found


# --- Alt+O: observations ----------------------------------------------------------------------


def test_alt_o_asks_the_due_checks_scales_one_key_each_and_esc_keeps_what_was_answered(
    qtbot, mview: LiveView, mlive: LiveSession, store: Store, modal: ModalDriver
):
    qtbot.keyClicks(mview.note, "eyes closed, sm")
    seen: list[str] = []

    def observe(dialog: ObservationDialog) -> None:
        active(qtbot, dialog)
        seen.append(dialog.title.text())
        assert option_texts(dialog) == [
            "5    Responds readily to name in normal tone",
            "4    Lethargic response to name in normal tone",
            "3    Responds only to loud or repeated name",
            "2    Responds only after mild prodding or shaking",
            "1    No response to mild prodding or shaking",
            "0    No response to pain",
        ]
        qtbot.keyClick(dialog, Qt.Key.Key_5)
        assert answers(mlive) == [("moaas", 5, BASELINE)], "saved at once"
        assert len(committed(store, "observation")) == 1
        seen.append(dialog.title.text())
        qtbot.keyClick(dialog, Qt.Key.Key_9)  # not on the nausea scale: nothing happens
        assert len(answers(mlive)) == 1
        assert dialog.title.text() == seen[-1]
        qtbot.keyClick(dialog, Qt.Key.Key_1)
        seen.append(dialog.title.text())
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)

    modal.next(observe, ObservationDialog)
    alt(qtbot, mview, Qt.Key.Key_O)
    modal.check()

    assert seen == ["MOAA/S   (1 of 3)", "Nausea   (2 of 3)", "Emotional tone   (3 of 3)"]
    # Every answer given in the dialog belongs to the check it was opened for.
    assert answers(mlive) == [("moaas", 5, BASELINE), ("nausea", 1, BASELINE)]
    texts = stream_texts(mview.stream)
    assert "T+00:00   MOAA/S 5: Responds readily to name in normal tone" in texts
    assert "T+00:00   Nausea 1: Mild" in texts
    assert mview.check_badge.text().startswith("Next check: Monitoring"), "the check is answered"
    reactivate(qtbot, mview, mview.note)
    assert mview.note.text() == "eyes closed, sm"
    assert not mview.note.hasSelectedText()


def test_answering_every_scale_closes_the_dialog(
    qtbot, mview: LiveView, mlive: LiveSession, modal: ModalDriver
):
    def observe(dialog: ObservationDialog) -> None:
        active(qtbot, dialog)
        for key in (Qt.Key.Key_4, Qt.Key.Key_0, Qt.Key.Key_T):
            qtbot.keyClick(dialog, key)

    modal.next(observe, ObservationDialog)
    alt(qtbot, mview, Qt.Key.Key_O)
    modal.check()
    assert not modal.seen[0].isVisible()
    assert answers(mlive) == [
        ("moaas", 4, BASELINE),
        ("nausea", 0, BASELINE),
        ("emotional_tone", "tearful", BASELINE),
    ]


def test_the_15_minute_check_asks_its_own_scales(
    qtbot, mview: LiveView, mlive: LiveSession, clock: FakeClock, modal: ModalDriver
):
    mlive.add_vitals("120/80 70 98")
    step(mview, clock, 15 * 60)

    def observe(dialog: ObservationDialog) -> None:
        active(qtbot, dialog)
        assert dialog.title.text() == "MOAA/S   (1 of 3)"
        qtbot.keyClick(dialog, Qt.Key.Key_3)
        assert dialog.title.text() == "Dissociation   (2 of 3)"
        qtbot.mouseClick(
            next(b for b in dialog.findChildren(QPushButton) if b.text().endswith("Moderate")),
            Qt.MouseButton.LeftButton,
        )
        assert dialog.title.text() == "Nausea   (3 of 3)"
        qtbot.keyClick(dialog, Qt.Key.Key_0)

    modal.next(observe, ObservationDialog)
    alt(qtbot, mview, Qt.Key.Key_O)
    modal.check()
    assert answers(mlive) == [("moaas", 3, C15), ("dissociation", 2, C15), ("nausea", 0, C15)]


def test_with_no_check_due_every_scale_is_offered_and_answers_belong_to_no_check(
    qtbot, mview: LiveView, mlive: LiveSession, modal: ModalDriver
):
    mlive.skip_check(BASELINE, "client arrived late")
    titles: list[str] = []

    def observe(dialog: ObservationDialog) -> None:
        active(qtbot, dialog)
        titles.append(dialog.title.text())
        qtbot.keyClick(dialog, Qt.Key.Key_5)  # MOAA/S 5
        titles.append(dialog.title.text())
        assert "letters give agitation" in dialog.note.text()
        qtbot.keyClick(dialog, Qt.Key.Key_R)  # RASS +1 restless
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)

    modal.next(observe, ObservationDialog)
    alt(qtbot, mview, Qt.Key.Key_O)
    modal.check()
    assert titles == ["MOAA/S   (1 of 5)", "RASS   (2 of 5)"]
    assert answers(mlive) == [("moaas", 5, None), ("rass", 1, None)]


def test_a_failed_observation_save_says_so_and_stays_on_the_scale(
    qtbot, mview: LiveView, mlive: LiveSession, store: Store, monkeypatch, modal: ModalDriver
):
    import sqlite3

    def full(*_args: object, **_kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    messages: list[str] = []

    def observe(dialog: ObservationDialog) -> None:
        active(qtbot, dialog)
        monkeypatch.setattr(store, "append", full)
        qtbot.keyClick(dialog, Qt.Key.Key_5)
        messages.append(dialog.error.text())
        assert dialog.title.text() == "MOAA/S   (1 of 3)", "not moved on: nothing was saved"
        monkeypatch.undo()
        qtbot.keyClick(dialog, Qt.Key.Key_5)
        assert dialog.error.text() == ""
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)

    modal.next(observe, ObservationDialog)
    alt(qtbot, mview, Qt.Key.Key_O)
    modal.check()
    assert messages == ["Not saved: the database could not be written; try again."]
    assert answers(mlive) == [("moaas", 5, BASELINE)]


# --- Alt+Q: quick events ----------------------------------------------------------------------


def test_alt_q_then_a_key_records_a_quick_event(
    qtbot, mview: LiveView, mlive: LiveSession, store: Store, clock: FakeClock, modal: ModalDriver
):
    clock.advance(25 * 60)
    mview._on_tick()

    def quick(dialog: QuickEventDialog) -> None:
        active(qtbot, dialog)
        qtbot.keyClick(dialog, Qt.Key.Key_V)

    modal.next(quick, QuickEventDialog)
    alt(qtbot, mview, Qt.Key.Key_Q)
    modal.check()
    (vomit,) = of_kind(mlive, "vomiting")
    assert (vomit.data, vomit.t) == ({}, 1500.0)
    assert len(committed(store, "vomiting")) == 1
    assert "T+25:00   Vomiting" in stream_texts(mview.stream)
    assert not modal.seen[0].isVisible()
    reactivate(qtbot, mview, mview.note)


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        (Qt.Key.Key_E, "emergence_reaction"),
        (Qt.Key.Key_T, "touch_offered"),
        (Qt.Key.Key_A, "touch_accepted"),
        (Qt.Key.Key_S, "client_spoke"),
    ],
)
def test_each_quick_event_has_its_key(
    qtbot, mview: LiveView, mlive: LiveSession, modal: ModalDriver, key: Qt.Key, kind: str
):
    def press(dialog: QuickEventDialog) -> None:
        active(qtbot, dialog)
        qtbot.keyClick(dialog, key)

    modal.next(press, QuickEventDialog)
    alt(qtbot, mview, Qt.Key.Key_Q)
    modal.check()
    assert [e.kind for e in mlive.events()][-1] == kind


def test_a_booster_dose_needs_a_dose_then_is_stored_with_route_and_lot(
    qtbot, mview: LiveView, mlive: LiveSession, store: Store, modal: ModalDriver
):
    refused: list[str] = []

    def booster(dialog: QuickEventDialog) -> None:
        active(qtbot, dialog)
        assert not dialog.booster.isVisible()
        qtbot.keyClick(dialog, Qt.Key.Key_B)
        assert dialog.booster.isVisible()
        assert dialog.mg.text() == "enter dose", "never pre-filled with a plausible dose"
        assert dialog.route.currentText() == "sublingual", "the session's route"
        save = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Save booster")
        qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
        refused.append(dialog.error.text())
        assert dialog.isVisible()
        assert of_kind(mlive, "booster_dose") == []
        # Keys now go to the form, not to the quick-event list.
        qtbot.keyClick(dialog, Qt.Key.Key_V)
        assert of_kind(mlive, "vomiting") == []
        dialog.mg.setValue(50)
        dialog.lot.setText("  LOT-2291 ")
        qtbot.mouseClick(save, Qt.MouseButton.LeftButton)

    modal.next(booster, QuickEventDialog)
    alt(qtbot, mview, Qt.Key.Key_Q)
    modal.check()
    assert refused == ["Not saved: Booster dose must be more than 0 and at most 1000 mg."]
    (dose,) = of_kind(mlive, "booster_dose")
    # total_mg: the ketamine total after it, the 200 mg dose included (issue 15)
    assert dose.data == {"mg": 50.0, "route": "sublingual", "lot": "LOT-2291", "total_mg": 250.0}
    assert len(committed(store, "booster_dose")) == 1
    assert "T+00:00   Booster dose: 50 mg sublingual, lot LOT-2291" in stream_texts(mview.stream)


def test_a_booster_dose_can_be_typed_from_the_keyboard(
    qtbot, mview: LiveView, mlive: LiveSession, modal: ModalDriver
):
    def booster(dialog: QuickEventDialog) -> None:
        active(qtbot, dialog)
        qtbot.keyClick(dialog, Qt.Key.Key_B)
        qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.mg)
        qtbot.keyClicks(dialog.mg, "25")
        qtbot.keyClick(dialog.mg, Qt.Key.Key_Return)
        assert dialog.error.text() == ""
        assert not dialog.isVisible()

    modal.next(booster, QuickEventDialog)
    alt(qtbot, mview, Qt.Key.Key_Q)
    modal.check()
    assert [e.data for e in of_kind(mlive, "booster_dose")] == [
        {"mg": 25.0, "route": "sublingual", "total_mg": 225.0}  # the total after it (issue 15)
    ]


def test_escape_closes_the_quick_events_without_recording(
    qtbot, mview: LiveView, mlive: LiveSession, modal: ModalDriver
):
    before = len(mlive.events())

    def escape(dialog: QuickEventDialog) -> None:
        active(qtbot, dialog)
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)

    modal.next(escape, QuickEventDialog)
    alt(qtbot, mview, Qt.Key.Key_Q)
    modal.check()
    assert len(mlive.events()) == before


# --- Alt+S snooze, Alt+K skip -----------------------------------------------------------------


def test_alt_s_snoozes_the_due_check_with_a_reason(
    qtbot, mview: LiveView, mlive: LiveSession, store: Store, clock: FakeClock, modal: ModalDriver
):
    clock.advance(60)
    mview._on_tick()
    refused: list[str] = []

    def snooze(dialog: CheckActionDialog) -> None:
        active(qtbot, dialog)
        assert dialog.windowTitle() == "Snooze check"
        assert dialog.minutes.isVisible()
        button(dialog, "Snooze").click()
        refused.append(dialog.error.text())
        assert dialog.isVisible()
        assert of_kind(mlive, "check_snoozed") == []
        dialog.minutes.setValue(10)
        dialog.reason_edit.setText("client speaking, do not interrupt")
        button(dialog, "Snooze").click()

    modal.next(snooze, CheckActionDialog)
    alt(qtbot, mview, Qt.Key.Key_S)
    modal.check()
    assert refused == ["Snoozing a check needs a reason."]
    (snoozed,) = of_kind(mlive, "check_snoozed")
    assert snoozed.data == {"check": BASELINE, "minutes": 10}
    assert snoozed.reason == "client speaking, do not interrupt"
    assert snoozed.t == 60.0
    assert len(committed(store, "check_snoozed")) == 1
    assert "T+01:00   Check snoozed 10 min: client speaking, do not interrupt" in stream_texts(
        mview.stream
    )
    # The badge counts down to the new time instead of saying "due".
    assert mview.check_badge.text() == (
        "Next check: Baseline (vitals, MOAA/S, nausea, emotional tone) at T+11:00 · in 10:00"
    )
    assert mview.check_badge.property("role") == "muted"
    # At the new time it is due again, and late five minutes after that (not after the plan).
    step(mview, clock, 10 * 60)
    assert mview.check_badge.text().startswith("DUE  Baseline")
    assert of_kind(mlive, "check_late") == []
    step(mview, clock, LATE_AFTER_S)
    assert mview.check_badge.text().startswith("LATE  Baseline")
    (late,) = of_kind(mlive, "check_late")
    assert late.data["snoozed_to_t"] == 660.0


def test_alt_k_skips_the_due_check_with_a_reason(
    qtbot, mview: LiveView, mlive: LiveSession, store: Store, clock: FakeClock, modal: ModalDriver
):
    refused: list[str] = []

    def skip(dialog: CheckActionDialog) -> None:
        active(qtbot, dialog)
        assert dialog.windowTitle() == "Skip check"
        assert not dialog.minutes.isVisible(), "a skip has no minutes"
        dialog.reason_edit.setText("   ")
        button(dialog, "Skip").click()
        refused.append(dialog.error.text())
        assert of_kind(mlive, "check_skipped") == []
        dialog.reason_edit.setText("client asleep, breathing calmly")
        button(dialog, "Skip").click()

    modal.next(skip, CheckActionDialog)
    alt(qtbot, mview, Qt.Key.Key_K)
    modal.check()
    assert refused == ["Skipping a check needs a reason."]
    (skipped,) = of_kind(mlive, "check_skipped")
    assert skipped.data == {"check": BASELINE}
    assert skipped.reason == "client asleep, breathing calmly"
    assert len(committed(store, "check_skipped")) == 1
    assert mview.check_badge.text().startswith("Next check: Monitoring")
    # Skipped: it never turns late or missed.
    step(mview, clock, 14 * 60)
    assert of_kind(mlive, "check_late") == [] and of_kind(mlive, "check_missed") == []
    reactivate(qtbot, mview, mview.note)


def test_the_reason_is_typed_straight_away_and_enter_saves(
    qtbot, mview: LiveView, mlive: LiveSession, modal: ModalDriver
):
    def skip(dialog: CheckActionDialog) -> None:
        active(qtbot, dialog)
        qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.reason_edit)
        qtbot.keyClicks(dialog.reason_edit, "client resting")
        qtbot.keyClick(dialog.reason_edit, Qt.Key.Key_Return)

    modal.next(skip, CheckActionDialog)
    alt(qtbot, mview, Qt.Key.Key_K)
    modal.check()
    assert [e.reason for e in of_kind(mlive, "check_skipped")] == ["client resting"]


def test_cancelling_a_snooze_records_nothing(
    qtbot, mview: LiveView, mlive: LiveSession, modal: ModalDriver
):
    def cancel(dialog: CheckActionDialog) -> None:
        active(qtbot, dialog)
        dialog.reason_edit.setText("changed my mind")
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)

    modal.next(cancel, CheckActionDialog)
    alt(qtbot, mview, Qt.Key.Key_S)
    modal.check()
    assert of_kind(mlive, "check_snoozed") == []
    assert mview.check_badge.text().startswith("DUE  Baseline")


@pytest.mark.parametrize("key", [Qt.Key.Key_S, Qt.Key.Key_K])
def test_snooze_or_skip_with_no_check_due_opens_nothing(
    qtbot, mview: LiveView, mlive: LiveSession, key: Qt.Key
):
    mlive.add_vitals("120/80 70 98")
    before = len(mlive.events())
    alt(qtbot, mview, key)
    assert QApplication.activeModalWidget() is None
    assert mview.status.text() == "No check is due right now."
    assert len(mlive.events()) == before
    assert QApplication.focusWidget() is mview.note


# --- the discharge hints in the end dialog ----------------------------------------------------


def dialog_texts(dialog: EndDialog) -> list[str]:
    return [label.text() for label in dialog.findChildren(QLabel)]


def test_the_end_dialog_suggests_scores_from_the_recorded_vitals(
    qtbot, mview: LiveView, mlive: LiveSession, clock: FakeClock, modal: ModalDriver
):
    mlive.add_vitals("120/80 70 98")
    clock.advance(70 * 60)
    mlive.add_vitals("150/85 80 91")
    texts: list[list[str]] = []

    def look(dialog: EndDialog) -> None:
        texts.append(dialog_texts(dialog))
        # The therapist still chooses every score.
        assert all(group.checkedId() == -1 for group in dialog.groups.values())
        dialog.reject()

    modal.next(look, EndDialog)
    qtbot.keyClick(mview.note, Qt.Key.Key_E, CTRL_SHIFT)
    modal.check()
    assert "Latest systolic 150 vs baseline 120 (+25 %): suggests 1" in texts[0]
    assert "Latest SpO2 91 %: on room air suggests 1" in texts[0]


def test_the_end_dialog_has_no_hints_without_vitals(qtbot, mview: LiveView, modal: ModalDriver):
    texts: list[list[str]] = []

    def look(dialog: EndDialog) -> None:
        texts.append(dialog_texts(dialog))
        dialog.reject()

    modal.next(look, EndDialog)
    qtbot.keyClick(mview.note, Qt.Key.Key_E, CTRL_SHIFT)
    modal.check()
    assert not any(t.startswith("Latest") for t in texts[0])


def test_ending_with_the_protocol_stops_the_checks(
    qtbot, mview: LiveView, mlive: LiveSession, clock: FakeClock, modal: ModalDriver
):
    clock.advance(80 * 60)
    mview._on_tick()

    def end(dialog: EndDialog) -> None:
        dialog.reason_edit.setText("client left with partner")
        dialog.end_button.click()

    modal.next(end, EndDialog)
    with qtbot.waitSignal(mview.ended, timeout=1000):
        qtbot.keyClick(mview.note, Qt.Key.Key_E, CTRL_SHIFT)
    modal.check()
    assert mview._scheduler.get_jobs() == []
    count = len(mlive.events())
    step(mview, clock, 30 * 60)  # a late wakeup writes nothing on a closed timeline
    assert len(mlive.events()) == count
    assert mlive.next_check_wakeup() is None
