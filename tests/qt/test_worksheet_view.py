"""The worksheet dialog on real widgets and a real SQLite file: the draft from the notes, Ctrl+S,
versions and their history, failed writes."""

from __future__ import annotations

import logging

import pytest
from helpers.answers import Answers
from helpers.faults import disk_full
from helpers.qt import ModalDriver, committed, show_active, type_into
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QPlainTextEdit

from kapsession.clock import FakeClock
from kapsession.integration.worksheet import current_worksheet, worksheet_history
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.store import Store
from ui.home.record_dialog import UNSAVED
from ui.home.worksheet_dialog import VersionView, WorksheetDialog

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def ended(service: SessionService, clock: FakeClock) -> int:
    plan = SessionPlan("C-032", "KAP sublingual", "sublingual", 200.0, 75, "to rest")
    live = service.give_dose(service.plan(plan).id)
    clock.advance(125)
    live.add_note("q: the floor is holding me")
    clock.advance(60)
    typo = live.add_note("n: I dont have to carry it")
    clock.advance(60)
    live.add_note("nothing to integrate here")
    live.amend_note(typo.seq, "I don't have to carry it alone", ["insight"], "her words")
    live.end(reason="test session")
    return live.record.id


def open_dialog(
    qtbot, service: SessionService, session_id: int, confirm: Answers | None = None
) -> WorksheetDialog:
    dialog = WorksheetDialog(
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


def items(widget) -> list[str]:
    return [widget.item(i).text() for i in range(widget.count())]


def test_the_first_draft_comes_from_the_notes_and_ctrl_s_saves_it(
    qtbot, service: SessionService, store: Store, ended: int, clock: FakeClock
):
    dialog = open_dialog(qtbot, service, ended)

    assert dialog.answers["experienced"].toPlainText() == (
        "T+02:05  Quote: “the floor is holding me”"
    )
    assert dialog.answers["insight"].toPlainText() == "T+03:05  I don't have to carry it alone"
    assert items(dialog.sources) == [
        "T+02:05  [Quote] the floor is holding me",
        "T+03:05  [Insight] I don't have to carry it alone  (amended)",
    ]
    assert "not on the record until you save it" in dialog.source_note.text()
    assert items(dialog.history) == ["No version saved yet"]
    assert not dialog.reason_row.isVisible(), "no reason for a first version"

    type_into(qtbot, dialog.answers["next_step"], "A walk each morning")
    dialog.share["next_step"].setFocus()
    qtbot.keyClick(dialog.share["next_step"], Qt.Key.Key_Space)
    type_into(qtbot, dialog.follow_up, "Book integration call")
    qtbot.keyClick(dialog.follow_up, Qt.Key.Key_Return)
    qtbot.keyClicks(dialog.follow_up, "  ")
    qtbot.keyClick(dialog.follow_up, Qt.Key.Key_Return)
    qtbot.keyClicks(dialog.follow_up, "Send the breathing audio")
    clock.advance(86_400)
    qtbot.keyClick(dialog.follow_up, Qt.Key.Key_S, CTRL)

    assert dialog.status.text().startswith("Saved ")
    (row,) = committed(store, "worksheet")
    assert row["t"] is None and row["amends"] is None
    ws, event = current_worksheet(store, ended) or (None, None)
    assert ws is not None and event is not None
    assert ws.answer("next_step") == "A walk each morning"
    assert ws.shared == ("next_step",)
    assert ws.follow_up == ("Book integration call", "Send the breathing audio")
    assert len(ws.from_notes) == 2
    assert items(dialog.history)[0].startswith("Version 1 · ")
    assert "first version" in items(dialog.history)[0]
    assert dialog.reason_row.isVisible()
    dialog.reject()
    assert not dialog.isVisible()

    again = open_dialog(qtbot, service, ended)
    assert again.answers["next_step"].toPlainText() == "A walk each morning"
    assert again.share["next_step"].isChecked() and not again.share["insight"].isChecked()
    assert again.follow_up.toPlainText() == "Book integration call\nSend the breathing audio"
    assert "first version was pre-filled from 2 note(s)" in again.source_note.text()
    assert not again.edited()


def test_a_second_version_keeps_its_reason_and_the_history_says_what_changed(
    qtbot, service: SessionService, store: Store, ended: int, modal: ModalDriver
):
    first = open_dialog(qtbot, service, ended)
    assert first.save()
    first.reject()
    dialog = open_dialog(qtbot, service, ended)
    qtbot.keyClick(dialog.answers["different"], Qt.Key.Key_S, CTRL)
    assert dialog.status.text() == "Nothing changed since version 1; not saved again."
    type_into(qtbot, dialog.answers["different"], "Quieter inside")
    assert dialog.status.text() == UNSAVED
    type_into(qtbot, dialog.reason, "after the integration call")

    qtbot.keyClick(dialog.reason, Qt.Key.Key_S, CTRL)

    history = worksheet_history(store, ended)
    assert [e.reason for _, e in history] == [None, "after the integration call"]
    assert history[1][1].amends == history[0][1].seq
    assert dialog.status.text().startswith("Saved ")
    newest = items(dialog.history)[0]
    assert newest.startswith("Version 2 · ") and "What felt different?" in newest
    assert "reason: after the integration call" in newest
    assert dialog.reason.text() == ""

    def look(view) -> None:
        assert isinstance(view, VersionView)
        text = view.findChild(QPlainTextEdit).toPlainText()
        assert "What felt different?\n–" in text, "version 1 had no answer there"
        assert "the floor is holding me" in text
        view.reject()

    modal.next(look)
    dialog.history.setFocus()
    dialog.history.setCurrentRow(1)  # newest first: row 1 is version 1
    qtbot.keyClick(dialog.history, Qt.Key.Key_Return)
    modal.check()


def test_a_failed_write_keeps_the_text_and_says_why_then_a_retry_saves_once(
    qtbot, service: SessionService, store: Store, ended: int, monkeypatch, caplog
):
    caplog.set_level(logging.INFO)
    dialog = open_dialog(qtbot, service, ended)
    type_into(qtbot, dialog.answers["meaning"], "I can ask for help")
    monkeypatch.setattr(store, "append", disk_full)

    qtbot.keyClick(dialog.answers["meaning"], Qt.Key.Key_S, CTRL)

    assert dialog.status.text().startswith("Not saved: the database could not be written")
    assert dialog.answers["meaning"].toPlainText() == "I can ask for help"
    assert items(dialog.history) == ["No version saved yet"]
    assert committed(store, "worksheet") == []
    assert "OperationalError" in caplog.text and "help" not in caplog.text

    monkeypatch.undo()
    qtbot.keyClick(dialog.answers["meaning"], Qt.Key.Key_S, CTRL)
    assert dialog.status.text().startswith("Saved ")
    assert len(committed(store, "worksheet")) == 1


def test_an_overlong_follow_up_item_is_refused_naming_it(
    qtbot, service: SessionService, store: Store, ended: int
):
    dialog = open_dialog(qtbot, service, ended)
    dialog.follow_up.setPlainText("fine\n" + "x" * 501)
    assert not dialog.save()
    assert dialog.status.text() == "Not saved: Follow-up item 2 can be at most 500 characters."
    assert committed(store, "worksheet") == []


def test_closing_the_untouched_draft_asks_nothing_but_added_words_are_asked_about(
    qtbot, service: SessionService, store: Store, ended: int
):
    answers = Answers(False)
    dialog = open_dialog(qtbot, service, ended, answers)
    qtbot.keyClick(dialog.answers["experienced"], Qt.Key.Key_Escape)
    assert answers.asked == [] and not dialog.isVisible(), "the draft comes back from the notes"

    dialog = open_dialog(qtbot, service, ended, answers)
    type_into(qtbot, dialog.answers["experienced"], " and warmth")
    assert dialog.answers["experienced"].toPlainText().endswith("holding me” and warmth"), (
        "typing adds after the notes' lines"
    )
    qtbot.keyClick(dialog.answers["experienced"], Qt.Key.Key_Escape)
    assert [t for t, _ in answers.asked] == ["Discard changes?"]
    assert dialog.isVisible()
    answers.answer = True
    qtbot.keyClick(dialog.answers["experienced"], Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert committed(store, "worksheet") == []


def test_a_session_without_tagged_notes_opens_empty_and_says_why(
    qtbot, service: SessionService, clock: FakeClock
):
    plan = SessionPlan("C-033", "KAP sublingual", "sublingual", 200.0, 75, "")
    live = service.give_dose(service.plan(plan).id)
    live.add_note("untagged")
    clock.advance(30)
    dialog = WorksheetDialog(
        service.store, live.record.id, clock, service.tz, service.author, elapsed=live.elapsed
    )
    qtbot.addWidget(dialog)
    assert all(not e.toPlainText() for e in dialog.answers.values())
    assert "No tagged notes fed this worksheet" in dialog.source_note.text()
    assert not dialog.edited()
    dialog.answers["experienced"].setPlainText("warmth")
    assert dialog.save()
    _ws, event = current_worksheet(service.store, live.record.id) or (None, None)
    assert event is not None and event.t == pytest.approx(30.0), "during the session: T+"
    live.close()


# --- from the home screen --------------------------------------------------------------------


def test_home_worksheet_opens_for_a_dosed_session_only(
    qtbot, make_window, service: SessionService, store: Store, ended: int, modal: ModalDriver
):
    service.plan(SessionPlan("C-034", "KAP sublingual", "sublingual", 150.0, 60, ""))
    window = make_window(confirm=Answers(True))
    home = window.home
    home.table.selectRow(0)  # newest first: the planned one
    assert not home.worksheet_button.isEnabled()
    qtbot.keyClick(home.table, Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    assert "given its dose" in home.form_status.text()

    home.table.selectRow(1)
    assert home.worksheet_button.isEnabled() and not home.prepare_button.isEnabled()

    def fill_in(dialog) -> None:
        assert isinstance(dialog, WorksheetDialog) and dialog.session_id == ended
        qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)  # shortcuts need it
        type_into(qtbot, dialog.answers["next_step"], "Ten minutes outside")
        qtbot.keyClick(dialog.answers["next_step"], Qt.Key.Key_S, CTRL)
        qtbot.keyClick(dialog.answers["next_step"], Qt.Key.Key_Escape)

    modal.next(fill_in)
    qtbot.keyClick(home.table, Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    modal.check()
    ws, _event = current_worksheet(store, ended) or (None, None)
    assert ws is not None and ws.answer("next_step") == "Ten minutes outside"


def test_f1_on_home_lists_the_new_shortcuts(qtbot, make_window, modal: ModalDriver):
    window = make_window(confirm=Answers(True))

    def look(dialog) -> None:
        texts = [w.text() for w in dialog.findChildren(QLabel)]
        assert "Alt+P" in texts and "Alt+W" in texts and "Ctrl+S" in texts
        dialog.reject()

    modal.next(look)
    qtbot.keyClick(window.home.table, Qt.Key.Key_F1)
    modal.check()
