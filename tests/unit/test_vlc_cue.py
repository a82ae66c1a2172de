"""The libVLC cue player, for real, and its fallbacks.

The level is watched where libVLC applies it: its audio output replaced by `amem` callbacks, the
volume callback and the sample callback recorded in one ordered log. amem hands the samples on
unscaled and reports the output's volume through the volume callback before the first buffer of
each stream, as a real output (PulseAudio) takes it at stream start. (amem's other mode, software
volume without a volume callback, resets its gain at every stream start and applies only a volume
set after the stream began, so the sample amplitude cannot show the first buffer's level; libVLC
outputs that scale in software, ALSA's, re-apply the gain at the start.)

Waits are on threading events with generous timeouts: they bound a hang, they time nothing."""

from __future__ import annotations

import array
import ctypes
import sys
import threading
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kapsession.music.cue import CHIME, CHIME_VOLUME, SilentPlayer
from kapsession.music.vlc_player import VlcCuePlayer, open_cue_player

vlc = pytest.importorskip("vlc")
WAIT_S = 10.0


class Tap:
    """amem callbacks on a cue player's libVLC player: an ordered log of ("volume", level) and
    ("buffer", frames, peak), and an event per end of media. Recorded on libVLC's threads."""

    def __init__(self, player: Any, *, create_output: bool) -> None:
        self.log: list[tuple[str, float, int]] = []
        self.ends = 0
        self._lock = threading.Condition()

        @vlc.CallbackDecorators.AudioPlayCb  # type: ignore[untyped-decorator]
        def play(_data: Any, samples: int, count: int, _pts: int) -> None:
            pcm = (ctypes.c_int16 * count).from_address(samples) if count else ()
            with self._lock:
                self.log.append(("buffer", count, max((abs(s) for s in pcm), default=0)))

        @vlc.CallbackDecorators.AudioSetVolumeCb  # type: ignore[untyped-decorator]
        def volume(_data: Any, level: float, _mute: bool) -> None:
            with self._lock:
                self.log.append(("volume", round(level, 3), 0))

        def ended(_event: Any) -> None:
            with self._lock:
                self.ends += 1
                self._lock.notify_all()

        self._keep = (play, volume, ended)  # ctypes needs them alive as long as the player
        player.audio_set_callbacks(play, None, None, None, None, None)
        player.audio_set_volume_callback(volume)
        player.audio_set_format("S16N", 44100, 1)  # the chime's own format: samples unchanged
        if create_output:
            # audio_set_callbacks drops the output libVLC made with the player; this makes the
            # amem one at once, as media_player_new() does for the default output.
            assert player.audio_output_set("amem") == 0
        player.event_manager().event_attach(vlc.EventType.MediaPlayerEndReached, ended)

    def wait_for_ends(self, count: int) -> None:
        with self._lock:
            assert self._lock.wait_for(lambda: self.ends >= count, WAIT_S), self.log[-5:]

    def levels_at_each_buffer(self) -> list[float | None]:
        """The volume in force when each buffer reached the output (None: none reported yet)."""
        level: float | None = None
        seen = []
        with self._lock:
            for kind, value, _peak in self.log:
                if kind == "volume":
                    level = value
                else:
                    seen.append(level)
        return seen

    def buffers(self) -> list[tuple[int, int]]:
        with self._lock:
            return [(int(v), peak) for kind, v, peak in self.log if kind == "buffer"]


def chime_source() -> tuple[int, int]:
    """Frames and peak sample of the chime file."""
    with wave.open(str(CHIME)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 44100)
        pcm = array.array("h", w.readframes(w.getnframes()))
    return len(pcm), max(abs(s) for s in pcm)


@pytest.fixture
def cue() -> Iterator[VlcCuePlayer]:
    player = open_cue_player()
    assert isinstance(player, VlcCuePlayer), getattr(player, "reason", "")
    yield player
    player.release()


