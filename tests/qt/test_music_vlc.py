"""The music controller on real libVLC: generated audio in WAV, FLAC, Ogg Vorbis and MP3, a
corrupt and a missing track, the audio output replaced by `amem` callbacks so the volume
libVLC actually applies can be heard (measured, not assumed).

Every wait is on something the session or libVLC reports, with a generous timeout that only
bounds a hang. The ramps are checked by their order and the levels libVLC applied (they rise or
fall step by step, never jump, never pass the asked level); how long they take is measured by the
benchmarks (bench/), not asserted here."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.qt import show_active
from helpers.vlc_threads import CallThreads

from kapsession.clock import FakeClock
from kapsession.session.live import LiveSession, SessionPlan, SessionService
from ui.live.music import MusicController, open_vlc_decks, release_vlc_decks
from ui.live.screen import LiveView

vlc = pytest.importorskip("vlc")
pytestmark = pytest.mark.skipif(shutil.which("sox") is None, reason="sox makes the test audio")


def sox(path: Path, seconds: float, freq: int) -> Path:
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            "22050",
            "-c",
            "1",
            str(path),
            "synth",
            str(seconds),
            "sine",
            str(freq),
            "vol",
            "0.2",
        ],
        check=True,
        capture_output=True,
    )
    return path


class Heard:
    """What libVLC's audio outputs were told, in order: (deck, "volume", level) from the amem
    volume callback and (deck, "buffer", frames) from its sample callback. Recorded on libVLC's
    threads under a lock."""

    def __init__(self) -> None:
        self.log: list[tuple[int, str, float]] = []
        self.samples = [0, 0]
        self._lock = threading.Lock()
        self._keep: list[Any] = []

    def attach(self, deck_index: int, player: Any) -> None:
        @vlc.CallbackDecorators.AudioPlayCb  # type: ignore[untyped-decorator]
        def play(_data: Any, _samples: Any, count: int, _pts: int) -> None:
            with self._lock:
                self.samples[deck_index] += count
                self.log.append((deck_index, "buffer", count))

        @vlc.CallbackDecorators.AudioSetVolumeCb  # type: ignore[untyped-decorator]
        def volume(_data: Any, level: float, _mute: bool) -> None:
            with self._lock:
                self.log.append((deck_index, "volume", round(level, 3)))

        self._keep += [play, volume]
        player.audio_set_callbacks(play, None, None, None, None, None)
        player.audio_set_volume_callback(volume)
        player.audio_set_format("S16N", 22050, 1)
        # audio_set_callbacks drops the output libVLC made with the player; make the amem one
        # now, as media_player_new() does for the default output.
        assert player.audio_output_set("amem") == 0

    def mark(self) -> int:
        with self._lock:
            return len(self.log)

    def levels(self, deck: int, since: int = 0) -> list[float]:
        """The volumes deck's output reported, in order."""
        with self._lock:
            return [v for d, kind, v in self.log[since:] if d == deck and kind == "volume"]

    def levels_at_buffers(self, deck: int) -> list[float | None]:
        """The volume in force on deck's output as each of its buffers arrived."""
        level: float | None = None
        seen = []
        with self._lock:
            for d, kind, value in self.log:
                if d != deck:
                    continue
                if kind == "volume":
                    level = value
                else:
                    seen.append(level)
        return seen

    def first_deck(self) -> int:
        with self._lock:
            return self.log[0][0]


@pytest.fixture
def heard() -> Heard:
    return Heard()


@pytest.fixture
def wrappers() -> list[CallThreads]:
    return []


def make_arc(folder: Path, tracks: list[tuple[str, str]], fade_in_s: float) -> Path:
    lines = [
        "[arc]",
        'id = "real"',
        'name = "Real libVLC"',
        "planned_minutes = 45",
        "",
        "[[phases]]",
        'name = "peak"',
        "start_minutes = 0",
        "minutes = 45",
        f"fade_in_s = {fade_in_s}",
        "",
    ]
    for name, title in tracks:
        lines += ["[[phases.tracks]]", f'path = "{name}"', f'title = "{title}"', ""]
    path = folder / "real.arc.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def run_arc(
    qtbot, service: SessionService, clock: FakeClock, heard: Heard, wrappers: list[CallThreads]
) -> Iterator[Callable[[Path], tuple[LiveView, LiveSession]]]:
    views: list[LiveView] = []

    def opener(hand_on: Callable[[int, str, str, int], None]) -> Any:
        decks = open_vlc_decks(hand_on, "dummy")
        assert not isinstance(decks, str), decks
        for i, deck in enumerate(decks):
            heard.attach(i, deck._player)  # type: ignore[attr-defined]
            wrapper = CallThreads(deck._player)  # type: ignore[attr-defined]
            deck._player = wrapper  # type: ignore[attr-defined]
            wrappers.append(wrapper)
        return decks

    def start(arc: Path) -> tuple[LiveView, LiveSession]:
        record = service.plan(
            SessionPlan("C-031", "KAP IM", "intramuscular", 50.0, 45, "", arc=str(arc))
        )
        live = service.give_dose(record.id)

        def music(lv: LiveSession, report: Callable[[str], None]) -> MusicController:
            return MusicController(
                lv, lv.record.arc, opener=opener, release=release_vlc_decks, report=report
            )

        view = LiveView(live, music=music)
        qtbot.addWidget(view)
        show_active(qtbot, view)
        views.append(view)
        return view, live

    yield start
    for view in views:
        view.stop()
    os.environ.pop("KAPSESSION_AUDIO_OUTPUT", None)
    main = threading.main_thread().ident
    for wrapper in wrappers:  # no libVLC call ever came from a libVLC thread
        assert wrapper.threads <= {main}


