"""Correcting a note (a new entry with a reason; the original stays) and ending the session."""

from __future__ import annotations

import sqlite3

import pytest
from helpers.qt import (
    ModalDriver,
    committed,
    double_click,
    kinds,
    notes_in,
    reactivate,
    row_with,
    stream_texts,
)
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel

from kapsession.clock import FakeClock
from kapsession.errors import InvalidEntry
from kapsession.monitoring.discharge import ITEM_IDS
from kapsession.session.live import LiveSession, current_notes
from kapsession.storage.store import Event, Store
from ui.dialogs import AmendDialog
from ui.live.note_stream import NOTE_ROLE
from ui.live.screen import LiveView
from ui.monitor_dialogs import EndDialog
from ui.plain_text import plain_tip

ALT = Qt.KeyboardModifier.AltModifier
CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
LEFT = Qt.MouseButton.LeftButton


def add_note(qtbot, view: LiveView, text: str) -> None:
    qtbot.keyClicks(view.note, text)
    qtbot.keyClick(view.note, Qt.Key.Key_Return)


def selected_text(view: LiveView) -> str:
    items = view.stream.selectedItems()
    assert len(items) == 1
    return items[0].text()


def save_button(dialog: AmendDialog):
    return dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save)


def row_of(view: LiveView, seq: int) -> str:
    for i in range(view.stream.count()):
        if view.stream.item(i).data(NOTE_ROLE) == seq:
            return view.stream.item(i).text()
    raise AssertionError(f"no stream row for entry {seq}")


# --- choosing a note ---------------------------------------------------------------------


def test_alt_up_and_down_step_through_notes_only(qtbot, view, clock: FakeClock):
    add_note(qtbot, view, "one")
    add_note(qtbot, view, "two")
    clock.suspend(300)  # puts a non-note line between two and three
    view._on_tick()
    add_note(qtbot, view, "three")
    two, three = row_with(view.stream, "two"), row_with(view.stream, "three")
    assert any("slept" in t for t in stream_texts(view.stream)[two + 1 : three])

    def up() -> None:
        qtbot.keyClick(view.note, Qt.Key.Key_Up, ALT)

    def down() -> None:
        qtbot.keyClick(view.note, Qt.Key.Key_Down, ALT)

    up()
    assert selected_text(view).endswith("three")
    up()
    assert selected_text(view).endswith("two"), "the suspend line is skipped"
    up()
    assert selected_text(view).endswith("one")
    up()
    assert selected_text(view).endswith("one"), "the dose line is never selected"
    down()
    assert selected_text(view).endswith("two")
    down()
    down()
    assert selected_text(view).endswith("three")
    assert view.note.hasFocus()


def test_alt_up_with_no_notes_selects_nothing(qtbot, view):
    qtbot.keyClick(view.note, Qt.Key.Key_Up, ALT)
    assert view.stream.selectedItems() == []


# --- amending ------------------------------------------------------------------------------


