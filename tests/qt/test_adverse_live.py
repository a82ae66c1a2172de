"""Adverse events on the live screen (issue 15): an SpO2 alert leaves an offer under the banner
without taking the note's focus; Alt+X opens the dialog pre-filled from it with the suggested
tier and its reason; a refused entry stays in the dialog; the saved event answers the offer."""

from __future__ import annotations

import json

from helpers.monitoring import ALT, of_kind, step
from helpers.qt import ModalDriver, committed, reactivate, stream_texts
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from kapsession.clock import FakeClock
from kapsession.session.live import LiveSession
from kapsession.storage.store import Store
from ui.live.adverse_event import AdverseEventDialog
from ui.live.screen import LiveView


def test_an_spo2_alert_is_recorded_as_a_minor_adverse_event(
    qtbot, mview: LiveView, mlive: LiveSession, store: Store, clock: FakeClock, modal: ModalDriver
) -> None:
    qtbot.keyClick(mview.note, Qt.Key.Key_V, ALT)
    qtbot.keyClicks(mview.vitals_edit, "120/80 70 98 14")
    qtbot.keyClick(mview.vitals_edit, Qt.Key.Key_Return)
    assert not mview.adverse_offer.isVisible()
    step(mview, clock, 20 * 60)
    qtbot.keyClicks(mview.note, "breathing shallow")
    qtbot.keyClick(mview.note, Qt.Key.Key_V, ALT)
    qtbot.keyClicks(mview.vitals_edit, "118/78 72 86 12")
    qtbot.keyClick(mview.vitals_edit, Qt.Key.Key_Return)
    (alert,) = of_kind(mlive, "alert")
    # The offer waits under the banner; the half-typed note keeps the focus.
    assert mview.adverse_offer.isVisible()
    assert mview.adverse_offer.text().startswith(
        "Record as an adverse event? Alt+X: Oxygen desaturation (86), suggested minor"
    )
    assert QApplication.focusWidget() is mview.note
    assert mview.note.text() == "breathing shallow"

    def record(dialog: AdverseEventDialog) -> None:
        assert dialog.what.text() == "Oxygen desaturation (86)"
        assert dialog.tier.currentText() == "minor"
        assert dialog.suggestion.text().startswith("Suggested: minor. SpO2 86 %")
        assert dialog.link.currentData() == alert.seq
        dialog.tier.setCurrentText("severe?")  # not a tier: the combo keeps a real one
        dialog.what.clear()
        qtbot.keyClick(dialog.what, Qt.Key.Key_Return)  # refused: the dialog stays
        assert "event is missing" in dialog.error.text()
        assert dialog.isVisible() and not committed(store, "adverse_event")
        qtbot.keyClicks(dialog.what, "Oxygen desaturation (86)")
        dialog.intervention.setCurrentText("oxygen")
        qtbot.keyClicks(dialog.outcome, "back to 96 % in 40 s")
        qtbot.keyClick(dialog.what, Qt.Key.Key_Return)

    modal.next(record, AdverseEventDialog)
    qtbot.keyClick(mview.note, Qt.Key.Key_X, ALT)
    modal.check()
    (event,) = committed(store, "adverse_event")
    assert json.loads(str(event["data"])) == {
        "event": "Oxygen desaturation (86)",
        "tier": "minor",
        "intervention": "oxygen",
        "outcome": "back to 96 % in 40 s",
        "linked_seq": alert.seq,
    }
    assert any(
        "Adverse event: Oxygen desaturation (86) - minor" in t for t in stream_texts(mview.stream)
    )
    assert not mview.adverse_offer.isVisible(), "answered"
    reactivate(qtbot, mview, mview.note)
    assert mview.note.text() == "breathing shallow"


def test_vomiting_offers_a_minimal_event_until_it_is_too_old(
    qtbot, mview: LiveView, mlive: LiveSession, clock: FakeClock
) -> None:
    mlive.add_vitals("120/80 70 98 14")
    step(mview, clock, 5 * 60)
    mlive.quick_event("vomiting")
    mview._refresh()
    assert mview.adverse_offer.text() == (
        "Record as an adverse event? Alt+X: Vomiting, suggested minimal "
        "(Vomiting or retching is a minimal-risk descriptor (World SIVA))."
    )
    step(mview, clock, 15 * 60)
    assert mview.adverse_offer.isVisible(), "15 minutes: still offered"
    step(mview, clock, 2)
    assert not mview.adverse_offer.isVisible(), "older than 15 minutes: let go"
    assert QApplication.focusWidget() is mview.note


def test_the_ketamine_ceiling_alert_offers_no_adverse_event_and_hides_none(
    qtbot, mview: LiveView, mlive: LiveSession, clock: FakeClock
) -> None:
    """A vitals alert, vomiting or an emergence reaction offers one; the ceiling's alert (a
    total past the protocol's ceiling) is no sedation event: it offered "Vital sign (350)" with
    an SpO2 suggestion (seen in the screenshots), and would have hidden an earlier offer."""
    mlive.add_vitals("120/80 70 98 14")
    step(mview, clock, 60)
    (ceiling,) = [e for e in mlive.add_medication("ketamine 150 mg SL") if e.kind == "alert"]
    assert ceiling.data["field"] == "ketamine_total_mg"
    mview._refresh()
    assert not mview.adverse_offer.isVisible()
    step(mview, clock, 60)
    mlive.add_vitals("118/78 72 86 12")  # SpO2 86: an alert that offers one
    step(mview, clock, 60)
    mlive.add_medication("ketamine 20 mg SL")  # past the ceiling already: no new alert
    mlive.quick_event("client_spoke")
    mview._refresh()
    assert mview.adverse_offer.text().startswith(
        "Record as an adverse event? Alt+X: Oxygen desaturation (86)"
    )


def test_the_review_header_shows_ready_to_leave_beside_the_recorded_time(
    qtbot, mlive: LiveSession, store: Store, clock: FakeClock
) -> None:
    from PySide6.QtWidgets import QLineEdit

    from kapsession.integration.review import build_review
    from ui.review.header import ReviewHeader

    mlive.add_vitals("120/80 70 98 14")
    mlive.add_observation("moaas", 5)
    clock.advance(15 * 60)
    mlive.add_vitals("121/80 70 98 14")
    clock.advance(60)
    scores = dict.fromkeys(("activity", "respiration", "circulation", "consciousness", "spo2"), 2)
    mlive.end(discharge={"scores": scores, "ride_home": True, "ready_at_t": 16 * 60.0})
    header = ReviewHeader(QLineEdit())
    qtbot.addWidget(header)
    header.show_review(build_review(store, mlive.record.id))
    assert header.ready.text() == (
        "Ready to leave by the entries: T+15:00 (criteria held from T+00:00 for 15 min) · "
        "recorded: T+16:00"
    )
    assert header.ready.isVisibleTo(header)
