"""Choosing a monitoring protocol on the home screen, and the live screen it leads to, in the
main window (which also shuts the check scheduler down when the session ends or the window
closes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from helpers.monitoring import BASELINE, CTRL_SHIFT, LEFT
from helpers.qt import ModalDriver, show_active
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from kapsession.clock import FakeClock
from kapsession.monitoring.protocol import builtin_protocols
from kapsession.session.live import LiveSession, SessionService
from kapsession.storage.store import Store
from ui.home import NO_PROTOCOL, HomeView
from ui.main_window import MainWindow
from ui.monitor_dialogs import EndDialog, ObservationDialog


@pytest.fixture
def window(
    qtbot, pservice: SessionService, tmp_path: Path, settings_sandbox: None
) -> Iterator[MainWindow]:
    """A shown main window over a service that knows the shipped protocols; every question is
    answered yes. Closed here, while the store is still open."""

    def no_rehearsal(_scale: float) -> LiveSession:
        raise AssertionError("no rehearsal in these tests")

    w = MainWindow(pservice, no_rehearsal, data_dir=tmp_path, confirm=lambda _title, _text: True)
    show_active(qtbot, w)
    yield w
    if shiboken6.isValid(w):
        w.close()


def choose(home: HomeView, protocol_id: str) -> None:
    index = home.protocol.findData(protocol_id)
    assert index >= 0, protocol_id
    home.protocol.setCurrentIndex(index)


def fill(home: HomeView, code: str = "C-080", dose: float = 200.0) -> None:
    home.client_code.setEditText(code)
    home.dose.setValue(dose)


def test_the_combo_lists_the_shipped_protocols_and_no_timed_checks(window: MainWindow):
    combo = window.home.protocol
    shipped = sorted(builtin_protocols().values(), key=lambda p: p.name)
    items = [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]
    assert items == [(f"{p.name} ({len(p.checks)} checks)", p.id) for p in shipped] + [
        ("No timed checks (notes only)", NO_PROTOCOL)
    ]
    assert {p.id for p in shipped} >= {
        "sublingual",
        "intramuscular",
        "intravenous",
        "intravenous-10",
        "esketamine-rems",
    }
    assert "Sublingual lozenge KAP (6 checks)" in [text for text, _ in items]


@pytest.mark.parametrize("protocol_id", sorted(builtin_protocols()))
def test_choosing_a_protocol_sets_its_route_and_planned_length(
    window: MainWindow, protocol_id: str
):
    home = window.home
    protocol = builtin_protocols()[protocol_id]
    # Start from values the protocol must change.
    choose(home, NO_PROTOCOL)
    home.route.setCurrentText("intravenous" if protocol.route != "intravenous" else "sublingual")
    home.planned.setValue(45 if protocol.planned_minutes != 45 else 120)
    choose(home, protocol_id)
    assert home.route.currentText() == protocol.route
    assert home.planned.value() == protocol.planned_minutes


def test_no_timed_checks_leaves_route_and_length_as_they_were(window: MainWindow):
    home = window.home
    choose(home, "esketamine-rems")
    assert (home.route.currentText(), home.planned.value()) == ("intranasal", 120)
    choose(home, NO_PROTOCOL)
    assert (home.route.currentText(), home.planned.value()) == ("intranasal", 120)


def test_planning_with_a_protocol_stores_its_id_and_the_edited_length(
    qtbot, window: MainWindow, store: Store
):
    home = window.home
    choose(home, "sublingual")
    fill(home)
    home.planned.setValue(90)  # the protocol's length is a default, not a rule
    qtbot.mouseClick(home.plan_button, LEFT)
    (record,) = store.sessions()
    assert (record.protocol, record.route, record.planned_minutes, record.state) == (
        "sublingual",
        "sublingual",
        90,
        "planned",
    )
    assert home.form_status.text() == f"Planned session #{record.id} for C-080."


def test_dosing_with_a_protocol_opens_a_live_screen_with_the_check_badge(
    qtbot, window: MainWindow, store: Store
):
    home = window.home
    choose(home, "sublingual")
    fill(home)
    qtbot.mouseClick(home.dose_button, LEFT)

    view = window.live_view
    assert view is not None and window.stack.currentWidget() is view
    live = view.live
    assert live.monitoring is not None
    assert live.monitoring.protocol.id == "sublingual"
    assert live.monitoring.plan[0].key == BASELINE
    (dose,) = [e for e in live.events() if e.kind == "dose"]
    assert dose.data["protocol"] == "sublingual"
    assert dose.data["monitoring"]["id"] == "sublingual"
    assert view.check_badge.isVisible()
    assert view.check_badge.text().startswith("DUE  Baseline: vitals, MOAA/S")
    assert view._scheduler.get_job("checks") is not None
    assert QApplication.focusWidget() is view.note


def test_a_changed_length_moves_the_end_of_session_check(qtbot, window: MainWindow):
    home = window.home
    choose(home, "sublingual")
    fill(home)
    home.planned.setValue(90)
    qtbot.mouseClick(home.dose_button, LEFT)
    assert window.live_view is not None
    monitoring = window.live_view.live.monitoring
    assert monitoring is not None
    assert monitoring.plan[-1].key == "c90-end-of-session"
    assert monitoring.plan[-1].offset_s == 90 * 60


def test_dosing_without_timed_checks_shows_no_badge(qtbot, window: MainWindow):
    home = window.home
    choose(home, NO_PROTOCOL)
    fill(home)
    qtbot.mouseClick(home.dose_button, LEFT)
    view = window.live_view
    assert view is not None
    assert view.live.monitoring is None
    assert not view.check_badge.isVisible()
    assert view._scheduler.get_jobs() == []


def dose_sublingual(qtbot, window: MainWindow) -> None:
    choose(window.home, "sublingual")
    fill(window.home)
    qtbot.mouseClick(window.home.dose_button, LEFT)


def test_ending_the_session_shuts_the_check_scheduler_down(
    qtbot, window: MainWindow, clock: FakeClock, modal: ModalDriver
):
    dose_sublingual(qtbot, window)
    view = window.live_view
    assert view is not None
    scheduler = view._scheduler
    assert scheduler.running
    clock.advance(80 * 60)
    view._on_tick()

    def end(dialog: EndDialog) -> None:
        dialog.reason_edit.setText("client left with partner")
        dialog.end_button.click()

    modal.next(end, EndDialog)
    qtbot.keyClick(view.note, Qt.Key.Key_E, CTRL_SHIFT)
    modal.check()
    assert window.live_view is None
    assert not scheduler.running


def test_closing_the_window_shuts_the_check_scheduler_down(qtbot, window: MainWindow, store: Store):
    dose_sublingual(qtbot, window)
    view = window.live_view
    assert view is not None
    scheduler = view._scheduler
    window.close()
    assert not scheduler.running
    (record,) = store.sessions()
    assert record.state == "running", "the session resumes on the next launch"
    assert [e.kind for e in store.events(record.id)][-1] == "app_closed"


def test_shortcuts_in_the_live_screen_open_their_dialogs_from_the_main_window(
    qtbot, window: MainWindow, modal: ModalDriver
):
    dose_sublingual(qtbot, window)
    view = window.live_view
    assert view is not None
    titles: list[str] = []

    def observe(dialog: ObservationDialog) -> None:
        titles.append(dialog.title.text())
        dialog.reject()

    modal.next(observe, ObservationDialog)
    qtbot.keyClick(view.note, Qt.Key.Key_O, Qt.KeyboardModifier.AltModifier)
    modal.check()
    assert titles == ["MOAA/S   (1 of 3)"]
