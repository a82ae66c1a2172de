"""Correcting a note (a new entry with a reason; the original stays) and ending the session."""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QPushButton
from qthelpers import (
    ModalDriver,
    committed,
    double_click,
    kinds,
    notes_in,
    reactivate,
    row_with,
    stream_texts,
)

from kapsession.clock import FakeClock
from kapsession.errors import InvalidEntry
from kapsession.session import LiveSession, current_notes
from kapsession.store import Store
from ui.dialogs import AmendDialog, EndDialog
from ui.live_view import NOTE_ROLE, LiveView

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


def end_button(dialog: EndDialog) -> QPushButton:
    (button,) = [
        b for b in dialog.findChild(QDialogButtonBox).buttons() if b.text() == "End session"
    ]
    return button


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
    assert item.toolTip() == "Amended at T+01:30: typo"


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


def test_ending_early_needs_a_reason_then_ends_the_session(
    qtbot, view, live: LiveSession, store: Store, clock: FakeClock, modal: ModalDriver
):
    clock.advance(20 * 60)
    view._on_tick()
    refused: list[str] = []

    def end(dialog: EndDialog) -> None:
        assert "T+20:00" in " ".join(
            label.text() for label in dialog.findChildren(type(dialog.error))
        )
        end_button(dialog).click()
        refused.append(dialog.error.text())
        assert dialog.isVisible()
        assert store.session(live.record.id).state == "running"
        assert "session_ended" not in [e.kind for e in store.events(live.record.id)]
        qtbot.keyClicks(dialog.reason_edit, "client asked to stop")
        end_button(dialog).click()

    modal.next(end, EndDialog)
    with qtbot.waitSignal(view.ended, timeout=1000) as ended:
        qtbot.keyClick(view.note, Qt.Key.Key_E, CTRL_SHIFT)
    modal.check()

    assert refused == ["Please give a reason for ending before the planned time."]
    record = store.session(live.record.id)
    assert record.state == "ended"
    assert record.ended_t == 1200.0
    assert ended.args[0].state == "ended" and ended.args[0].id == record.id
    (last,) = [e for e in store.events(live.record.id) if e.kind == "session_ended"]
    assert (last.reason or last.data.get("reason")) == "client asked to stop"
    # Ticks after the end write nothing.
    count = len(store.events(live.record.id))
    clock.advance(30)
    view._on_tick()
    assert len(store.events(live.record.id)) == count


def test_ending_after_the_planned_end_needs_no_reason(
    qtbot, view, live, store, clock, modal: ModalDriver
):
    clock.advance(76 * 60)
    view._on_tick()

    def end(dialog: EndDialog) -> None:
        assert dialog.reason_edit.placeholderText() == "Optional remark"
        end_button(dialog).click()

    modal.next(end, EndDialog)
    with qtbot.waitSignal(view.ended, timeout=1000):
        qtbot.mouseClick(view.end_button, LEFT)
    modal.check()
    assert store.session(live.record.id).state == "ended"


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
        monkeypatch.setattr(store, "end_session", full)
        end_button(dialog).click()
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
    calls: list[str] = []
    dialog = EndDialog("T+10:00", True, calls.append)
    qtbot.addWidget(dialog)
    dialog.reason_edit.setText("   ")
    end_button(dialog).click()
    assert calls == []
    assert dialog.error.text() == "Please give a reason for ending before the planned time."
    dialog.reason_edit.setText("  nausea  ")
    end_button(dialog).click()
    assert calls == ["nausea"]
    assert dialog.result() == EndDialog.DialogCode.Accepted


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
        end_button(dialog).click()

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
