"""The client's view of the music (issue 17) on real widgets and a real SQLite file: the three
ratings in the worksheet (Alt+L/R/O and number keys), the home screen's quick form (Alt+R,
Enter saves), half-filled and signed refusals, and the course's column and means per arc."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.answers import Answers
from helpers.qt import ModalDriver, committed, show_active
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from kapsession.clock import FakeClock
from kapsession.exports import signing
from kapsession.integration.worksheet import current_worksheet
from kapsession.music.rating import MusicRating
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage import clinicians
from kapsession.storage.store import Store
from ui.home.music_rating import NOT_ASKED, MusicRatingDialog
from ui.home.worksheet_dialog import WorksheetDialog
from ui.review import CourseWindow
from ui.settings import Settings

CTRL = Qt.KeyboardModifier.ControlModifier
ALT = Qt.KeyboardModifier.AltModifier
IM45 = str(Path(__file__).resolve().parents[2] / "playlists" / "im-45.arc.toml")
IM45_NAME = "Intramuscular, 45 minutes (demo audio)"


def _ended(service: SessionService, clock: FakeClock, client: str = "C-041") -> int:
    plan = SessionPlan("C-041", "KAP sublingual", "sublingual", 200.0, 75, "", arc=IM45)
    live = service.give_dose(service.plan(plan).id)
    clock.advance(125)
    live.add_note("q: the strings carried me")
    live.end(reason="test session")
    return live.record.id


@pytest.fixture
def ended(service: SessionService, clock: FakeClock) -> int:
    return _ended(service, clock)


def _open(qtbot, kind, service: SessionService, session_id: int):
    dialog = kind(
        service.store,
        session_id,
        service.clock,
        service.tz,
        service.author,
        confirm=Answers(True),
    )
    qtbot.addWidget(dialog)
    show_active(qtbot, dialog)
    return dialog


def test_the_worksheet_asks_the_three_ratings_by_keyboard_and_keeps_them(
    qtbot, service: SessionService, store: Store, ended: int
):
    dialog = _open(qtbot, WorksheetDialog, service, ended)
    spins = dialog.music.spins
    assert [s.value() for s in spins.values()] == [NOT_ASKED] * 3
    assert "How much did you like the music?" in spins["liking"].accessibleName()
    assert "0 not at all, 10 very much" in spins["liking"].accessibleName()
    for key, letter, digits in (("liking", Qt.Key.Key_L, "7"), ("resonance", Qt.Key.Key_R, "10")):
        qtbot.keyClick(dialog, letter, ALT)
        assert spins[key].hasFocus()
        qtbot.keyClicks(spins[key], digits)
    assert dialog.edited()
    # Two of three: refused naming the missing one, nothing written, nothing lost.
    qtbot.keyClick(spins["resonance"], Qt.Key.Key_S, CTRL)
    assert "Openness: give a whole number from 0 to 10" in dialog.status.text()
    assert committed(store, "worksheet") == []
    assert (spins["liking"].value(), spins["resonance"].value()) == (7, 10)

    qtbot.keyClick(dialog, Qt.Key.Key_O, ALT)
    qtbot.keyClicks(spins["openness"], "6")
    qtbot.keyClick(spins["openness"], Qt.Key.Key_S, CTRL)

    assert dialog.status.text().startswith("Saved ")
    (row,) = committed(store, "worksheet")
    assert row["t"] is None, "after the end: no time since the dose"
    ws = current_worksheet(store, ended)
    assert ws is not None
    assert ws[0].music == MusicRating(7, 10, 6, "im-45", IM45_NAME)
    assert "the strings carried me" in ws[0].answer("experienced"), "the notes' draft too"
    dialog.reject()

    again = _open(qtbot, WorksheetDialog, service, ended)
    assert [s.value() for s in again.music.spins.values()] == [7, 10, 6]
    assert not again.edited()
    # Delete clears a rating back to "not asked": then all three must go, or none.
    again.music.spins["liking"].setFocus()
    qtbot.keyClick(again.music.spins["liking"], Qt.Key.Key_Delete)
    assert again.music.spins["liking"].value() == NOT_ASKED and again.edited()


def test_the_quick_form_saves_on_enter_and_keeps_the_worksheet_s_answers(
    qtbot, service: SessionService, store: Store, ended: int, clock: FakeClock
):
    dialog = _open(qtbot, MusicRatingDialog, service, ended)
    assert dialog.fields.spins["liking"].hasFocus()
    assert dialog.last_line.text() == "Not rated yet."
    qtbot.keyClicks(dialog.fields.spins["liking"], "3")
    qtbot.keyClick(dialog.fields.spins["liking"], Qt.Key.Key_Tab)
    qtbot.keyClicks(dialog.fields.spins["resonance"], "4")
    qtbot.keyClick(dialog.fields.spins["resonance"], Qt.Key.Key_Tab)
    qtbot.keyClicks(dialog.fields.spins["openness"], "9")
    qtbot.keyClick(dialog.fields.spins["openness"], Qt.Key.Key_Return)

    assert dialog.status.text().startswith("Saved "), dialog.status.text()
    ws = current_worksheet(store, ended)
    assert ws is not None and ws[0].music == MusicRating(3, 4, 9, "im-45", IM45_NAME)
    assert not ws[0].has_answers()
    assert dialog.last_line.text().endswith(
        f"Music: liking 3, resonance 4, openness 9 (arc {IM45_NAME})"
    )
    dialog.reject()
    # The worksheet still offers the notes' draft (only ratings were saved), with the ratings.
    sheet = _open(qtbot, WorksheetDialog, service, ended)
    assert "the strings carried me" in sheet.answers["experienced"].toPlainText()
    assert [s.value() for s in sheet.music.spins.values()] == [3, 4, 9]


def test_a_signed_session_refuses_the_ratings_and_says_so(qtbot, store: Store, clock: FakeClock):
    clinicians.charting_as(
        store, clinicians.add(store, "A. Rivera", "therapist", "", "1234", clock.now())
    )
    service = SessionService(store, clock, "Europe/Berlin", "A. Rivera")
    sid = _ended(service, clock)
    signing.sign(store, sid, "A. Rivera", "1234", clock, "Europe/Berlin")
    dialog = _open(qtbot, MusicRatingDialog, service, sid)
    assert "The session is signed" in dialog.last_line.text(), "said before anything is typed"
    for key in ("liking", "resonance", "openness"):
        dialog.fields.spins[key].setFocus()
        qtbot.keyClicks(dialog.fields.spins[key], "5")
    qtbot.keyClick(dialog.fields.spins["openness"], Qt.Key.Key_S, CTRL)
    assert "signed" in dialog.status.text() and "Not saved" in dialog.status.text()
    assert committed(store, "worksheet") == []


def test_home_alt_r_opens_the_quick_form_for_an_ended_session_only(
    qtbot, make_window, service: SessionService, store: Store, ended: int, modal: ModalDriver
):
    service.plan(SessionPlan("C-042", "KAP sublingual", "sublingual", 150.0, 60, ""))
    window = make_window(confirm=Answers(True))
    home = window.home
    home.table.selectRow(0)  # newest first: the planned one
    qtbot.keyClick(home.table, Qt.Key.Key_R, ALT)
    assert "ended session" in home.form_status.text()
    home.table.selectRow(1)

    def rate(dialog) -> None:
        assert isinstance(dialog, MusicRatingDialog) and dialog.session_id == ended
        qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
        for key, digits in (("liking", "8"), ("resonance", "7"), ("openness", "6")):
            dialog.fields.spins[key].setFocus()
            qtbot.keyClicks(dialog.fields.spins[key], digits)
        qtbot.keyClick(dialog.fields.spins["openness"], Qt.Key.Key_Return)
        qtbot.keyClick(dialog.fields.spins["openness"], Qt.Key.Key_Escape)

    modal.next(rate)
    qtbot.keyClick(home.table, Qt.Key.Key_R, ALT)
    modal.check()
    ws = current_worksheet(store, ended)
    assert ws is not None and ws[0].music == MusicRating(8, 7, 6, "im-45", IM45_NAME)


def test_the_course_shows_each_session_s_ratings_and_each_arc_s_means(
    qtbot, service: SessionService, store: Store, clock: FakeClock
):
    from kapsession.integration.worksheet import save_music_rating

    for values in ((6, 8, 7), (9, 5, 8), None):
        sid = _ended(service, clock)
        if values is not None:
            rating = dict(zip(("liking", "resonance", "openness"), values, strict=True))
            save_music_rating(store, sid, rating, clock.now(), service.tz, service.author)
        clock.advance(7 * 86_400)

    w = CourseWindow(store, "C-041", lambda _sid: None, settings=Settings())
    w.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    qtbot.addWidget(w)
    show_active(qtbot, w)
    headers = [w.table.horizontalHeaderItem(c).text() for c in range(w.table.columnCount())]
    music = headers.index("Music L/R/O")
    assert [w.table.item(r, music).text() for r in range(3)] == ["6/8/7", "9/5/8", "–"]
    assert w.music_means.isVisible()
    assert w.music_means.text() == (
        f"{IM45_NAME} (sessions 1, 2): liking 7.5 · resonance 6.5 · openness 7.5"
    )