def test_the_chime_plays_at_its_volume_from_the_first_buffer(cue: VlcCuePlayer) -> None:
    tap = Tap(cue._player, create_output=True)
    asked = CHIME_VOLUME / 100

    cue.play_cue(CHIME, CHIME_VOLUME)
    tap.wait_for_ends(1)
    cue.play_cue(CHIME, CHIME_VOLUME)  # and again, as the next due check does
    tap.wait_for_ends(2)

    levels = tap.levels_at_each_buffer()
    assert levels and set(levels) == {asked}, tap.log[:4]  # not one buffer at 1.0
    assert [v for kind, v, _ in tap.log if kind == "volume"] == [asked, asked]
    # The whole chime reached the output each time, unscaled: the output applies the level.
    frames, peak = chime_source()
    buffers = tap.buffers()
    assert sum(n for n, _ in buffers) == 2 * frames
    assert max(p for _, p in buffers) == peak


def test_a_cue_over_a_cue_still_playing_keeps_the_level(cue: VlcCuePlayer) -> None:
    tap = Tap(cue._player, create_output=True)
    cue.play_cue(CHIME, 20)
    cue.play_cue(CHIME, CHIME_VOLUME)  # replaces the first before it ends
    tap.wait_for_ends(1)
    levels = tap.levels_at_each_buffer()
    assert levels and set(levels) <= {0.2, CHIME_VOLUME / 100}, tap.log[:4]
    assert levels[-1] == CHIME_VOLUME / 100


def test_a_player_that_lost_its_output_gets_the_level_at_once_and_keeps_it(
    cue: VlcCuePlayer,
) -> None:
    """Without an output (audio_set_callbacks dropped it, as stop() would) libVLC opens one at
    100 % after play(); the player sets the level the moment it exists, and the next cue, on
    that output, is at the level from its first buffer."""
    tap = Tap(cue._player, create_output=False)
    asked = CHIME_VOLUME / 100
    cue.play_cue(CHIME, CHIME_VOLUME)
    tap.wait_for_ends(1)
    first = [v for kind, v, _ in tap.log if kind == "volume"]
    assert first[0] == 1.0 and first[-1] == asked, first  # opened at 100 %, then the level
    before = len(tap.levels_at_each_buffer())
    cue.play_cue(CHIME, CHIME_VOLUME)
    tap.wait_for_ends(2)
    assert set(tap.levels_at_each_buffer()[before:]) == {asked}


def test_the_chime_really_plays_through_the_dummy_output() -> None:
    player = open_cue_player(("--aout=dummy", "--quiet", "--no-video"))
    assert isinstance(player, VlcCuePlayer), getattr(player, "reason", "")
    done = threading.Event()
    errors: list[Any] = []
    events = player._player.event_manager()
    events.event_attach(vlc.EventType.MediaPlayerEndReached, lambda _e: done.set())
    events.event_attach(vlc.EventType.MediaPlayerEncounteredError, errors.append)
    player.play_cue(CHIME, CHIME_VOLUME)
    assert done.wait(WAIT_S), "the chime never ended"
    assert errors == []
    player.release()


def test_no_libvlc_means_a_silent_player_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vlc", None)  # import vlc -> ImportError
    player = open_cue_player()
    assert isinstance(player, SilentPlayer)
    assert "libVLC could not be loaded" in player.reason
    assert player.play_cue(CHIME, 35) is None  # and playing through it is harmless


def test_a_missing_cue_file_plays_nothing_and_raises_nothing(tmp_path: Path) -> None:
    player = open_cue_player(("--aout=dummy", "--quiet"))
    assert isinstance(player, VlcCuePlayer), getattr(player, "reason", "")
    player.play_cue(tmp_path / "nothing.wav", 35)
    assert player._player.get_media() is None  # nothing was loaded, nothing plays
    assert player._player.get_state() == vlc.State.NothingSpecial
    player.release()
