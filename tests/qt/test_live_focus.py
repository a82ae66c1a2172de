"""The note field keeps the keyboard focus: whatever is clicked, typing lands in the note."""

from __future__ import annotations

from helpers.qt import ModalDriver, kinds, notes_in, reactivate, row_with
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QLabel, QWidget

from ui.dialogs import SHORTCUTS, AmendDialog, ShortcutsDialog
from ui.live.screen import LiveView

LEFT = Qt.MouseButton.LeftButton
ALT = Qt.KeyboardModifier.AltModifier


def assert_note_has_focus(view: LiveView) -> None:
    assert QApplication.focusWidget() is view.note
    assert view.note.hasFocus()


def assert_focus_comes_back_to_the_note(qtbot, view: LiveView) -> None:
    """After a dialog the window's focus widget must be the note; the keyboard follows when the
    window system gives the window back its activation (done here by hand: the offscreen
    platform has no window manager to do it)."""
    reactivate(qtbot, view, view.note)
    assert_note_has_focus(view)


def add_notes(qtbot, view: LiveView, *texts: str) -> None:
    for text in texts:
        qtbot.keyClicks(view.note, text)
        qtbot.keyClick(view.note, Qt.Key.Key_Return)


def test_the_note_field_has_the_focus_when_the_screen_opens(view):
    assert_note_has_focus(view)


def test_focus_stays_in_the_note_after_clicking_a_tag_chip(qtbot, view, live, store):
    qtbot.keyClicks(view.note, "half a ")
    qtbot.mouseClick(view.tag_buttons["body"], LEFT)
    assert view.tag_buttons["body"].isChecked()
    assert_note_has_focus(view)
    # Typing goes on where it was.
    qtbot.keyClicks(view.note, "thought")
    qtbot.keyClick(view.note, Qt.Key.Key_Return)
    (note,) = notes_in(store, live.record.id)
    assert note.data == {"text": "half a thought", "tags": ["body"]}


def test_focus_stays_after_clicking_a_button_that_opens_nothing(qtbot, view):
    # With no note yet, Amend opens no dialog; it only says why.
    qtbot.mouseClick(view.amend_button, LEFT)
    assert view.status.text() == "There is no note to amend yet."
    assert QApplication.activeModalWidget() is None
    assert_note_has_focus(view)


def test_focus_stays_after_clicking_in_the_stream_and_on_labels(qtbot, view, live, store):
    add_notes(qtbot, view, "one", "two")
    item = view.stream.item(row_with(view.stream, "one"))
    qtbot.mouseClick(view.stream.viewport(), LEFT, pos=view.stream.visualItemRect(item).center())
    assert view.stream.currentItem() is item and item.isSelected()
    assert_note_has_focus(view)
    for widget in (view.clock, view.phase, view.next_up, view.progress):
        qtbot.mouseClick(widget, LEFT)
        assert_note_has_focus(view)
    qtbot.keyClicks(view.note, "three")
    qtbot.keyClick(view.note, Qt.Key.Key_Return)
    assert [n.data["text"] for n in notes_in(store, live.record.id)] == ["one", "two", "three"]


def test_escape_clears_selection_and_message_and_keeps_the_typed_text(qtbot, view):
    add_notes(qtbot, view, "one", "two")
    qtbot.keyClick(view.note, Qt.Key.Key_Up, ALT)
    assert view.stream.selectedItems()
    qtbot.keyClicks(view.note, "q:")
    qtbot.keyClick(view.note, Qt.Key.Key_Return)  # refused: a prefix with no note
    assert view.status.text().startswith("Not saved")

    qtbot.keyClick(view.note, Qt.Key.Key_Escape)

    assert view.stream.selectedItems() == []
    assert view.stream.currentRow() == -1
    assert view.status.text() == ""
    assert view.note.text() == "q:", "Esc must not throw away what was typed"
    assert_note_has_focus(view)


def test_escape_brings_the_focus_back_to_the_note(qtbot, view):
    # Nothing else on the live screen takes focus from a click, so move it by hand, as a
    # screen reader or a future widget could.
    other = QWidget(view)
    other.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    other.show()
    other.setFocus()
    assert QApplication.focusWidget() is other
    qtbot.keyClick(other, Qt.Key.Key_Escape)
    assert_note_has_focus(view)


def test_only_the_note_field_accepts_focus_on_the_live_screen(view):
    takers = [
        w
        for w in view.findChildren(QWidget)
        if w.focusPolicy() != Qt.FocusPolicy.NoFocus and w.isVisible()
    ]
    assert takers == [view.note]


def test_f1_lists_the_shortcuts_and_returns_focus_to_the_note(qtbot, view, modal: ModalDriver):
    listed: list[str] = []

    def read_and_close(dialog) -> None:
        listed.extend(label.text() for label in dialog.findChildren(QLabel))
        dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Close).click()

    modal.next(read_and_close, ShortcutsDialog)
    qtbot.keyClick(view.note, Qt.Key.Key_F1)
    modal.check()

    for keys, what in SHORTCUTS:
        assert keys in listed and what in listed
    assert_focus_comes_back_to_the_note(qtbot, view)


def test_focus_returns_to_the_note_after_the_amend_dialog_is_cancelled(
    qtbot, view, live, store, modal: ModalDriver
):
    add_notes(qtbot, view, "one")
    modal.next(lambda dialog: dialog.reject(), AmendDialog)
    qtbot.keyClick(view.note, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    modal.check()
    assert kinds(store, live.record.id) == ["dose", "note"]
    assert_focus_comes_back_to_the_note(qtbot, view)


def test_closed_dialogs_do_not_pile_up_over_a_long_session(qtbot, view, modal: ModalDriver):
    # A two-hour session opens the shortcut list and the amend dialog many times; each
    # closed dialog must go, not linger as a hidden child of the live screen.
    add_notes(qtbot, view, "one")
    for _ in range(3):
        modal.next(lambda dialog: dialog.reject(), ShortcutsDialog)
        qtbot.keyClick(view.note, Qt.Key.Key_F1)
        reactivate(qtbot, view, view.note)
        modal.next(lambda dialog: dialog.reject(), AmendDialog)
        qtbot.keyClick(view.note, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
        reactivate(qtbot, view, view.note)
    modal.check(count=6)
    qtbot.waitUntil(lambda: not view.findChildren(QDialog))
