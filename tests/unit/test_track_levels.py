"""Every track at the arc's loudness (issue 17), on real files, real ffmpeg, real libebur128 and
real libVLC.

Four tracks are made with sox at about -40, -23 and -9 LUFS (FLAC, Ogg Vorbis, WAV) and one MP3
that carries ReplayGain tags (written with mutagen). The pre-flight measures them (the tagged
one from its tags, not decoded) into the data folder's cache; the arc player then plays each on
real libVLC decks whose output goes into `amem` callbacks with no volume callback of ours, so
libVLC applies the deck's volume to the samples itself, as it does for a real output. What
comes out is measured again with libebur128: every track within +-1 LU of the target and under
-1 dBTP, where the same tracks played without the gain spread over 30 LU."""

from __future__ import annotations

import array
import ctypes
import io
import json
import math
import os
import random
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kapsession.cli import commands
from kapsession.music import r128
from kapsession.music.arc import Arc, Phase, Track
from kapsession.music.arc_player import ArcPlayer
from kapsession.music.levels import TRUE_PEAK_CEILING_DBTP, Level, gain_db
from kapsession.music.preflight import known_levels, with_levels
from kapsession.music.probe import MediaProbe
from kapsession.music.vlc_player import VlcDeck, open_decks, release_decks

vlc = pytest.importorskip("vlc")
pyebur128 = pytest.importorskip("pyebur128")
mutagen_id3 = pytest.importorskip("mutagen.id3")
pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("sox") is None,
    reason="ffmpeg and sox are installed by scripts/bootstrap.sh",
)

SECONDS = 5
RATE = 48000
# (file, sox synthesis, about how loud it is)
TRACKS = {
    "quiet.flac": (["pinknoise", "vol", "0.034"], -40.0),
    "middle.ogg": (["pinknoise", "vol", "0.24"], -23.0),
    "loud.wav": (["sine", "440", "sine", "660", "vol", "0.4"], -9.0),
    "tagged.mp3": (["pinknoise", "vol", "0.09"], -31.0),
}


def _sox(path: Path, synth: list[str]) -> None:
    subprocess.run(
        ["sox", "-n", "-r", "44100", "-c", "2", str(path), "synth", str(SECONDS), *synth],
        check=True,
        capture_output=True,
    )


def _tag_replaygain(path: Path, level: Level) -> None:
    tags = mutagen_id3.ID3()
    gain = -18.0 - level.loudness_lufs
    tags.add(mutagen_id3.TXXX(desc="REPLAYGAIN_TRACK_GAIN", text=[f"{gain:+.2f} dB"]))
    peak = 10 ** (level.true_peak_dbtp / 20)
    tags.add(mutagen_id3.TXXX(desc="REPLAYGAIN_TRACK_PEAK", text=[f"{peak:.6f}"]))
    tags.save(path)


@pytest.fixture(scope="module")
def tracks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("levels")
    made = {}
    for name, (synth, _about) in TRACKS.items():
        made[name] = folder / name
        _sox(made[name], synth)
    tagged = made["tagged.mp3"]
    measured = r128.analyze(tagged)
    assert measured is not None
    _tag_replaygain(tagged, measured)
    made["corrupt.mp3"] = folder / "corrupt.mp3"
    made["corrupt.mp3"].write_bytes(random.Random(17).randbytes(60_000))
    return made


class CountingAnalyzer:
    def __init__(self) -> None:
        self.calls: list[Path] = []

    def __call__(self, path: Path) -> Level | None:
        self.calls.append(path)
        return r128.analyze(path)


def _ok(path: Path) -> MediaProbe:
    return MediaProbe(path, "ok", float(SECONDS), "")


def test_each_generated_track_measures_about_as_loud_as_it_was_made(
    tracks: dict[str, Path],
) -> None:
    for name, (_synth, about) in TRACKS.items():
        level = r128.analyze(tracks[name])
        assert level is not None, name
        assert level.loudness_lufs == pytest.approx(about, abs=2.0), (name, level)
    # True peak, not sample peak: a sine's inter-sample peak is found, and the -9 LUFS track's
    # gain is held by the target (its peak is low), the -40 one's by neither.
    assert r128.analyze(tracks["corrupt.mp3"]) is None


