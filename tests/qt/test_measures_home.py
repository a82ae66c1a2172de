"""The PHQ-9 item-9 prompt on the home screen (issue 18): a flagged answer shows in its box
until the charting clinician clicks Acknowledge; the acknowledgement is recorded with their
name and survives a restart of the screen."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from kapsession.clock import FakeClock
from kapsession.integration import measures
from kapsession.session.live import SessionService
from kapsession.storage import clinicians
from kapsession.storage.store import Store
from ui.home import HomeView


def _home(qtbot, service: SessionService, tmp_path: Path) -> HomeView:  # type: ignore[no-untyped-def]
    view = HomeView(service, lambda _t, _x: True, str(tmp_path))
    qtbot.addWidget(view)
    view.show()
    return view


def test_item_9_shows_on_home_until_a_clinician_acknowledges_it(
    qtbot, store: Store, clock: FakeClock, service: SessionService, tmp_path: Path
) -> None:
    a = clinicians.add(store, "A. Rivera", "therapist", "LCSW", "1234", clock.now())
    clinicians.charting_as(store, a)
    with store.db.atomic():
        store.add_client("K-009", None, False, clock.now())
    view = _home(qtbot, service, tmp_path)
    assert not view.measure_prompts.isVisible()
    measures.add_measure(store, None, "K-009", "phq9", [0] * 9, clock)
    view.refresh()
    assert not view.measure_prompts.isVisible()  # item 9 at 0: nothing to acknowledge
    flagged = measures.add_measure(store, None, "K-009", "phq9", [1, 1, 0, 0, 0, 0, 0, 0, 2], clock)
    view.refresh()
    assert view.measure_prompts.isVisible()
    [line] = view.measure_prompts.lines()
    assert line.startswith("K-009 · PHQ-9 of ") and "item 9" in line
    # a new screen (a restart) still shows it: it is the database's, not the widget's
    again = _home(qtbot, service, tmp_path)
    assert again.measure_prompts.isVisible()
    [button] = view.measure_prompts.buttons
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert not view.measure_prompts.isVisible()
    assert measures.open_prompts(store) == []
    row = store.conn.execute(
        "SELECT author, author_role FROM measure_acks WHERE measure_id = ?", [flagged.id]
    ).fetchone()
    assert tuple(row) == ("A. Rivera", "therapist")
    again.refresh()
    assert not again.measure_prompts.isVisible()
