"""How loud each track of an arc is (EBU R128 / ITU-R BS.1770-4) and the gain it gets so that
every track plays at the arc's target loudness, its true peak held under the ceiling.

Where a level comes from, in order:

1. the cache: ``<data folder>/loudness-cache.json``, keyed by the SHA-256 of the file's content
   (a renamed or moved file keeps its level; an edited one is measured anew). It holds hashes
   and numbers only: no path, no title, nothing about a client.
2. the file's own ReplayGain 2.0 or R128 tags (read with mutagen): ReplayGain's track gain is
   relative to -18 LUFS, R128_TRACK_GAIN (Opus, Q7.8) to -23 LUFS. ReplayGain's peak is a
   *sample* peak, which misses inter-sample peaks; ``TAG_PEAK_ALLOWANCE_DB`` is added to it
   before it stands for a true peak.
3. analysis: ffmpeg decodes the file (any format libVLC plays, as stereo float at 48 kHz,
   which is what two headphone channels hear) into libebur128 (pyebur128) in integrated and
   true-peak mode. libebur128's true peak is the 4x oversampled peak of BS.1770-4 Annex 2 at
   44.1/48 kHz (its own polyphase interpolator), not the sample peak.

The gain (kapsession.music.levels): ``target - loudness``, limited so that ``true peak + gain
<= ceiling`` and to what a deck can give (``MAX_GAIN_DB``, +18 dB). A track with no level
(undecodable, silent, no ffmpeg) gets no gain.

Everything here runs on the pre-flight's worker thread or the command line, never on the GUI
thread: hashing and decoding a 45-minute arc takes seconds (docs/benchmarks.md)."""

from __future__ import annotations

import array
import hashlib
import json
import logging
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path

from kapsession.music.levels import (
    MAX_DECK_VOLUME,
    MAX_GAIN_DB,
    TARGET_LUFS,
    TRUE_PEAK_CEILING_DBTP,
    Level,
    gain_db,
    volume_factor,
)
from kapsession.storage import safe_files

__all__ = [
    "MAX_DECK_VOLUME",
    "MAX_GAIN_DB",
    "TARGET_LUFS",
    "TRUE_PEAK_CEILING_DBTP",
    "Level",
    "LevelCache",
    "analyze",
    "gain_db",
    "measure",
    "read_tags",
    "volume_factor",
]

log = logging.getLogger("kapsession.music.r128")

TAG_PEAK_ALLOWANCE_DB = 0.5  # a tagged sample peak + this stands for the true peak
REPLAYGAIN_REFERENCE_LUFS = -18.0
R128_REFERENCE_LUFS = -23.0
CACHE_NAME = "loudness-cache.json"
# Bumped when the analysis changes so that old measurements are made again.
ANALYSIS_VERSION = 1
ANALYSIS_RATE = 48000
ANALYSIS_CHANNELS = 2
_CHUNK_BYTES = 256 * 1024  # ~0.7 s of audio per call into libebur128 (it holds the GIL)
_HASH_CHUNK = 1024 * 1024
# A sane level: anything else in a tag is a typo, and the file is measured instead.
_LOUDNESS_RANGE = (-70.0, 6.0)
_PEAK_RANGE = (-100.0, 24.0)


# --- the file's own tags -------------------------------------------------------------------


def _tag_number(text: object) -> float | None:
    if isinstance(text, list | tuple):
        text = text[0] if text else None
    if isinstance(text, bytes):
        text = text.decode("latin-1", "replace")
    if text is None:
        return None
    words = str(text).strip().split()
    if not words:
        return None
    try:
        value = float(words[0])
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _tags_by_name(path: Path) -> dict[str, object]:
    """The file's tags by lower-case name, whatever the container (Vorbis comments, ID3 TXXX,
    APE, MP4 freeform atoms)."""
    try:
        import mutagen

        audio = mutagen.File(path)
    except Exception:  # mutagen raises its own error types, and struct/ValueError on junk
        return {}
    tags = getattr(audio, "tags", None)
    if not tags:
        return {}
    found: dict[str, object] = {}
    try:
        items = list(tags.items())
    except Exception:
        return {}
    for key, value in items:
        name = str(key)
        for prefix in ("TXXX:", "----:com.apple.iTunes:"):
            if name.startswith(prefix):
                name = name[len(prefix) :]
        if hasattr(value, "text"):  # ID3 frames
            value = value.text
        found.setdefault(name.lower(), value)
    return found


