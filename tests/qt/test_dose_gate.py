"""The start gate in the dose question (issue 15): unmet items are listed, going ahead needs a
reason which is recorded with the dose, No keeps the session planned, the dose button stays;
and the reason dialog refuses an empty reason in words."""

from __future__ import annotations

from pathlib import Path

import pytest
import shiboken6
from helpers.qt import show_active
from PySide6.QtCore import Qt

from kapsession.integration.preparation import Preparation, Screening, save_preparation
from kapsession.session.live import LiveSession, SessionPlan, SessionService
from kapsession.storage.store import Store
from ui.home.dose_gate import ReasonDialog
from ui.main_window import MainWindow


class Reasons:
    def __init__(self, reason: str | None) -> None:
        self.reason = reason
        self.asked: list[tuple[str, str]] = []

    def __call__(self, title: str, text: str) -> str | None:
        self.asked.append((title, text))
        return self.reason


@pytest.fixture
def planned(pservice: SessionService, store: Store) -> int:
    record = pservice.plan(
        SessionPlan("C-090", "intramuscular", "intramuscular", 60.0, 60, "to rest")
    )
    now = pservice.clock.now()
    screening = Screening(
        True, "Dr. Synthetic", True, True, True, True, weight_kg=70.0,
        last_food="2000-01-01 06:00", last_clear_liquid="2000-01-01 06:00",
        predose_bp="172/96",
    )  # fmt: skip
    save_preparation(store, record.id, Preparation(screening=screening), now, "UTC", "t")
    return record.id


def _window(qtbot, pservice: SessionService, tmp_path: Path, reasons: Reasons) -> MainWindow:
    def no_rehearsal(_scale: float) -> LiveSession:
        raise AssertionError("no rehearsal here")

    w = MainWindow(
        pservice,
        no_rehearsal,
        data_dir=tmp_path,
        confirm=lambda _t, _x: True,
        ask_reason=reasons,
    )
    show_active(qtbot, w)
    return w


@pytest.mark.parametrize("reason", [None, "prescriber reviewed the BP and agreed"])
def test_unmet_items_are_asked_with_a_reason_and_recorded(
    qtbot,
    pservice: SessionService,
    store: Store,
    planned: int,
    tmp_path: Path,
    settings_sandbox: None,
    reason: str | None,
) -> None:
    reasons = Reasons(reason)
    window = _window(qtbot, pservice, tmp_path, reasons)
    try:
        window.home.table.selectRow(0)
        qtbot.mouseClick(window.home.start_selected, Qt.MouseButton.LeftButton)
        ((title, text),) = reasons.asked
        assert title == "Give dose now?"
        assert "172/96 mmHg is above the hold threshold 160/100" in text
        if reason is None:
            assert store.session(planned).state == "planned"
            assert window.home.start_selected.isVisible(), "the dose button is never hidden"
            return
        dose = next(e for e in store.events(planned) if e.kind == "dose")
        assert dose.data["start_gate"]["reason"] == reason
        assert any("172/96" in item for item in dose.data["start_gate"]["unmet"])
    finally:
        if shiboken6.isValid(window):
            window.close()


def test_the_reason_dialog_says_a_reason_is_needed(qtbot) -> None:
    dialog = ReasonDialog("Give dose now?", "Start the dose clock?\n\nUnmet: <b>x</b>")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.give.click()
    assert dialog.isVisible() and "needs a reason" in dialog.message.text()
    dialog.reason.setText("agreed with the prescriber")
    dialog.give.click()
    assert dialog.result() == ReasonDialog.DialogCode.Accepted


def test_the_preparation_records_weight_fasting_and_the_pre_dose_bp(
    qtbot, service: SessionService, store: Store
) -> None:
    from kapsession.integration.preparation import current_preparation
    from ui.home.preparation_dialog import PreparationDialog

    record = service.plan(SessionPlan("C-091", "KAP sublingual", "sublingual", 200.0, 75, "x"))
    dialog = PreparationDialog(store, record.id, service.clock, service.tz, service.author)
    qtbot.addWidget(dialog)
    edits = dialog.gate_edits
    edits["weight_kg"].setText("heavy")
    assert not dialog.save()
    assert "Weight must be a number of kg" in dialog.status.text()
    assert current_preparation(store, record.id) is None, "nothing stored half-valid"
    edits["weight_kg"].setText("72,5")
    edits["last_food"].setText("2026-03-02 03:00")
    edits["last_clear_liquid"].setText("2026-03-02 07:30")
    edits["predose_bp"].setText(" 132 / 84 ")
    assert dialog.save()
    found = current_preparation(store, record.id)
    assert found is not None
    s = found[0].screening
    assert (s.weight_kg, s.last_food, s.last_clear_liquid, s.predose_bp) == (
        72.5,
        "2026-03-02 03:00",
        "2026-03-02 07:30",
        "132/84",
    )
    # Reopened, the dialog shows what was saved.
    again = PreparationDialog(store, record.id, service.clock, service.tz, service.author)
    qtbot.addWidget(again)
    assert again.gate_edits["weight_kg"].text() == "72.5"
    assert again.gate_edits["predose_bp"].text() == "132/84"