def test_amend_the_selected_note_with_a_reason(
    qtbot, view, live: LiveSession, store: Store, clock: FakeClock, modal: ModalDriver
):
    add_note(qtbot, view, "q: I see the see")
    add_note(qtbot, view, "later note")
    original = notes_in(store, live.record.id)[0]
    rows_before = view.stream.count()
    clock.advance(90)
    qtbot.keyClick(view.note, Qt.Key.Key_Up, ALT)
    qtbot.keyClick(view.note, Qt.Key.Key_Up, ALT)
    assert selected_text(view).endswith("I see the see")
    refused: list[str] = []

    def amend(dialog: AmendDialog) -> None:
        assert dialog.text_edit.toPlainText() == "I see the see"
        assert [t for t, box in dialog.tag_boxes.items() if box.isChecked()] == ["quote"]
        dialog.text_edit.setPlainText("I see the sea")
        dialog.tag_boxes["integration"].setChecked(True)
        save_button(dialog).click()  # no reason yet
        refused.append(dialog.error.text())
        assert dialog.isVisible(), "an amendment without a reason must not close the dialog"
        assert [e.kind for e in store.events(live.record.id)].count("amendment") == 0
        qtbot.keyClicks(dialog.reason_edit, "typo")
        save_button(dialog).click()

    modal.next(amend, AmendDialog)
    qtbot.keyClick(view.note, Qt.Key.Key_E, CTRL)
    modal.check()

    assert refused == ["Not saved: An amendment needs a reason."]
    events = store.events(live.record.id)
    (amendment,) = [e for e in events if e.kind == "amendment"]
    assert amendment.amends == original.seq
    assert amendment.reason == "typo"
    assert amendment.data == {"text": "I see the sea", "tags": ["quote", "integration"]}
    assert amendment.t == 90.0
    assert amendment.author == "therapist"
    # The original stays on the record, unchanged.
    assert store.event(original.seq) == original
    assert committed(store, "note")[0]["seq"] == original.seq
    # The stream shows the correction in place of the original line, marked as amended.
    assert view.stream.count() == rows_before
    assert row_of(view, original.seq) == (
        "T+00:00   [Quote] [For integration] I see the sea   (amended)"
    )
    assert "later note" in row_of(view, notes_in(store, live.record.id)[1].seq)
    item = view.stream.findItems("I see the sea", Qt.MatchFlag.MatchContains)[0]
    assert item.toolTip() == plain_tip("Amended at T+01:30: typo")  # the reason, as text


def test_ctrl_e_without_a_selection_amends_the_latest_note(
    qtbot, view, live, store, modal: ModalDriver
):
    add_note(qtbot, view, "first")
    add_note(qtbot, view, "second")

    def amend(dialog: AmendDialog) -> None:
        assert dialog.text_edit.toPlainText() == "second"
        dialog.text_edit.setPlainText("second, corrected")
        dialog.reason_edit.setText("added context")
        save_button(dialog).click()

    modal.next(amend, AmendDialog)
    qtbot.mouseClick(view.amend_button, LEFT)
    modal.check()
    latest = notes_in(store, live.record.id)[-1]
    assert [a.data["text"] for n, a in current_notes(store.events(live.record.id)) if a] == [
        "second, corrected"
    ]
    assert row_of(view, latest.seq).endswith("second, corrected   (amended)")


def test_a_second_amendment_corrects_the_original_again(
    qtbot, view, live, store, modal: ModalDriver
):
    add_note(qtbot, view, "draft")
    seq = notes_in(store, live.record.id)[0].seq
    for text, reason in (("draft two", "first fix"), ("draft three", "second fix")):

        def amend(dialog: AmendDialog, text: str = text, reason: str = reason) -> None:
            dialog.text_edit.setPlainText(text)
            dialog.reason_edit.setText(reason)
            save_button(dialog).click()

        modal.next(amend, AmendDialog)
        qtbot.keyClick(view.note, Qt.Key.Key_E, CTRL)
        reactivate(qtbot, view, view.note)
    modal.check(count=2)
    amendments = [e for e in store.events(live.record.id) if e.kind == "amendment"]
    assert [(a.amends, a.reason) for a in amendments] == [
        (seq, "first fix"),
        (seq, "second fix"),
    ]
    assert row_of(view, seq) == "T+00:00   draft three   (amended)"
    assert notes_in(store, live.record.id)[0].data["text"] == "draft"


def test_a_whitespace_reason_or_an_emptied_note_is_refused_in_the_dialog(
    qtbot, view, live, store, modal: ModalDriver
):
    add_note(qtbot, view, "keep me")
    messages: list[str] = []

    def amend(dialog: AmendDialog) -> None:
        dialog.reason_edit.setText("   ")
        save_button(dialog).click()
        messages.append(dialog.error.text())
        dialog.reason_edit.setText("mistake")
        dialog.text_edit.setPlainText("  ")
        save_button(dialog).click()
        messages.append(dialog.error.text())
        assert dialog.isVisible()
        dialog.reject()

    modal.next(amend, AmendDialog)
    qtbot.keyClick(view.note, Qt.Key.Key_E, CTRL)
    modal.check()
    assert messages == [
        "Not saved: An amendment needs a reason.",
        "Not saved: An empty note is not saved.",
    ]
    assert kinds(store, live.record.id) == ["dose", "note"]
    assert "(amended)" not in stream_texts(view.stream)[-1]