def read_tags(path: Path) -> Level | None:
    """A level from the file's ReplayGain or R128 tags, or None when it carries none usable."""
    tags = _tags_by_name(path)
    rg = _tag_number(tags.get("replaygain_track_gain"))
    if rg is not None:
        loudness = REPLAYGAIN_REFERENCE_LUFS - rg
        peak = _tag_number(tags.get("replaygain_track_peak"))
        peak_db = 20 * math.log10(peak) + TAG_PEAK_ALLOWANCE_DB if peak and peak > 0 else None
        if peak_db is None:
            return None  # no peak: the limiter needs one; measure instead
        return _checked(Level(round(loudness, 2), round(peak_db, 2), "replaygain"))
    r128 = _tag_number(tags.get("r128_track_gain"))
    if r128 is not None:
        # Opus tags carry no peak at all: measured instead, unless a ReplayGain peak is there.
        peak = _tag_number(tags.get("replaygain_track_peak"))
        if not peak or peak <= 0:
            return None
        loudness = R128_REFERENCE_LUFS - r128 / 256.0
        peak_db = 20 * math.log10(peak) + TAG_PEAK_ALLOWANCE_DB
        return _checked(Level(round(loudness, 2), round(peak_db, 2), "r128"))
    return None


def _checked(level: Level) -> Level | None:
    low, high = _LOUDNESS_RANGE
    plow, phigh = _PEAK_RANGE
    if low <= level.loudness_lufs <= high and plow <= level.true_peak_dbtp <= phigh:
        return level
    return None


# --- analysis --------------------------------------------------------------------------------


def decoder_available() -> bool:
    """Whether tracks can be measured here: ffmpeg on the PATH and pyebur128 installed."""
    import importlib.util

    return shutil.which("ffmpeg") is not None and importlib.util.find_spec("pyebur128") is not None


BACKGROUND_NICE = 10  # below the GUI thread and libVLC's playback, above nothing else


def lower_this_threads_priority() -> bool:
    """Run the calling thread (and the ffmpeg it starts: a child takes the nice value of the
    thread that forked it) at ``BACKGROUND_NICE``, so a first-time analysis of a long arc
    (~30 s of CPU) never competes with the dose clock or the music on a two-core laptop.
    Linux's nice is per thread; elsewhere, or where refused, nothing changes (False)."""
    import threading

    try:
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        if current < BACKGROUND_NICE:
            os.setpriority(os.PRIO_PROCESS, tid, BACKGROUND_NICE)
        return True
    except (AttributeError, OSError):
        return False


def analyze(path: Path, timeout_s: float = 600.0) -> Level | None:
    """Integrated loudness and true peak of the file's first audio stream, decoded by ffmpeg
    into libebur128; None when it cannot be decoded, is silent, or ffmpeg is missing."""
    try:
        import pyebur128
    except ImportError:  # a broken install: tracks play as mastered, nothing cached
        return None

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    mode = pyebur128.MeasurementMode.MODE_I | pyebur128.MeasurementMode.MODE_TRUE_PEAK
    state = pyebur128.R128State(ANALYSIS_CHANNELS, ANALYSIS_RATE, mode)
    command = [
        ffmpeg,
        "-nostdin",
        "-v",
        "error",
        "-i",
        os.fsdecode(path),
        "-map",
        "0:a:0",
        "-ac",
        str(ANALYSIS_CHANNELS),
        "-ar",
        str(ANALYSIS_RATE),
        "-f",
        "f32le",
        "-",
    ]
    env = None
    if getattr(sys, "frozen", False):
        # In the PyInstaller bundle LD_LIBRARY_PATH points into the bundle: the system's ffmpeg
        # must load the system's libraries (PyInstaller keeps the original beside it).
        env = dict(os.environ)
        original = env.pop("LD_LIBRARY_PATH_ORIG", None)
        if original is None:
            env.pop("LD_LIBRARY_PATH", None)
        else:
            env["LD_LIBRARY_PATH"] = original
    frame_bytes = 4 * ANALYSIS_CHANNELS
    frames_total = 0
    rest = b""
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=env,
    ) as proc:
        assert proc.stdout is not None
        while True:
            chunk = proc.stdout.read(_CHUNK_BYTES)
            if not chunk:
                break
            data = rest + chunk
            usable = len(data) - len(data) % frame_bytes
            rest = data[usable:]
            if not usable:
                continue
            samples = array.array("f")
            samples.frombytes(data[:usable])
            frames = usable // frame_bytes
            state.add_frames(samples, frames)
            frames_total += frames
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            return None
    if code != 0 or frames_total == 0:
        return None
    loudness = pyebur128.get_loudness_global(state)
    peak = max(pyebur128.get_true_peak(state, c) for c in range(ANALYSIS_CHANNELS))
    if not math.isfinite(loudness) or peak <= 0:
        return None  # silence: nothing to bring up
    return Level(round(loudness, 2), round(20 * math.log10(peak), 2), "analysis")


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- the cache -------------------------------------------------------------------------------


