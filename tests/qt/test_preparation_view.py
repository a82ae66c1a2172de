"""The preparation dialog on real widgets and a real SQLite file: type, Ctrl+S, reopen."""

from __future__ import annotations

import logging

import pytest
from helpers.answers import Answers
from helpers.faults import disk_full
from helpers.qt import ModalDriver, committed, show_active, type_into
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from kapsession.clock import FakeClock
from kapsession.integration.preparation import (
    GROUNDING,
    Preparation,
    Screening,
    current_preparation,
    preparation_history,
    save_preparation,
)
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.store import Store
from ui.home.preparation_dialog import GroundingPanel, PreparationDialog
from ui.home.record_dialog import UNSAVED

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def planned(service: SessionService) -> int:
    plan = SessionPlan("C-031", "KAP sublingual", "sublingual", 200.0, 75, "to rest")
    return service.plan(plan).id


def open_dialog(
    qtbot, service: SessionService, session_id: int, confirm: Answers | None = None
) -> PreparationDialog:
    dialog = PreparationDialog(
        service.store,
        session_id,
        service.clock,
        service.tz,
        service.author,
        confirm=confirm or Answers(True),
    )
    qtbot.addWidget(dialog)
    show_active(qtbot, dialog)
    return dialog


def test_typed_preparation_is_saved_with_ctrl_s_and_shown_again_on_reopening(
    qtbot, service: SessionService, store: Store, planned: int
):
    dialog = open_dialog(qtbot, service, planned)
    assert dialog.intention.toPlainText() == "to rest", "the plan's intention is the start"
    assert QApplication.focusWidget() is dialog.intention
    assert dialog.version.text() == "Not saved yet"
    dialog.intention.selectAll()
    type_into(qtbot, dialog.intention, "To let the grief move")
    type_into(qtbot, dialog.hopes, "Some softness")
    type_into(qtbot, dialog.concerns, "Will I feel sick?")
    type_into(qtbot, dialog.prescriber, "Dr. Synthetic, 555-0100")
    for name in ("medical_oversight", "consent_signed"):
        dialog.screening[name].setFocus()
        qtbot.keyClick(dialog.screening[name], Qt.Key.Key_Space)
    qtbot.keyClick(dialog.setting["eyeshades"], Qt.Key.Key_Space)
    type_into(qtbot, dialog.music, "no vocals")
    assert "no ride home arranged" in dialog.open_items.text()
    assert "medical oversight" not in dialog.open_items.text()
    assert dialog.edited()

    qtbot.keyClick(dialog.music, Qt.Key.Key_S, CTRL)

    assert dialog.status.text().startswith("Saved ")
    assert dialog.status.property("role") == "saved"
    assert dialog.version.text().startswith("Version 1 · ")
    assert not dialog.edited()
    (row,) = committed(store, "preparation")
    assert row["session_id"] == planned and row["amends"] is None
    assert store.session(planned).intention == "To let the grief move"
    dialog.reject()  # nothing unsaved: closes without a question
    assert not dialog.isVisible()

    again = open_dialog(qtbot, service, planned)
    assert again.intention.toPlainText() == "To let the grief move"
    assert again.hopes.toPlainText() == "Some softness"
    assert again.concerns.toPlainText() == "Will I feel sick?"
    assert again.prescriber.text() == "Dr. Synthetic, 555-0100"
    assert again.screening["medical_oversight"].isChecked()
    assert again.screening["consent_signed"].isChecked()
    assert not again.screening["ride_home"].isChecked()
    assert again.setting["eyeshades"].isChecked()
    assert again.music.toPlainText() == "no vocals"
    assert again.status.text() == "", "opening is not an edit"
    qtbot.keyClick(again.patterns, Qt.Key.Key_S, CTRL)
    assert again.status.text() == "Nothing changed since version 1; not saved again."
    assert len(committed(store, "preparation")) == 1
    type_into(qtbot, again.patterns, "bracing")
    assert again.status.text() == UNSAVED, "no stale message beside unsaved words"
    qtbot.keyClick(again.patterns, Qt.Key.Key_S, CTRL)
    assert again.status.text().startswith("Saved ")
    history = preparation_history(store, planned)
    assert [e.amends for _, e in history] == [None, history[0][1].seq]
    assert again.version.text().startswith("Version 2 · ")


def test_a_failed_write_keeps_every_word_and_says_why_then_a_retry_saves_once(
    qtbot, service: SessionService, store: Store, planned: int, monkeypatch, caplog
):
    caplog.set_level(logging.INFO)
    dialog = open_dialog(qtbot, service, planned)
    type_into(qtbot, dialog.hopes, "to feel the ocean")
    monkeypatch.setattr(store, "append", disk_full)

    qtbot.keyClick(dialog.hopes, Qt.Key.Key_S, CTRL)

    assert dialog.status.text().startswith("Not saved: the database could not be written")
    assert "press Ctrl+S to try again" in dialog.status.text()
    assert dialog.status.property("role") == "status"
    assert dialog.hopes.toPlainText() == "to feel the ocean"
    assert dialog.version.text() == "Not saved yet"
    assert committed(store, "preparation") == []
    assert "OperationalError" in caplog.text and "ocean" not in caplog.text

    monkeypatch.undo()
    qtbot.keyClick(dialog.hopes, Qt.Key.Key_S, CTRL)
    assert dialog.status.text().startswith("Saved ")
    assert len(committed(store, "preparation")) == 1


def test_invalid_text_is_refused_with_the_field_named(
    qtbot, service: SessionService, store: Store, planned: int
):
    dialog = open_dialog(qtbot, service, planned)
    dialog.prescriber.setText("Dr.\x07Bell")
    qtbot.keyClick(dialog.intention, Qt.Key.Key_S, CTRL)
    assert dialog.status.text() == (
        "Not saved: Prescriber must be one line without control characters."
    )
    assert committed(store, "preparation") == []


