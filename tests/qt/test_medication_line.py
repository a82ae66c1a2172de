"""The live screen's medication line (Alt+D, issue 15): saved in one line with the running
ketamine total shown, refused entries keep their text and say why (nothing stored), the
ceiling alert shows in the banner and is acknowledged like the others."""

from __future__ import annotations

from helpers.monitoring import ALT, of_kind
from helpers.qt import committed, stream_texts
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from kapsession.session.live import LiveSession
from kapsession.storage.store import Store
from ui.live.screen import LiveView


def _type(qtbot, view: LiveView, line: str) -> None:
    qtbot.keyClick(view.note, Qt.Key.Key_D, ALT)
    assert view.meds.field.isVisible()
    assert QApplication.focusWidget() is view.meds.field
    qtbot.keyClicks(view.meds.field, line)
    qtbot.keyClick(view.meds.field, Qt.Key.Key_Return)


def test_alt_d_saves_a_rescue_medicine_and_gives_the_note_back(
    qtbot, mview: LiveView, mlive: LiveSession, store: Store
) -> None:
    qtbot.keyClicks(mview.note, "half a no")
    assert mview.meds.total.text() == "Ketamine 200 mg"
    _type(qtbot, mview, "ondansetron 4 mg SL lot A12")
    (med,) = of_kind(mlive, "medication")
    assert med.data["drug"] == "ondansetron" and med.data["lot"] == "A12"
    assert med.data["total_mg"] == 200.0
    assert len(committed(store, "medication")) == 1
    assert not mview.meds.field.isVisible()
    assert QApplication.focusWidget() is mview.note and mview.note.text() == "half a no"
    assert not mview.note.hasSelectedText()
    assert any("Medication: ondansetron 4 mg SL, lot A12" in t for t in stream_texts(mview.stream))


def test_a_refused_line_keeps_its_text_and_says_why(
    qtbot, mview: LiveView, mlive: LiveSession
) -> None:
    _type(qtbot, mview, "ondansetron 40 mg SL")
    assert of_kind(mlive, "medication") == []
    assert mview.meds.field.isVisible() and mview.meds.field.text() == "ondansetron 40 mg SL"
    assert "plausible maximum of 16 mg" in mview.status.text()
    qtbot.keyClick(mview.meds.field, Qt.Key.Key_Escape)
    assert not mview.meds.field.isVisible()
    assert QApplication.focusWidget() is mview.note


def test_the_total_and_the_ceiling_alert(qtbot, mview: LiveView, mlive: LiveSession) -> None:
    _type(qtbot, mview, "ketamine 100 mg SL")
    assert mview.meds.total.text() == "Ketamine 300 mg"
    assert mview.alert_banner.text() == "" or "Ketamine" not in mview.alert_banner.text()
    _type(qtbot, mview, "ketamine 50 mg SL")
    assert mview.meds.total.text() == "Ketamine 350 mg"
    (alert,) = of_kind(mlive, "alert")
    assert "above the ceiling of 300 mg" in alert.data["message"]
    assert "Ketamine total 350 mg" in mview.alert_banner.text(), "shown at once, not next tick"
    qtbot.keyClick(mview.note, Qt.Key.Key_A, ALT)
    assert mlive.open_alerts() == []


def test_an_unlisted_medicine_is_saved_with_its_warning(
    qtbot, mview: LiveView, mlive: LiveSession
) -> None:
    _type(qtbot, mview, "hydroxyzine 25 mg PO")
    (med,) = of_kind(mlive, "medication")
    assert med.data["unlisted"] is True
    assert "not in the medicines list" in mview.status.text()