def test_true_peak_is_the_oversampled_peak_not_the_sample_peak(tmp_path: Path) -> None:
    """A sine at a quarter of the sample rate, phased so every sample lands at 45 degrees:
    the samples peak at 0.707 of the wave's real peak (-3 dB), which 4x oversampling finds."""
    rate, n = 48000, 48000
    amplitude = 0.5
    samples = array.array(
        "f",
        (
            amplitude * math.sin(2 * math.pi * (rate / 4) * i / rate + math.pi / 4)
            for i in range(n)
            for _channel in range(2)
        ),
    )
    raw = tmp_path / "quarter.f32"
    raw.write_bytes(samples.tobytes())
    wav = tmp_path / "quarter.wav"
    subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-f", "f32le", "-ar", str(rate), "-ac", "2"),
            *("-i", str(raw), "-c:a", "pcm_f32le", str(wav)),
        ],
        check=True,
    )
    level = r128.analyze(wav)
    assert level is not None
    sample_peak_db = 20 * math.log10(amplitude * math.sqrt(0.5))
    assert level.true_peak_dbtp == pytest.approx(20 * math.log10(amplitude), abs=0.3)
    assert level.true_peak_dbtp > sample_peak_db + 2.5


def test_the_tags_are_used_the_cache_is_reused_and_a_corrupt_file_gets_no_gain(
    tracks: dict[str, Path], tmp_path: Path
) -> None:
    names = ["quiet.flac", "middle.ogg", "loud.wav", "tagged.mp3"]
    probes = [_ok(tracks[n]) for n in names]
    probes.append(MediaProbe(tracks["corrupt.mp3"], "undecodable", None, "parsed but did not play"))
    first = CountingAnalyzer()
    measured = with_levels(probes, r128.LevelCache.in_folder(tmp_path), -23.0, first)
    # The tagged file is read from its tags, not decoded; the corrupt one is never touched.
    assert sorted(p.name for p in first.calls) == sorted(["quiet.flac", "middle.ogg", "loud.wav"])
    by_name = {p.path.name: p for p in measured}
    assert by_name["tagged.mp3"].level_source == "replaygain"
    assert {by_name[n].level_source for n in names[:3]} == {"analysis"}
    for name in names:
        p = by_name[name]
        assert p.gain_db is not None and p.loudness_lufs is not None
        assert p.true_peak_dbtp is not None
        assert p.true_peak_dbtp + p.gain_db <= TRUE_PEAK_CEILING_DBTP + 1e-9
    assert by_name["quiet.flac"].gain_db == pytest.approx(17, abs=2.5)
    assert by_name["loud.wav"].gain_db == pytest.approx(-14, abs=2.5)
    corrupt = by_name["corrupt.mp3"]
    assert (corrupt.loudness_lufs, corrupt.gain_db) == (None, None)
    cached = json.loads((tmp_path / r128.CACHE_NAME).read_text())
    assert len(cached["levels"]) == 4
    assert not any(str(tmp_path) in k or "flac" in k for k in cached["levels"])  # hashes only

    second = CountingAnalyzer()
    again = with_levels(probes, r128.LevelCache.in_folder(tmp_path), -23.0, second)
    assert second.calls == []  # every level from the cache
    assert again == measured

    # A renamed copy keeps its level (by content); an edited file is measured anew.
    moved = tmp_path / "renamed.flac"
    shutil.copy(tracks["quiet.flac"], moved)
    third = CountingAnalyzer()
    with_levels([_ok(moved)], r128.LevelCache.in_folder(tmp_path), -23.0, third)
    assert third.calls == []
    with open(moved, "ab") as fh:
        fh.write(b"\0")
    with_levels([_ok(moved)], r128.LevelCache.in_folder(tmp_path), -23.0, third)
    assert third.calls == [moved]