class LevelCache:
    """Levels by content hash, kept in ``<data folder>/loudness-cache.json`` (None: in memory
    only). Read once; ``save`` merges what another process wrote meanwhile and replaces the
    file whole, never half-written."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._levels: dict[str, Level | None] = self._read()
        self._new: dict[str, Level | None] = {}

    @classmethod
    def in_folder(cls, folder: Path | None) -> LevelCache:
        return cls(None if folder is None else Path(folder) / CACHE_NAME)

    def _read(self) -> dict[str, Level | None]:
        if self.path is None:
            return {}
        try:
            raw = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(raw, dict) or raw.get("version") != ANALYSIS_VERSION:
            return {}
        levels: dict[str, Level | None] = {}
        entries = raw.get("levels")
        if not isinstance(entries, dict):
            return {}
        for key, value in entries.items():
            if value is None:
                levels[str(key)] = None
                continue
            try:
                levels[str(key)] = Level(
                    float(value["loudness_lufs"]),
                    float(value["true_peak_dbtp"]),
                    str(value.get("source", "analysis")),
                )
            except (KeyError, TypeError, ValueError):
                continue
        return levels

    def __contains__(self, key: str) -> bool:
        return key in self._levels

    def get(self, key: str) -> Level | None:
        return self._levels.get(key)

    def put(self, key: str, level: Level | None) -> None:
        self._levels[key] = level
        self._new[key] = level

    def save(self) -> None:
        if self.path is None or not self._new or not self.path.parent.is_dir():
            return  # no data folder yet (a first `playlist check`): nothing is created
        merged = self._read()
        merged.update(self._new)
        payload = {
            "version": ANALYSIS_VERSION,
            "levels": {k: None if v is None else asdict(v) for k, v in sorted(merged.items())},
        }
        try:
            safe_files.write_atomically(self.path, json.dumps(payload, indent=0).encode("utf-8"))
        except OSError as exc:  # a read-only data folder: measured again next time
            log.warning("loudness cache not saved (%s)", type(exc).__name__)
            return
        self._levels.update(merged)
        self._new.clear()


Analyzer = Callable[[Path], "Level | None"]


def measure(
    paths: Iterable[Path],
    cache: LevelCache,
    analyzer: Analyzer | None = None,
    decode: bool = True,
) -> dict[Path, Level | None]:
    """The level of every path (each file once): from the cache, else the file's tags, else
    ``analyzer`` (default: ``analyze``); new levels are saved in the cache. A file that cannot
    be read gets None. ``decode=False``: cache and tags only (quick: hashing), what is not
    known stays None and uncached."""
    run = analyze if analyzer is None else analyzer
    levels: dict[Path, Level | None] = {}
    for path in paths:
        if path in levels:
            continue
        try:
            key = content_hash(path)
        except OSError:
            levels[path] = None
            continue
        if key in cache:
            levels[path] = cache.get(key)
            continue
        level = read_tags(path)
        if level is None and not decode:
            levels[path] = None
            continue
        level = level or run(path)
        if level is not None or analyzer is not None or decoder_available():
            cache.put(key, level)  # without ffmpeg, nothing is known: measured next time
        levels[path] = level
    cache.save()
    return levels