def test_a_failed_amendment_says_so_in_the_dialog_and_a_retry_saves_once(
    qtbot, view, live, store, monkeypatch, modal: ModalDriver
):
    add_note(qtbot, view, "note")

    def full(*_args: object, **_kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    messages: list[str] = []

    def amend(dialog: AmendDialog) -> None:
        dialog.text_edit.setPlainText("note, fixed")
        dialog.reason_edit.setText("typo")
        monkeypatch.setattr(store, "append", full)
        save_button(dialog).click()
        messages.append(dialog.error.text())
        assert dialog.isVisible()
        assert "(amended)" not in stream_texts(view.stream)[-1]
        monkeypatch.undo()
        save_button(dialog).click()

    modal.next(amend, AmendDialog)
    qtbot.keyClick(view.note, Qt.Key.Key_E, CTRL)
    modal.check()
    assert messages == ["Not saved: the database could not be written; try again."]
    assert kinds(store, live.record.id) == ["dose", "note", "amendment"]
    assert stream_texts(view.stream)[-1].endswith("note, fixed   (amended)")


def test_double_click_on_a_note_opens_its_amendment(qtbot, view, live, store, modal):
    add_note(qtbot, view, "alpha")
    add_note(qtbot, view, "beta")
    item = view.stream.item(row_with(view.stream, "alpha"))
    seen: list[str] = []

    def look(dialog: AmendDialog) -> None:
        seen.append(dialog.text_edit.toPlainText())
        dialog.reject()

    modal.next(look, AmendDialog)
    double_click(qtbot, view.stream.viewport(), view.stream.visualItemRect(item).center())
    modal.check()
    assert seen == ["alpha"]


def test_amend_dialog_shows_errors_from_its_save_callback(qtbot):
    calls: list[tuple[str, tuple[str, ...], str]] = []

    def save(text: str, tags: tuple[str, ...], reason: str) -> None:
        calls.append((text, tags, reason))
        if len(calls) == 1:
            raise InvalidEntry("That entry is not part of this session.")

    dialog = AmendDialog("text", ("body",), save)
    qtbot.addWidget(dialog)
    dialog.reason_edit.setText("why")
    save_button(dialog).click()
    assert dialog.error.text() == "Not saved: That entry is not part of this session."
    assert dialog.result() == 0
    save_button(dialog).click()
    assert dialog.result() == AmendDialog.DialogCode.Accepted
    assert calls == [("text", ("body",), "why")] * 2


# --- ending ----------------------------------------------------------------------------------


def answer_discharge(
    dialog: EndDialog,
    scores: dict[str, int] | None = None,
    ride_home: bool = True,
    ready: bool = True,
) -> None:
    """Fill the modified Aldrete check: every item 2 unless `scores` says otherwise."""
    for item, score in ({i: 2 for i in ITEM_IDS} | (scores or {})).items():
        dialog.groups[item].button(score).click()
    if ride_home:
        dialog.ride_home.click()
    if ready:
        dialog.ready_button.click()


def ended_entry(store: Store, session_id: int) -> Event:
    (last,) = [e for e in store.events(session_id) if e.kind == "session_ended"]
    return last


def discharge_entries(store: Store, session_id: int) -> list[Event]:
    return [e for e in store.events(session_id) if e.kind == "discharge"]


def test_ending_early_needs_a_reason_then_ends_the_session(
    qtbot, view, live: LiveSession, store: Store, clock: FakeClock, modal: ModalDriver
):
    clock.advance(20 * 60)
    view._on_tick()
    refused: list[str] = []

    def end(dialog: EndDialog) -> None:
        assert "T+20:00" in " ".join(label.text() for label in dialog.findChildren(QLabel))
        assert "before the planned end" not in dialog.reason_edit.placeholderText()
        assert "The discharge check is not complete." in dialog.reason_edit.placeholderText()
        dialog.end_button.click()
        refused.append(dialog.error.text())
        assert dialog.isVisible()
        assert store.session(live.record.id).state == "running"
        assert "session_ended" not in [e.kind for e in store.events(live.record.id)]
        qtbot.keyClicks(dialog.reason_edit, "client asked to stop")
        dialog.end_button.click()

    modal.next(end, EndDialog)
    with qtbot.waitSignal(view.ended, timeout=1000) as ended:
        qtbot.keyClick(view.note, Qt.Key.Key_E, CTRL_SHIFT)
    modal.check()

    assert refused == ["Please give a reason for ending before the planned time."]
    record = store.session(live.record.id)
    assert record.state == "ended"
    assert record.ended_t == 1200.0
    assert ended.args[0].state == "ended" and ended.args[0].id == record.id
    last = ended_entry(store, live.record.id)
    assert last.reason == "client asked to stop"
    assert last.data == {"complete": False}
    assert discharge_entries(store, live.record.id) == [], "no discharge check was answered"
    # Ticks after the end write nothing.
    count = len(store.events(live.record.id))
    clock.advance(30)
    view._on_tick()
    assert len(store.events(live.record.id)) == count


def test_ending_early_with_a_passing_discharge_still_needs_a_reason(
    qtbot, view, live, store, clock, modal: ModalDriver
):
    clock.advance(40 * 60)
    view._on_tick()
    refused: list[str] = []

    def end(dialog: EndDialog) -> None:
        answer_discharge(dialog)
        assert dialog.score_label.text() == "Score: 10 of 10 · passes"
        assert dialog.reason_edit.placeholderText() == (
            "Reason for ending anyway (required: before the planned end)"
        )
        dialog.end_button.click()
        refused.append(dialog.error.text())
        assert discharge_entries(store, live.record.id) == [], "a refused end stores nothing"
        dialog.reason_edit.setText("client feels well, leaving with partner")
        dialog.end_button.click()

    modal.next(end, EndDialog)
    with qtbot.waitSignal(view.ended, timeout=1000):
        qtbot.keyClick(view.note, Qt.Key.Key_E, CTRL_SHIFT)
    modal.check()
    assert refused == ["Please give a reason for ending before the planned time."]
    last = ended_entry(store, live.record.id)
    assert last.data == {"complete": True}
    assert last.reason == "client feels well, leaving with partner"
    (discharge,) = discharge_entries(store, live.record.id)
    assert discharge.data["passed"] is True
    assert discharge.data["ready_at_t"] == 2400.0


def test_a_passing_discharge_after_the_planned_end_ends_complete_without_a_reason(
    qtbot, view, live, store, clock, modal: ModalDriver
):
    clock.advance(76 * 60)
    view._on_tick()
    texts: list[str] = []

    def end(dialog: EndDialog) -> None:
        texts.append(dialog.score_label.text())
        assert dialog.ready_label.text() == "Time the client was ready: not recorded"
        answer_discharge(dialog)
        texts.append(dialog.score_label.text())
        assert dialog.ready_label.text() == "Time the client was ready: T+1:16:00"
        assert dialog.reason_edit.placeholderText() == "Optional remark"
        assert dialog.blockers() == []
        dialog.end_button.click()

    modal.next(end, EndDialog)
    with qtbot.waitSignal(view.ended, timeout=1000):
        qtbot.mouseClick(view.end_button, LEFT)
    modal.check()
    assert texts == ["Score: 0 of 5 items answered", "Score: 10 of 10 · passes"]
    record = store.session(live.record.id)
    assert record.state == "ended"
    last = ended_entry(store, live.record.id)
    assert last.data == {"complete": True}
    assert last.reason is None
    (discharge,) = discharge_entries(store, live.record.id)
    assert discharge.data == {
        "scores": {i: 2 for i in ITEM_IDS},
        "total": 10,
        "pass_mark": 9,
        "passed": True,
        "ride_home": True,
        "ready_at_t": 4560.0,
    }
    assert discharge.seq < last.seq
    assert [r["kind"] for r in committed(store)][-2:] == ["discharge", "session_ended"]


def test_a_score_of_exactly_nine_passes(qtbot, view, live, store, clock, modal: ModalDriver):
    clock.advance(80 * 60)

    def end(dialog: EndDialog) -> None:
        answer_discharge(dialog, {"activity": 1})
        assert dialog.score_label.text() == "Score: 9 of 10 · passes"
        dialog.end_button.click()

    modal.next(end, EndDialog)
    with qtbot.waitSignal(view.ended, timeout=1000):
        qtbot.keyClick(view.note, Qt.Key.Key_E, CTRL_SHIFT)
    modal.check()
    assert ended_entry(store, live.record.id).data == {"complete": True}
    (discharge,) = discharge_entries(store, live.record.id)
    assert (discharge.data["total"], discharge.data["passed"]) == (9, True)


@pytest.mark.parametrize(
    ("answers", "blocker", "stored"),
    [
        (
            {"scores": {"activity": 1, "circulation": 1}},
            "Discharge score is 8 of 10; 9 is needed.",
            {"total": 8, "passed": False, "ride_home": True, "ready_at_t": 4800.0},
        ),
        (
            {"ride_home": False},
            "The ride home is not confirmed.",
            {"total": 10, "passed": True, "ride_home": False, "ready_at_t": 4800.0},
        ),
        (
            {"ready": False},
            "The time the client was ready to leave is not recorded.",
            {"total": 10, "passed": True, "ride_home": True, "ready_at_t": None},
        ),
    ],
)
def test_a_failing_discharge_needs_a_reason_and_is_stored(
    qtbot,
    view,
    live,
    store,
    clock,
    modal: ModalDriver,
    answers: dict[str, object],
    blocker: str,
    stored: dict[str, object],
):
    clock.advance(80 * 60)
    refused: list[str] = []

    def end(dialog: EndDialog) -> None:
        answer_discharge(dialog, **answers)  # type: ignore[arg-type]
        assert dialog.blockers() == [blocker]
        assert dialog.reason_edit.placeholderText() == (
            f"Reason for ending anyway (required: {blocker})"
        )
        dialog.end_button.click()
        refused.append(dialog.error.text())
        assert dialog.isVisible()
        assert store.session(live.record.id).state == "running"
        assert discharge_entries(store, live.record.id) == []
        dialog.reason_edit.setText("  client's partner waiting outside  ")
        dialog.end_button.click()

    modal.next(end, EndDialog)
    with qtbot.waitSignal(view.ended, timeout=1000):
        qtbot.keyClick(view.note, Qt.Key.Key_E, CTRL_SHIFT)
    modal.check()
    assert refused == ["Please give a reason for ending without a passing discharge check."]
    last = ended_entry(store, live.record.id)
    assert last.data == {"complete": False}
    assert last.reason == "client's partner waiting outside"
    (discharge,) = discharge_entries(store, live.record.id)
    assert {k: discharge.data[k] for k in stored} == stored


def test_ending_after_the_planned_end_without_the_discharge_check_needs_a_reason(
    qtbot, view, live, store, clock, modal: ModalDriver
):
    clock.advance(76 * 60)
    refused: list[str] = []

    def end(dialog: EndDialog) -> None:
        dialog.groups["activity"].button(2).click()  # a check begun but not finished
        assert dialog.score_label.text() == "Score: 1 of 5 items answered"
        dialog.end_button.click()
        refused.append(dialog.error.text())
        dialog.reason_edit.setText("client left in a hurry")
        dialog.end_button.click()

    modal.next(end, EndDialog)
    with qtbot.waitSignal(view.ended, timeout=1000):
        qtbot.keyClick(view.note, Qt.Key.Key_E, CTRL_SHIFT)
    modal.check()
    assert refused == ["Please give a reason for ending without a passing discharge check."]
    assert ended_entry(store, live.record.id).data == {"complete": False}
    assert discharge_entries(store, live.record.id) == []


def test_cancelling_the_end_dialog_keeps_the_session_running(
    qtbot, view, live, store, modal: ModalDriver
):
    ended: list[object] = []
    view.ended.connect(ended.append)
    modal.next(lambda dialog: dialog.reject(), EndDialog)
    qtbot.keyClick(view.note, Qt.Key.Key_E, CTRL_SHIFT)
    modal.check()
    assert ended == []
    assert store.session(live.record.id).state == "running"
    # Notes still go in.
    reactivate(qtbot, view, view.note)
    add_note(qtbot, view, "still here")
    assert notes_in(store, live.record.id)[-1].data["text"] == "still here"


def test_a_failed_end_says_so_and_keeps_the_session_running(
    qtbot, view, live, store, clock, monkeypatch, modal: ModalDriver
):
    clock.advance(80 * 60)

    def full(*_args: object, **_kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    messages: list[str] = []

    def end(dialog: EndDialog) -> None:
        dialog.reason_edit.setText("client asked to leave")
        monkeypatch.setattr(store, "end_session", full)
        dialog.end_button.click()
        messages.append(dialog.error.text())
        assert dialog.isVisible()
        dialog.reject()

    ended: list[object] = []
    view.ended.connect(ended.append)
    modal.next(end, EndDialog)
    qtbot.keyClick(view.note, Qt.Key.Key_E, CTRL_SHIFT)
    modal.check()
    monkeypatch.undo()
    assert messages == ["the database could not be written; try again."]
    assert ended == []
    assert store.session(live.record.id).state == "running"


def test_end_dialog_refuses_an_empty_reason_before_the_planned_end(qtbot):
    calls: list[tuple[str, dict[str, object] | None]] = []
    dialog = EndDialog(600.0, 4500.0, lambda reason, discharge: calls.append((reason, discharge)))
    qtbot.addWidget(dialog)
    dialog.reason_edit.setText("   ")
    dialog.end_button.click()
    assert calls == []
    assert dialog.error.text() == "Please give a reason for ending before the planned time."
    dialog.reason_edit.setText("  nausea  ")
    dialog.end_button.click()
    assert calls == [("nausea", None)]
    assert dialog.result() == EndDialog.DialogCode.Accepted


def test_end_dialog_passes_the_answers_and_shows_a_refusal_from_the_session(qtbot):
    calls: list[tuple[str, dict[str, object] | None]] = []

    def end(reason: str, discharge: dict[str, object] | None) -> None:
        calls.append((reason, discharge))
        if len(calls) == 1:
            raise InvalidEntry("Ready time cannot be in the future.")

    dialog = EndDialog(4600.0, 4500.0, end)
    qtbot.addWidget(dialog)
    answer_discharge(dialog, {"spo2": 1})
    dialog.end_button.click()
    assert dialog.error.text() == "Ready time cannot be in the future."
    assert dialog.result() == 0
    dialog.end_button.click()
    assert dialog.result() == EndDialog.DialogCode.Accepted
    scores = {i: 2 for i in ITEM_IDS} | {"spo2": 1}
    assert calls == [("", {"scores": scores, "ride_home": True, "ready_at_t": 4600.0})] * 2


# --- ending from the main window -----------------------------------------------------------


def test_ending_in_the_main_window_returns_home_and_lists_the_session_as_ended(
    qtbot, make_window, store, clock, modal: ModalDriver
):
    window = make_window(confirm=lambda _title, _text: True)
    home = window.home
    home.client_code.setEditText("C-031")
    home.dose.setValue(150)
    qtbot.mouseClick(home.dose_button, LEFT)
    view = window.live_view
    assert view is not None and window.stack.currentWidget() is view
    clock.advance(61 * 60 + 5)
    view._on_tick()

    def end(dialog: EndDialog) -> None:
        dialog.reason_edit.setText("client settled early")
        dialog.end_button.click()

    modal.next(end, EndDialog)
    qtbot.keyClick(view.note, Qt.Key.Key_E, CTRL_SHIFT)
    modal.check()

    assert window.live_view is None
    assert window.stack.currentWidget() is home
    assert window.windowTitle() == "kapsession"
    (record,) = store.sessions()
    assert record.state == "ended"
    assert home.form_status.text() == f"Session #{record.id} ended and saved."
    assert home.table.rowCount() == 1
    cells = [home.table.item(0, c).text() for c in range(home.table.columnCount())]
    assert cells[:6] == [str(record.id), "C-031", "ended", "sublingual", "150 mg", "60 min"]
    assert cells[6] != "–"
    assert cells[7] == "61:05"
