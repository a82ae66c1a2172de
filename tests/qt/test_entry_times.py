"""The same entry shows the same time since the dose on every screen: the live stream and the
review's list of entries floor like the clock (the exports: tests/unit/test_entry_text.py)."""

from __future__ import annotations

from helpers.qt import stream_texts
from PySide6.QtCore import Qt

from kapsession.clock import FakeClock
from kapsession.integration.review import build_review
from kapsession.session.live import LiveSession
from kapsession.storage.store import Store
from ui.live.screen import LiveView
from ui.review.entry_table import EntriesModel


def test_an_entry_at_59_7_seconds_shows_t_plus_00_59_in_the_stream_and_the_review(
    view: LiveView, live: LiveSession, clock: FakeClock, store: Store
) -> None:
    clock.advance(59.7)
    note = live.add_note("the room feels warm")

    assert stream_texts(view.stream)[-1] == "T+00:59   the room feels warm"
    model = EntriesModel(build_review(store, live.record.id))
    row = model.row_of[note.seq]
    shown = model.data(model.index(row, 0), Qt.ItemDataRole.DisplayRole)
    assert shown == "T+00:59"
    assert model.data(model.index(row, 1), Qt.ItemDataRole.DisplayRole) == (
        "Note: the room feels warm"
    )