def started(live: LiveSession) -> list[str]:
    return [str(e.data["title"]) for e in live.events() if e.kind == "track_started"]


def test_four_formats_play_in_order_and_a_corrupt_and_a_missing_track_are_skipped(
    qtbot,
    tmp_path: Path,
    run_arc: Callable[[Path], tuple[LiveView, LiveSession]],
    heard: Heard,
) -> None:
    sox(tmp_path / "one.wav", 2.5, 220)
    (tmp_path / "two.mp3").write_bytes(os.urandom(120_000))  # random bytes named .mp3
    sox(tmp_path / "three.flac", 2.5, 330)
    sox(tmp_path / "five.ogg", 2.5, 440)
    sox(tmp_path / "six.mp3", 2.5, 550)
    arc = make_arc(
        tmp_path,
        [
            ("one.wav", "WAV"),
            ("two.mp3", "Corrupt"),
            ("three.flac", "FLAC"),
            ("four-missing.ogg", "Missing"),
            ("five.ogg", "OGG"),
            ("six.mp3", "MP3"),
        ],
        fade_in_s=0.5,
    )
    _view, live = run_arc(arc)

    qtbot.waitUntil(
        lambda: started(live)[:7] == ["WAV", "Corrupt", "FLAC", "Missing", "OGG", "MP3", "WAV"],
        timeout=60_000,
    )

    faults = [e.data for e in live.events() if e.kind == "playback_fault"]
    assert [Path(str(f["path"])).name for f in faults[:2]] == ["two.mp3", "four-missing.ogg"]
    assert "length unknown" in str(faults[0]["detail"])  # the corrupt file just "ended"
    assert "could not play" in str(faults[1]["detail"])  # the missing file raised an error
    assert len(faults) == 2  # every real file played without a fault
    ended = [e.data for e in live.events() if e.kind == "track_ended"]
    assert [e["title"] for e in ended[:6]] == ["WAV", "Corrupt", "FLAC", "Missing", "OGG", "MP3"]
    # libVLC's position for a 2.5 s file: ~1.2 s when its (early, by file-caching) end arrives;
    # for Ogg it still reads 0 then. Long tracks' positions move in real time (see STALL_S).
    positions = {str(e["title"]): float(str(e["position"])) for e in ended[:6]}
    assert all(positions[name] > 0.5 for name in ("WAV", "FLAC", "MP3")), positions
    assert heard.samples[0] > 0 and heard.samples[1] > 0  # real decoding on both decks
    assert [e.kind for e in live.events()][:3] == ["dose", "phase", "track_started"]


def test_crossfade_and_fade_to_silence_ramp_step_by_step_as_libvlc_applies_them(
    qtbot,
    tmp_path: Path,
    run_arc: Callable[[Path], tuple[LiveView, LiveSession]],
    heard: Heard,
) -> None:
    sox(tmp_path / "a.ogg", 4, 220)
    sox(tmp_path / "b.flac", 30, 330)
    arc = make_arc(tmp_path, [("a.ogg", "A"), ("b.flac", "B")], fade_in_s=2.0)
    view, live = run_arc(arc)
    music = view.music
    assert music is not None and music.player is not None
    full = music.target_volume / 100
    qtbot.waitUntil(lambda: started(live) == ["A", "B"], timeout=30_000)
    a = heard.first_deck()
    b = 1 - a  # B plays on the other deck
    qtbot.waitUntil(lambda: full in heard.levels(b), timeout=30_000)  # the crossfade completes

    into_b = heard.levels(b)
    # From silence, only rising. The first level libVLC reports is 0 or, when its output took
    # longer to open than the deck waits for it (a loaded machine), the fade's first step
    # (0.14 of 0.70 at the first tick, seen in CI): never near full.
    assert into_b[0] < full / 2 and into_b == sorted(into_b), into_b
    assert len({v for v in into_b if 0.0 < v < full}) >= 4, into_b  # many steps, not a jump
    a_levels = heard.levels(a)
    a_out = a_levels[a_levels.index(max(a_levels)) :]
    assert a_out == sorted(a_out, reverse=True), a_levels  # A only falls once at its top
    # No output ever played a buffer louder than asked: libVLC's outputs open at 100 % unless a
    # volume is set on them first, and the decks keep theirs (set_media, not stop).
    for deck in (a, b):
        assert heard.levels_at_buffers(deck) and max(heard.levels(deck)) <= full
        assert all(v is not None and v <= full for v in heard.levels_at_buffers(deck))

    mark = heard.mark()
    music.toggle_silence()
    qtbot.waitUntil(lambda: 0.0 in heard.levels(b, since=mark), timeout=15_000)
    falling = heard.levels(b, since=mark)
    assert falling == sorted(falling, reverse=True), falling  # only falling, to silence
    assert len([v for v in falling if 0.0 < v < full]) >= 6, falling
    assert [e.data["on"] for e in live.events() if e.kind == "silence"] == [True]
