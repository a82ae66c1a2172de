"""Clinicians on screen (issue 14): who is charting on the live screen, Ctrl+U and a PIN switch
it mid-session, the home screen lists sessions waiting for a signature and Ctrl+Shift+S signs,
the review shows the signatures, and the screen lock opens with any active clinician's PIN."""

from __future__ import annotations

from helpers.qt import ModalDriver, reactivate
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from kapsession.clock import FakeClock
from kapsession.exports import signing
from kapsession.session.live import LiveSession
from kapsession.storage import clinicians
from kapsession.storage.store import Store
from ui.clinicians.dialogs import AddClinicianDialog, SignDialog, SwitchDialog
from ui.clinicians.start import lock_verifier
from ui.live.screen import LiveView
from ui.review.window import ReviewWindow
from ui.settings import Settings

CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def _two(store: Store, clock: FakeClock) -> None:
    a = clinicians.add(store, "A. Rivera", "therapist", "LCSW", "1234", clock.now())
    clinicians.add(store, "B. Chen", "nurse", "RN", "5678", clock.now())
    clinicians.charting_as(store, a)


def _note(qtbot, view: LiveView, text: str) -> None:
    qtbot.keyClicks(view.note, text)
    qtbot.keyClick(view.note, Qt.Key.Key_Return)


def test_ctrl_u_and_a_pin_switch_who_charts_mid_session(
    qtbot, live: LiveSession, clock: FakeClock, modal: ModalDriver
) -> None:
    _two(live.store, clock)
    view = LiveView(live)
    qtbot.addWidget(view)
    view.resize(1100, 760)
    view.show()
    view.activateWindow()
    qtbot.waitUntil(lambda: view.note.hasFocus())
    assert view.charting.text() == "Charting: A. Rivera (therapist)"
    _note(qtbot, view, "by the therapist")

    def wrong_then_right(dialog: SwitchDialog) -> None:
        assert dialog.who.currentData() == "B. Chen"  # the other clinician comes first
        dialog.pin.setText("0000")
        dialog._on_ok()
        assert "Wrong PIN for B. Chen" in dialog.problem.text() and dialog.isVisible()
        dialog.pin.setText("5678")
        dialog._on_ok()

    modal.next(wrong_then_right, SwitchDialog)
    qtbot.keyClick(view.note, Qt.Key.Key_U, CTRL)
    modal.check()
    assert view.charting.text() == "Charting: B. Chen (nurse)"
    reactivate(qtbot, view, view.note)
    _note(qtbot, view, "by the nurse")
    notes = [e for e in live.store.events(live.record.id) if e.kind == "note"]
    assert [(e.data["text"], e.author, e.author_role) for e in notes] == [
        ("by the therapist", "A. Rivera", "therapist"),
        ("by the nurse", "B. Chen", "nurse"),
    ]
    view.stop()


def test_home_lists_sessions_waiting_and_ctrl_shift_s_signs_then_the_review_shows_it(
    qtbot, make_window, live: LiveSession, clock: FakeClock, modal: ModalDriver
) -> None:
    store = live.store
    _two(store, clock)
    clock.advance(60)
    live.end("test ends it")
    window = make_window(lambda _t, _x: True)
    panel = window.home.clinicians
    assert panel.waiting.count() == 1
    assert "waiting for signature" in panel.waiting.item(0).text()
    assert panel.charting.text() == "Charting: A. Rivera (therapist)"

    def sign(dialog: SignDialog) -> None:
        assert dialog.who.currentData() == "A. Rivera"
        dialog.pin.setText("1234")
        dialog._on_ok()

    modal.next(sign, SignDialog)
    window.home.table.setFocus()
    qtbot.keyClick(window.home.table, Qt.Key.Key_S, CTRL_SHIFT)
    modal.check()
    sigs = signing.signatures(store.events(live.record.id))
    assert [(s.name, s.meaning) for s in sigs] == [("A. Rivera", "reviewed and approved")]
    assert panel.waiting.count() == 0
    review = ReviewWindow(store, live.record.id, settings=Settings())
    qtbot.addWidget(review)
    text = review.header.signatures.text()
    assert text.startswith("Signed by A. Rivera, LCSW (therapist) · ")
    assert text.endswith(" · reviewed and approved")

    def cosign(dialog: SignDialog) -> None:
        assert dialog.who.currentData() == "B. Chen"  # who has not signed yet
        assert dialog.meaning.currentText() == "co-signed"
        dialog.pin.setText("5678")
        dialog._on_ok()

    modal.next(cosign, SignDialog)
    review.sign()
    modal.check(2)
    assert "Co-signed by B. Chen, RN (nurse)" in review.header.signatures.text()


def test_the_screen_lock_opens_with_any_active_clinicians_pin_who_then_charts(
    store: Store, clock: FakeClock
) -> None:
    _two(store, clock)
    opened: list[bool] = []
    verify = lock_verifier(store, None, lambda: opened.append(True))
    assert verify is not None
    assert not verify("0000") and store.charting == ("A. Rivera", "therapist")
    assert verify("5678") and store.charting == ("B. Chen", "nurse") and opened == [True]
    clinicians.deactivate(store, "B. Chen", clock.now())
    assert not verify("5678")
    assert verify("1234") and store.charting == ("A. Rivera", "therapist")


def test_the_first_clinician_dialog_refuses_bad_input_and_adds_a_whole_one(
    qtbot, store: Store
) -> None:
    dialog = AddClinicianDialog(store, first=True)
    qtbot.addWidget(dialog)
    dialog.name.setText("A. Rivera")
    dialog.pin.setText("12")
    dialog.again.setText("12")
    dialog._on_ok()
    assert "4 to 12 digits" in dialog.problem.text() and dialog.added is None
    dialog.again.setText("1234")
    dialog.pin.setText("1234")
    dialog.role.setCurrentText("prescriber")
    dialog.credentials.setText("MD")
    dialog._on_ok()
    assert dialog.added is not None and dialog.added.label == "A. Rivera, MD (prescriber)"
    assert dialog.pin.echoMode() == QLineEdit.EchoMode.Password
