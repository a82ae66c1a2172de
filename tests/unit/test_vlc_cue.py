"""The libVLC cue player, for real (dummy audio output), and its fallbacks."""

from __future__ import annotations

import sys
import time

import pytest

from kapsession.audio import CHIME, SilentPlayer
from kapsession.vlc_player import VlcCuePlayer, open_cue_player


def test_the_chime_really_plays_through_libvlc() -> None:
    import vlc

    player = open_cue_player(("--aout=dummy", "--quiet", "--no-video"))
    assert isinstance(player, VlcCuePlayer), getattr(player, "reason", "")
    player.play_cue(CHIME, 35)
    deadline = time.monotonic() + 10
    seen = set()
    while time.monotonic() < deadline:  # polling a real player's state; not a timing assertion
        state = player._player.get_state()
        seen.add(state)
        if state in (vlc.State.Playing, vlc.State.Ended):
            break
        time.sleep(0.02)
    assert seen & {vlc.State.Playing, vlc.State.Ended}, seen
    assert vlc.State.Error not in seen
    player.release()


def test_no_libvlc_means_a_silent_player_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vlc", None)  # import vlc -> ImportError
    player = open_cue_player()
    assert isinstance(player, SilentPlayer)
    assert "libVLC could not be loaded" in player.reason
    player.play_cue(CHIME, 35)  # and playing through it is harmless


def test_a_missing_cue_file_is_not_an_error(tmp_path) -> None:
    player = open_cue_player(("--aout=dummy", "--quiet"))
    player.play_cue(tmp_path / "nothing.wav", 35)
