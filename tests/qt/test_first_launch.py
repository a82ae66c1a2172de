"""The first launch explains itself and offers a rehearsal; the explanation goes once a session
exists."""

from __future__ import annotations

from collections.abc import Callable

from kapsession.session.live import SessionPlan
from kapsession.storage.store import Store
from ui.main_window import MainWindow


def test_an_empty_data_folder_shows_the_welcome_and_the_rehearsal_offer(
    make_window: Callable[..., MainWindow], store: Store
) -> None:
    window = make_window(lambda _title, _text: True)
    home = window.home
    assert home.welcome.isVisible() and not home.table.isVisible()
    assert "Rehearse with a demo client" in home.welcome.text()
    assert home.rehearsal_button.isVisible() and home.rehearsal_button.isEnabled()

    home.service.plan(SessionPlan("C-101", "KAP IM", "intramuscular", 50.0, 45))
    home.refresh()
    assert not home.welcome.isVisible() and home.table.isVisible()
    assert home.table.rowCount() == 1
