"""The home screen's music pre-flight goes through the executor it is handed: the screen says
it is checking while the answer is out, shows the answer when it comes back, and a newer choice
supersedes an older answer. A held executor stands in for the app's thread: no waiting."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.monitoring import protocol_service

from kapsession.clock import FakeClock
from kapsession.music.arc import Arc, available_arcs
from kapsession.music.cue import PLAYLISTS
from kapsession.music.preflight import PreflightReport, summarize
from kapsession.music.probe import MediaProbe
from kapsession.storage.store import Store
from ui.home import NO_MUSIC, HomeView


class HeldExecutor:
    """Keeps each piece of work until the test lets it run, as a worker thread might."""

    def __init__(self) -> None:
        self.held: list[tuple[Callable[[], Any], Callable[[Any], None]]] = []

    def submit(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        self.held.append((work, done))

    def run(self, index: int) -> None:
        work, done = self.held.pop(index)
        done(work())


def fake_check(arc: Arc, minutes: int) -> PreflightReport:
    status = "missing" if arc.id == "im-45" else "ok"
    return summarize([MediaProbe(Path(f"/{arc.id}.ogg"), status, 60.0 * minutes, "")], minutes)


@pytest.fixture
def home(qtbot, store: Store, clock: FakeClock, tmp_path: Path) -> tuple[HomeView, HeldExecutor]:
    arcs, errors = available_arcs([PLAYLISTS])
    assert errors == []
    executor = HeldExecutor()
    view = HomeView(
        protocol_service(store, clock),
        lambda _t, _x: True,
        str(tmp_path),
        arcs,
        fake_check,
        executor,
    )
    qtbot.addWidget(view)
    executor.held.clear()  # what the first choice of protocol sent
    return view, executor


def choose(combo, data: str) -> None:  # type: ignore[no-untyped-def]
    combo.setCurrentIndex(combo.findData(data))


def test_the_line_says_checking_until_the_answer_comes_back(
    home: tuple[HomeView, HeldExecutor],
) -> None:
    view, executor = home
    by_id = {a.id: p for p, a in view.arc_picker.arcs.items()}
    choose(view.arc, NO_MUSIC)
    view.planned.setValue(75)
    choose(view.arc, by_id["lozenge-75"])
    assert view.arc_status.text() == "Checking every track of the arc…"
    assert len(executor.held) == 1
    executor.run(0)
    assert view.arc_status.text() == "All 1 tracks play · 1:15:00 for 1:15:00 planned"
    assert view.arc_status.property("role") == "muted"


def test_an_older_answer_never_overwrites_a_newer_choice(
    home: tuple[HomeView, HeldExecutor],
) -> None:
    view, executor = home
    by_id = {a.id: p for p, a in view.arc_picker.arcs.items()}
    choose(view.arc, NO_MUSIC)
    choose(view.arc, by_id["im-45"])  # would fail
    choose(view.arc, by_id["lozenge-75"])  # plays
    assert len(executor.held) == 2
    executor.run(1)  # the newer answer first
    newer = view.arc_status.text()
    executor.run(0)  # then the older one: kept, not shown
    assert view.arc_status.text() == newer
    assert "would not play" not in newer
    choose(view.arc, by_id["im-45"])  # now known: shown at once, nothing sent
    assert view.arc_status.text().startswith("1 of 1 tracks would not play")
    assert view.arc_status.property("role") == "status"
    assert executor.held == []
    choose(view.arc, NO_MUSIC)
    assert view.arc_status.text() == ""