def test_esc_with_unsaved_edits_asks_first_and_no_keeps_the_dialog_open(
    qtbot, service: SessionService, store: Store, planned: int
):
    answers = Answers(False)
    dialog = open_dialog(qtbot, service, planned, answers)
    type_into(qtbot, dialog.concerns, "nausea")

    qtbot.keyClick(dialog.concerns, Qt.Key.Key_Escape)

    assert [title for title, _ in answers.asked] == ["Discard changes?"]
    assert dialog.isVisible() and dialog.concerns.toPlainText() == "nausea"
    answers.answer = True
    qtbot.keyClick(dialog.concerns, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert committed(store, "preparation") == []


def test_esc_without_edits_closes_at_once(qtbot, service: SessionService, planned: int):
    answers = Answers(False)
    dialog = open_dialog(qtbot, service, planned, answers)
    qtbot.keyClick(dialog.intention, Qt.Key.Key_Escape)
    assert answers.asked == [] and not dialog.isVisible()


def test_the_grounding_script_steps_with_the_keys_and_done_ticks_the_checklist(
    qtbot, service: SessionService, planned: int, modal: ModalDriver
):
    dialog = open_dialog(qtbot, service, planned)

    def read(panel) -> None:
        assert isinstance(panel, GroundingPanel)
        assert panel.exercise == GROUNDING[0]
        assert GROUNDING[0].steps[0].split(".")[0] in panel.script.text()
        qtbot.keyClick(panel, Qt.Key.Key_Space)
        qtbot.keyClick(panel, Qt.Key.Key_Right)
        qtbot.keyClick(panel, Qt.Key.Key_Return)  # plain Enter reads on, never "done"
        qtbot.keyClick(panel, Qt.Key.Key_Left)
        assert panel.step == 2 and panel.isVisible()
        qtbot.keyClick(panel, Qt.Key.Key_Return, CTRL)

    modal.next(read)
    qtbot.keyClick(dialog.intention, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
    modal.check()
    assert dialog.grounding_done.isChecked()
    assert dialog.edited()


def test_after_the_dose_a_new_version_carries_the_time_since_dose(
    qtbot, service: SessionService, store: Store, clock: FakeClock, planned: int
):
    live = service.give_dose(planned)
    clock.advance(75)
    dialog = PreparationDialog(
        store, planned, clock, service.tz, service.author, elapsed=live.elapsed
    )
    qtbot.addWidget(dialog)
    dialog.intention.setPlainText("said again at the dose")
    assert dialog.save()
    prep, event = current_preparation(store, planned) or (None, None)
    assert prep is not None and event is not None
    assert event.t == pytest.approx(75.0)
    assert store.session(planned).intention == "to rest", "the dosed plan is on the record"
    live.close()


# --- from the home screen --------------------------------------------------------------------


def test_home_prepare_opens_for_the_selected_planned_session_and_the_dose_question_warns(
    qtbot, make_window, store: Store, planned: int, modal: ModalDriver
):
    answers = Answers(False)
    window = make_window(confirm=answers)
    home = window.home
    home.table.selectRow(0)
    assert home.prepare_button.isEnabled() and not home.worksheet_button.isEnabled()

    def prepare(dialog) -> None:
        assert isinstance(dialog, PreparationDialog) and dialog.session_id == planned
        qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)  # shortcuts need it
        for name in ("medical_oversight", "contraindications_confirmed", "consent_signed"):
            dialog.screening[name].setChecked(True)
        dialog.prescriber.setText("Dr. Synthetic")
        qtbot.keyClick(dialog.intention, Qt.Key.Key_S, CTRL)
        assert dialog.status.text().startswith("Saved ")
        qtbot.keyClick(dialog.intention, Qt.Key.Key_Escape)

    modal.next(prepare)
    qtbot.keyClick(home.table, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    modal.check()
    assert len(preparation_history(store, planned)) == 1
    assert answers.asked == [], "a saved preparation closes without a question"

    home.table.selectRow(0)
    qtbot.mouseClick(home.start_selected, Qt.MouseButton.LeftButton)

    (title, text) = answers.asked[-1]
    assert title == "Give dose now?"
    assert "Unmet before the dose: no ride home arranged; fasting not confirmed." in text
    assert "Prepare… (Alt+P)" in text
    assert store.session(planned).state == "planned", "declined: nothing started"


def test_the_dose_question_for_a_fully_prepared_session_has_no_warning(
    qtbot, make_window, service: SessionService, store: Store, planned: int
):
    screening = Screening(True, "Dr. Synthetic", True, True, True, True)
    prep = Preparation(intention="to rest", screening=screening)
    save_preparation(store, planned, prep, service.clock.now(), service.tz, service.author)
    answers = Answers(False)
    window = make_window(confirm=answers)
    window.home.table.selectRow(0)
    qtbot.mouseClick(window.home.start_selected, Qt.MouseButton.LeftButton)
    (_title, text) = answers.asked[-1]
    assert "Unmet" not in text


def test_give_dose_now_from_the_form_says_no_preparation_was_recorded(
    qtbot, make_window, store: Store
):
    answers = Answers(False)
    window = make_window(confirm=answers)
    window.home.client_code.setEditText("C-035")
    window.home.dose.setValue(150.0)
    qtbot.mouseClick(window.home.dose_button, Qt.MouseButton.LeftButton)
    (_title, text) = answers.asked[-1]
    assert "Unmet before the dose: no preparation recorded" in text
    assert "plan the session, then Prepare… (Alt+P)" in text
    assert store.sessions() == []
