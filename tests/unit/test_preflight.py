"""Pre-flight probe of audio files: real files, real libVLC (`--aout=dummy`, `amem` callbacks)."""

from __future__ import annotations

import math
import os
import random
import shutil
import struct
import subprocess
import sys
import wave
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.nobody import as_nobody, needs_root

from kapsession.music.preflight import format_report, summarize
from kapsession.music.probe import MediaProbe, check_file
from kapsession.music.vlc_player import probe_media

WAV_SECONDS = 1.5
HAVE_SOX = shutil.which("sox") is not None


def write_wav(path: Path, seconds: float, rate: int = 8000) -> None:
    frames = int(seconds * rate)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(
            b"".join(
                struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                for i in range(frames)
            )
        )


@dataclass
class Library:
    root: Path
    wav: Path
    ogg: Path | None
    flac: Path | None
    broken_flac: Path | None  # intact header (with its duration), random body
    garbage_mp3: Path
    empty: Path
    folder: Path
    fifo: Path
    missing: Path
    non_utf8: Path
    results: dict[Path, MediaProbe]


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> Library:
    root = tmp_path_factory.mktemp("audio")
    rng = random.Random(4)
    wav = root / "onset-1.wav"
    write_wav(wav, WAV_SECONDS)
    ogg = flac = broken = None
    if HAVE_SOX:
        ogg, flac = root / "peak.ogg", root / "return.flac"
        subprocess.run(["sox", str(wav), str(ogg)], check=True)
        subprocess.run(["sox", str(wav), str(flac)], check=True)
        broken = root / "broken.flac"
        head = flac.read_bytes()[:300]
        broken.write_bytes(head + rng.randbytes(len(flac.read_bytes()) - 300))
    garbage = root / "garbage.mp3"
    garbage.write_bytes(rng.randbytes(200_000))
    empty = root / "empty.ogg"
    empty.touch()
    folder = root / "a-folder.ogg"
    folder.mkdir()
    fifo = root / "fifo.wav"
    os.mkfifo(fifo)
    non_utf8 = Path(os.fsdecode(os.fsencode(root) + b"/caf\xe9-\xff.wav"))
    shutil.copyfile(wav, non_utf8)
    missing = root / "gone.flac"
    paths = [wav, ogg, flac, broken, garbage, empty, folder, fifo, missing, non_utf8]
    present = [p for p in paths if p is not None]
    results = dict(zip(present, probe_media(present, timeout_s=5.0), strict=True))
    return Library(
        root, wav, ogg, flac, broken, garbage, empty, folder, fifo, missing, non_utf8, results
    )


def test_a_valid_wav_is_ok_with_its_duration(lib: Library) -> None:
    probe = lib.results[lib.wav]
    assert probe.status == "ok", probe.detail
    assert probe.duration_s == pytest.approx(WAV_SECONDS, abs=0.2)


@pytest.mark.skipif(not HAVE_SOX, reason="sox is needed to make OGG and FLAC files")
def test_valid_ogg_and_flac_are_ok_with_their_durations(lib: Library) -> None:
    for path in (lib.ogg, lib.flac):
        assert path is not None
        probe = lib.results[path]
        assert probe.status == "ok", (path, probe.detail)
        assert probe.duration_s == pytest.approx(WAV_SECONDS, abs=0.2)


def test_random_bytes_named_mp3_are_undecodable(lib: Library) -> None:
    probe = lib.results[lib.garbage_mp3]
    assert probe.status == "undecodable"
    assert probe.detail


@pytest.mark.skipif(not HAVE_SOX, reason="sox is needed to make a FLAC file")
def test_a_file_that_parses_with_a_duration_but_plays_nothing_is_undecodable(
    lib: Library,
) -> None:
    assert lib.broken_flac is not None
    # Parsing alone is fooled: libVLC reports the header's duration and an audio stream ...
    [parsed_only] = probe_media([lib.broken_flac], decode_check=False)
    assert parsed_only.status == "ok"
    assert parsed_only.duration_s == pytest.approx(WAV_SECONDS, abs=0.2)
    # ... the decode check is not.
    probe = lib.results[lib.broken_flac]
    assert probe.status == "undecodable"
    assert probe.detail == "parsed but did not play"


def test_file_system_verdicts(lib: Library) -> None:
    assert lib.results[lib.empty].status == "undecodable"
    assert lib.results[lib.empty].detail == "empty file"
    assert lib.results[lib.folder].status == "not_a_file"
    assert lib.results[lib.fifo].status == "not_a_file"  # and the probe did not block on it
    assert lib.results[lib.missing].status == "missing"
    assert all(lib.results[p].duration_s is None for p in (lib.empty, lib.folder, lib.missing))


def test_a_dangling_symlink_is_missing(tmp_path: Path) -> None:
    link = tmp_path / "link.ogg"
    link.symlink_to(tmp_path / "nowhere.ogg")
    probe = check_file(link)
    assert probe is not None
    assert (probe.status, probe.detail) == ("missing", "dangling link")


def test_a_non_utf8_file_name_is_probed_and_printed(lib: Library) -> None:
    probe = lib.results[lib.non_utf8]
    assert probe.status == "ok", probe.detail
    assert probe.duration_s == pytest.approx(WAV_SECONDS, abs=0.2)
    [line, _summary] = format_report(summarize([probe], None))
    assert line.endswith("caf\\xe9-\\xff.wav")
    line.encode("utf-8")  # printable: no lone surrogates