def test_playlist_check_shows_levels_and_reuses_its_cache(
    tracks: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    playlist = tmp_path / "mix.m3u8"
    names = ["quiet.flac", "middle.ogg", "loud.wav", "tagged.mp3", "corrupt.mp3"]
    playlist.write_text("\n".join(str(tracks[n]) for n in names) + "\n", encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    calls: list[Path] = []
    real = r128.analyze

    def counting(path: Path, timeout_s: float = 600.0) -> Level | None:
        calls.append(path)
        return real(path, timeout_s)

    monkeypatch.setattr(r128, "analyze", counting)

    def check(*extra: str) -> tuple[int, str]:
        out = io.StringIO()
        argv = ["playlist", "check", str(playlist), "--data-dir", str(data), *extra]
        return commands.run_command(commands.parse_args(argv), out), out.getvalue()

    code, text = check()
    assert code == 1  # the corrupt file would fail
    assert len(calls) == 3
    lines = text.splitlines()
    assert "LUFS" in lines[0] and "dBTP" in lines[0] and "gain +" in lines[0], lines[0]
    assert "gain -" in lines[2], lines[2]
    assert "(replaygain tags)" in lines[3], lines[3]
    assert lines[4].startswith("undecodable") and "LUFS" not in lines[4], lines[4]

    code, text = check("--format", "json")
    assert code == 1
    assert len(calls) == 3  # the second check analysed nothing: the cache answered
    rows = [json.loads(line) for line in text.splitlines()]
    assert [r["status"] for r in rows] == ["ok"] * 4 + ["undecodable"]
    for row in rows:
        assert list(row)[:6] == [
            "path",
            "status",
            "duration_s",
            "loudness_lufs",
            "true_peak_dbtp",
            "gain_db",
        ]
    assert rows[4]["gain_db"] is None and rows[4]["loudness_lufs"] is None
    assert rows[0]["gain_db"] == pytest.approx(-23.0 - rows[0]["loudness_lufs"], abs=0.02)


# --- through real libVLC ---------------------------------------------------------------------


class Capture:
    """One deck's output through `amem`: the samples libVLC decoded (16-bit stereo, 48 kHz) at
    the volume libVLC's output was set to when each buffer came, applied here as libVLC's own
    software mixer and PulseAudio apply it: amplitude (volume)^3 (measured in
    test_libvlc_volume_is_cubic_and_goes_above_100). A volume callback rather than libVLC's
    software gain because amem without one loses the gain at every new stream (a new track
    on the same deck played at 100 % here), which the real outputs do not: they keep or
    re-request their volume."""

    def __init__(self, player: Any) -> None:
        self.samples = array.array("f")
        self.lock = threading.Lock()
        self.volume = 1.0

        @vlc.CallbackDecorators.AudioPlayCb  # type: ignore[untyped-decorator]
        def on_samples(_data: Any, samples: Any, count: int, _pts: int) -> None:
            raw = array.array("h")
            raw.frombytes(ctypes.string_at(samples, count * 2 * 2))  # libVLC thread: copy only
            factor = self.volume**3 / 32768.0
            with self.lock:
                self.samples.extend(x * factor for x in raw)

        @vlc.CallbackDecorators.AudioSetVolumeCb  # type: ignore[untyped-decorator]
        def on_volume(_data: Any, volume: float, _mute: bool) -> None:
            self.volume = volume

        self.callbacks = (on_samples, on_volume)  # alive as long as the player
        player.audio_set_callbacks(on_samples, None, None, None, None, None)
        player.audio_set_volume_callback(on_volume)
        player.audio_set_format("S16N", RATE, 2)
        assert player.audio_output_set("amem") == 0

    def level(self) -> Level | None:
        mode = pyebur128.MeasurementMode.MODE_I | pyebur128.MeasurementMode.MODE_TRUE_PEAK
        state = pyebur128.R128State(2, RATE, mode)
        with self.lock:
            samples = array.array("f", self.samples)
        if len(samples) < RATE:
            return None
        state.add_frames(samples, len(samples) // 2)
        peak = max(pyebur128.get_true_peak(state, c) for c in (0, 1))
        return Level(pyebur128.get_loudness_global(state), 20 * math.log10(peak))


def _steady_peak(wav: Path, volume: int) -> int:
    """The peak of a few buffers of ``wav`` played on a fresh deck at ``volume``, through amem
    with libVLC's own software volume. The deck's position is polled meanwhile, as the GUI
    does while a track starts (VlcDeck applies a volume that found no audio output yet on that
    poll); only buffers after the volume took hold count (under load the output can appear
    after play_at_volume's short wait)."""
    made = open_decks(lambda *_a: None, ("--quiet", "--no-video", "--vout=dummy"))
    assert not isinstance(made, str), made
    peaks: list[int] = []

    @vlc.CallbackDecorators.AudioPlayCb  # type: ignore[untyped-decorator]
    def on_samples(_data: Any, samples: Any, count: int, _pts: int) -> None:
        raw = array.array("h")
        raw.frombytes(ctypes.string_at(samples, count * 2 * 2))
        peaks.append(max(abs(x) for x in raw))

    deck = made[0]
    deck._player.audio_set_callbacks(on_samples, None, None, None, None, None)
    deck._player.audio_set_format("S16N", RATE, 2)
    try:
        deck.set_volume(volume)
        deck.load(wav)
        deck.play()
        held_from: int | None = None
        deadline = time.monotonic() + 10
        while held_from is None or len(peaks) < held_from + 12:
            assert time.monotonic() < deadline, (held_from, peaks)
            deck.position_s()
            if held_from is None and not deck._volume_pending:
                held_from = len(peaks)
            time.sleep(0.005)
    finally:
        release_decks(made)
    return max(peaks[held_from + 2 : held_from + 12])


def test_libvlc_volume_is_cubic_and_goes_above_100(tmp_path: Path) -> None:
    """libVLC's own software volume, no callback of ours: a deck at p % plays at amplitude
    (p/100)^3, above 100 % too (the gain that brings a quiet track up), so g dB is a factor
    10^(g/60) on the percentage (kapsession.music.levels)."""
    wav = tmp_path / "sine.wav"
    _sox_sine = ["sox", "-n", "-r", "48000", "-c", "2", str(wav), "synth", "10", "sine", "440"]
    subprocess.run([*_sox_sine, "vol", "0.1"], check=True)
    for volume in (58, 100, 150, 200):
        ratio = _steady_peak(wav, volume) / (0.1 * 32767)
        assert ratio == pytest.approx((volume / 100) ** 3, rel=0.02), volume


class Rig:
    """One arc player per track on two real libVLC decks each, all on one instance, driven from
    this thread (libVLC's events are queued and handed to the player here)."""

    def __init__(self, paths: list[Path], levels: Callable[[Path], Level | None]) -> None:
        self.events: list[tuple[int, int, str]] = []  # (rig, deck, kind)
        self.lock = threading.Lock()
        self.records: list[list[tuple[str, dict[str, object]]]] = []
        self.players: list[ArcPlayer] = []
        self.decks: list[tuple[VlcDeck, VlcDeck]] = []
        self.captures: list[Capture] = []
        self.spare: list[Capture] = []
        for i, path in enumerate(paths):
            made = open_decks(self._hand_on(i), ("--quiet", "--no-video", "--vout=dummy"))
            assert not isinstance(made, str), made
            self.decks.append(made)
            self.captures.append(Capture(made[0]._player))  # the first track plays on deck 0
            self.spare.append(Capture(made[1]._player))  # kept: libVLC calls its callbacks
            track = Track(path, path.stem, fade_in_s=0.0, fade_out_s=0.0)
            arc = Arc("t", "t", (Phase("peak", 0, 10, (track,), 0.0, 0.0),), target_lufs=-23.0)
            record: list[tuple[str, dict[str, object]]] = []
            self.records.append(record)
            self.players.append(
                ArcPlayer(
                    arc,
                    made,
                    lambda kind, data, r=record: r.append((kind, data)),
                    master_volume=100,
                    levels=levels,
                )
            )

    def _hand_on(self, rig: int) -> Callable[[int, str, str, int], None]:
        def on_event(deck: int, kind: str, _detail: str, _generation: int) -> None:
            with self.lock:  # libVLC's thread: queue only
                self.events.append((rig, deck, kind))

        return on_event

    def run_first_track(self, timeout_s: float = 30.0) -> None:
        """Tick every player until each has let its first track go (an end or a fault)."""
        start = time.monotonic()
        done: set[int] = set()
        while len(done) < len(self.players):
            now = time.monotonic() - start
            assert now < timeout_s, self.records
            with self.lock:
                events, self.events = self.events, []
            for rig, deck, kind in events:
                if kind == "error":
                    self.players[rig].on_error(deck, "error")
                else:
                    self.players[rig].on_track_ended(deck)
            for i, player in enumerate(self.players):
                if i not in done:
                    player.tick(now, now)
                    kinds = [k for k, _ in self.records[i]]
                    if "track_ended" in kinds or "playback_fault" in kinds:
                        done.add(i)
            time.sleep(0.02)

    def close(self) -> None:
        for decks in self.decks:
            release_decks(decks)


@pytest.fixture
def rig_factory() -> Iterator[Callable[[list[Path], Callable[[Path], Level | None]], Rig]]:
    made: list[Rig] = []

    def make(paths: list[Path], levels: Callable[[Path], Level | None]) -> Rig:
        made.append(Rig(paths, levels))
        return made[-1]

    yield make
    for rig in made:
        rig.close()


def test_through_libvlc_every_track_plays_at_the_target_under_the_peak_ceiling(
    tracks: dict[str, Path],
    tmp_path: Path,
    rig_factory: Callable[[list[Path], Callable[[Path], Level | None]], Rig],
) -> None:
    names = ["quiet.flac", "middle.ogg", "loud.wav", "tagged.mp3"]
    paths = [tracks[n] for n in names]
    probes = with_levels([_ok(p) for p in paths], r128.LevelCache.in_folder(tmp_path))
    book = known_levels(probes)
    assert set(book) == set(paths)

    levelled = rig_factory(paths, book.get)
    as_mastered = rig_factory(paths, lambda _path: None)
    levelled.run_first_track()
    as_mastered.run_first_track()

    raw = [c.level() for c in as_mastered.captures]
    assert all(level is not None for level in raw)
    spread = max(lv.loudness_lufs for lv in raw if lv) - min(lv.loudness_lufs for lv in raw if lv)
    assert spread > 25, raw  # without the gain: the jolt the issue is about
    for i, name in enumerate(names):
        heard = levelled.captures[i].level()
        assert heard is not None, name
        assert heard.loudness_lufs == pytest.approx(-23.0, abs=1.0), (name, heard)
        assert heard.true_peak_dbtp < TRUE_PEAK_CEILING_DBTP, (name, heard)
        print(f"{name}: measured {book[tracks[name]]}, as mastered {raw[i]}, heard {heard}")
        started = next(d for k, d in levelled.records[i] if k == "track_started")
        level = book[tracks[name]]
        assert started["loudness_lufs"] == level.loudness_lufs
        assert started["gain_db"] == gain_db(level, -23.0)
        plain = next(d for k, d in as_mastered.records[i] if k == "track_started")
        assert plain["gain_db"] == 0.0


def test_a_corrupt_track_gets_no_gain_and_stays_a_fault(
    tracks: dict[str, Path],
    tmp_path: Path,
    rig_factory: Callable[[list[Path], Callable[[Path], Level | None]], Rig],
) -> None:
    corrupt = tracks["corrupt.mp3"]
    # Even a level wrongly on hand for it (a cache entry) does not make it play: libVLC's end
    # after ~0.3 s is still a fault. From the pre-flight it has none.
    probes = with_levels(
        [MediaProbe(corrupt, "undecodable", None, "parsed but did not play")],
        r128.LevelCache.in_folder(tmp_path),
    )
    assert known_levels(probes) == {}
    rig = rig_factory([corrupt], known_levels(probes).get)
    rig.run_first_track()
    kinds = [k for k, _ in rig.records[0]]
    assert "playback_fault" in kinds, rig.records[0]
    started = next(d for k, d in rig.records[0] if k == "track_started")
    assert (started["loudness_lufs"], started["gain_db"]) == (None, 0.0)


def test_without_ffmpeg_tracks_play_as_mastered_and_nothing_is_cached(
    tracks: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet = tracks["quiet.flac"]
    with monkeypatch.context() as patched:
        patched.setenv("PATH", str(tmp_path))  # no ffmpeg on it
        assert not r128.decoder_available()
        [probe] = with_levels([_ok(quiet)], r128.LevelCache.in_folder(tmp_path))
        assert (probe.loudness_lufs, probe.gain_db) == (None, None)
        assert not (tmp_path / r128.CACHE_NAME).exists()
    [probe] = with_levels([_ok(quiet)], r128.LevelCache.in_folder(tmp_path))
    assert probe.loudness_lufs is not None  # measured once ffmpeg is there


def test_the_background_analysis_thread_runs_below_the_app_and_its_ffmpeg_too(
    tmp_path: Path,
) -> None:
    """The loudness thread lowers its own priority (nice 10), the rest of the app keeps its
    own, and the decoder it starts inherits the lower one."""
    from kapsession.music import r128

    main_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: dict[str, int] = {}

    def worker() -> None:
        assert r128.lower_this_threads_priority()
        seen["thread"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        child = subprocess.run(
            ["sh", "-c", "cut -d' ' -f19 /proc/self/stat"], capture_output=True, text=True
        )
        seen["child"] = int(child.stdout.split()[0])

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen["thread"] == max(main_nice, r128.BACKGROUND_NICE)
    assert seen["child"] == seen["thread"]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main_nice
