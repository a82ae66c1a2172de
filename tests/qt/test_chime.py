"""The optional soft chime when a check comes due: off by default, Alt+C turns it on, never
for a check recorded late after a gap, and a broken player never disturbs the session."""

from __future__ import annotations

from pathlib import Path

from helpers.monitoring import ALT, protocol_service, start_sublingual
from helpers.qt import show_active
from PySide6.QtCore import QSettings, Qt

from kapsession.music.cue import CHIME, CHIME_VOLUME
from ui.live.screen import LiveView


class FakeCuePlayer:
    def __init__(self) -> None:
        self.played: list[tuple[Path, int]] = []

    def play_cue(self, path: Path, volume: int) -> None:
        self.played.append((path, volume))


def _view(qtbot, store, clock, player) -> LiveView:
    live = start_sublingual(protocol_service(store, clock))
    view = LiveView(live, lambda: player)
    qtbot.addWidget(view)
    show_active(qtbot, view)
    return view


def test_the_chime_is_off_by_default(qtbot, store, clock) -> None:
    player = FakeCuePlayer()
    view = _view(qtbot, store, clock, player)
    assert not view.chime_button.isChecked()
    clock.advance(15 * 60)
    view._on_check_time()
    assert any(e.kind == "check_due" for e in view.live.events()[2:])
    assert player.played == []


def test_alt_c_turns_it_on_and_a_due_check_chimes_once_quietly(qtbot, store, clock) -> None:
    player = FakeCuePlayer()
    view = _view(qtbot, store, clock, player)
    qtbot.keyClick(view.note, Qt.Key.Key_C, ALT)
    assert view.chime_button.isChecked()
    assert QSettings().value("checks/chime", type=bool) is True
    clock.advance(15 * 60)
    view._on_check_time()
    view._on_check_time()
    assert player.played == [(CHIME, CHIME_VOLUME)]
    assert CHIME.is_file() and CHIME_VOLUME <= 50


def test_no_chime_for_checks_recorded_late_after_a_gap(qtbot, store, clock) -> None:
    player = FakeCuePlayer()
    view = _view(qtbot, store, clock, player)
    view.chime_button.setChecked(True)
    clock.suspend(40 * 60)
    view._on_tick()
    view._on_check_time()
    late = [e for e in view.live.events() if e.kind == "check_due" and e.data.get("recorded_late")]
    assert late
    assert player.played == []


def test_a_failing_player_does_not_stop_the_check(qtbot, store, clock) -> None:
    class Broken:
        def play_cue(self, path: Path, volume: int) -> None:
            raise OSError("no audio device")

    view = _view(qtbot, store, clock, Broken())
    view.chime_button.setChecked(True)
    clock.advance(15 * 60)
    view._on_check_time()
    assert "DUE" in view.check_badge.text()
    assert view.note.hasFocus()