def test_duplicate_entries_each_get_a_result_in_order(lib: Library) -> None:
    spelled_differently = lib.root / "." / lib.wav.name
    entries = [lib.wav, lib.missing, lib.wav, spelled_differently, lib.garbage_mp3, lib.wav]
    probes = probe_media(entries)
    assert [p.path for p in probes] == entries
    assert [p.status for p in probes] == ["ok", "missing", "ok", "ok", "undecodable", "ok"]
    report = summarize(probes, None)
    assert report.playable_s == pytest.approx(4 * WAV_SECONDS, abs=0.5)  # each entry plays


def test_an_unreadable_file(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads mode-000 files; see the test run as 'nobody' below")
    path = tmp_path / "locked.wav"
    write_wav(path, 0.2)
    path.chmod(0)
    try:
        [probe] = probe_media([path])
    finally:
        path.chmod(0o600)
    assert probe.status == "unreadable"


@needs_root
def test_an_unreadable_file_as_an_unprivileged_user(world_readable_dir: Path) -> None:
    locked = world_readable_dir / "locked.wav"
    write_wav(locked, 0.2)
    locked.chmod(0)
    closed = world_readable_dir / "closed"
    closed.mkdir(mode=0o700)
    write_wav(closed / "inside.wav", 0.2)
    targets = [locked, closed / "inside.wav"]

    def check() -> object:
        verdicts = [check_file(p) for p in targets]
        return [(v.status, v.detail) if v else None for v in verdicts]

    assert as_nobody(check) == [
        ["unreadable", "permission denied"],
        ["unreadable", "permission denied (folder)"],
    ]


def test_without_libvlc_existing_files_are_unchecked(
    lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "vlc", None)  # import vlc -> ImportError
    probes = probe_media([lib.wav, lib.garbage_mp3, lib.missing, lib.empty, lib.folder])
    assert [p.status for p in probes] == [
        "unchecked",
        "unchecked",
        "missing",
        "undecodable",
        "not_a_file",
    ]
    assert probes[0].detail.startswith("libVLC unavailable: ")
    report = summarize(probes, 45)
    assert report.failed  # the missing/empty/folder entries would fail anyway
    assert report.covers_plan is None  # the unchecked tracks' length is unknown


def test_summary_and_report_lines() -> None:
    probes = [
        MediaProbe(Path("playlists/audio/onset-1.ogg"), "ok", 192.0, ""),
        MediaProbe(Path("playlists/audio/peak-2.ogg"), "missing", None, "no such file"),
        MediaProbe(Path("bad.mp3"), "undecodable", 2.0, "parsed but did not play"),
        MediaProbe(Path("long.flac"), "ok", 2400.4, ""),
    ]
    report = summarize(probes, 45)
    assert report.counts["ok"] == 2
    assert report.counts["missing"] == 1
    assert report.counts["undecodable"] == 1
    assert report.playable_s == pytest.approx(2592.4)
    assert report.covers_plan is False
    assert report.shortfall_s == pytest.approx(107.6)
    assert report.failed
    assert format_report(report) == [
        "ok          3:12  playlists/audio/onset-1.ogg",
        "missing           playlists/audio/peak-2.ogg",
        "undecodable       bad.mp3 (parsed but did not play)",
        "ok         40:00  long.flac",
        "4 tracks: 2 ok, 1 missing, 1 undecodable; 43:12 playable of 45:00 planned"
        " (short by 1:48); FAILED: fix or remove the tracks above",
    ]


def test_a_clean_playlist_that_covers_the_plan() -> None:
    probes = [MediaProbe(Path(f"t{i}.ogg"), "ok", 600.0, "") for i in range(5)]
    report = summarize(probes, 45)
    assert report.covers_plan is True
    assert not report.failed
    assert format_report(report)[-1] == "5 tracks: 5 ok; 50:00 playable of 45:00 planned"
    assert summarize([], None).covers_plan is None
    assert format_report(summarize([], None)) == ["0 tracks: none; 0:00 playable"]


def test_probe_never_blocks_on_an_empty_list() -> None:
    assert probe_media([]) == []


def test_the_probe_survives_a_second_ctypes_pointer_class(tmp_path: Path) -> None:
    """python-vlc's `Media.tracks_get()` checks its argument against a prototype it cached with
    one `POINTER(MediaTrack)` class; once a second such class existed (seen in one full CI
    run), every probe said "undecodable". Reproduced here by clearing ctypes' pointer-type cache
    between two probes, in a fresh process: the probe must not depend on that identity."""
    import subprocess
    import sys
    import textwrap
    import wave

    wav = tmp_path / "tone.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x10" * 8000)
    probe = textwrap.dedent(
        f"""
        import ctypes
        from kapsession.music.vlc_player import probe_media
        first = [p.status for p in probe_media([{str(wav)!r}])]
        ctypes._reset_cache()  # what a second LP_MediaTrack class amounts to
        second = [p.status for p in probe_media([{str(wav)!r}])]
        print(first, second)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['ok'] ['ok']", done.stdout + done.stderr[-2000:]
