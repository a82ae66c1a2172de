"""Pre-flight check of a playlist's audio files, before the dose is given.

Everything here is plain Python (no Qt, no libVLC): the per-track result (`MediaProbe`), the
file-system half of the check (`check_file`, which needs no libVLC), the summary of a whole
playlist against the planned session (`summarize`) and its one-line-per-track text
(`format_report`). The libVLC half (parse for duration, then a short real decode) is
`kapsession.music.vlc_player.probe_media`, which calls into here.

Why a decode check at all: libVLC "parses" garbage without complaint. Measured on libVLC 3.0.24
(see `probe_media` for the numbers): 200 kB of random bytes named .mp3 parses as `done` with an
audio track (0 channels, 0 Hz) and duration 0; a FLAC whose header is intact but whose body is
random parses with its full duration and a proper audio track, yet plays no sample at all. So a
track is "ok" only when libVLC both parsed a duration and an audio stream and then actually
produced decoded samples.

Trade-off for very long playlists: the file-system check costs microseconds per entry and is
done for every entry; the libVLC check costs ~5-30 ms per valid file (more for garbage) and is
the caller's to schedule. For 10,000 entries, run `check_file` over all of them
(`check_files`) and `probe_media` on the tracks of the arc actually chosen, or lazily on the
next few tracks ahead of playback; a track that fails later is still caught during playback
(an early end or an error event skips it and is recorded)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kapsession.music import levels
from kapsession.music.probe import STATUSES, MediaProbe, Status

if TYPE_CHECKING:
    from kapsession.music.r128 import Analyzer, LevelCache


@dataclass(frozen=True)
class PreflightReport:
    probes: tuple[MediaProbe, ...]
    counts: dict[Status, int] = field(hash=False)
    playable_s: float  # total duration of the "ok" tracks (a duplicate entry counts each time)
    planned_s: float | None
    # True/False when known; None without a plan, or when unchecked tracks might make up for it.
    covers_plan: bool | None
    failed: bool  # any track would fail

    @property
    def shortfall_s(self) -> float | None:
        if self.planned_s is None:
            return None
        return max(0.0, self.planned_s - self.playable_s)


def summarize(probes: Sequence[MediaProbe], planned_minutes: int | None) -> PreflightReport:
    counts: dict[Status, int] = dict.fromkeys(STATUSES, 0)
    for p in probes:
        counts[p.status] += 1
    playable = sum(p.duration_s or 0.0 for p in probes if p.status == "ok")
    planned = None if planned_minutes is None else float(planned_minutes) * 60.0
    covers: bool | None
    if planned is None:
        covers = None
    elif playable >= planned:
        covers = True
    elif counts["unchecked"]:
        covers = None
    else:
        covers = False
    return PreflightReport(
        probes=tuple(probes),
        counts=counts,
        playable_s=playable,
        planned_s=planned,
        covers_plan=covers,
        failed=any(p.failed for p in probes),
    )


def format_duration(seconds: float) -> str:
    """m:ss, or h:mm:ss from an hour on (rounded to the second)."""
    total = round(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def display_path(path: Path) -> str:
    """The path as printable text: undecodable bytes of a non-UTF-8 name shown as \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def format_report(report: PreflightReport) -> list[str]:
    """One line per track, then one summary line, e.g.

    ok          3:12  playlists/audio/onset-1.ogg
    missing           playlists/audio/peak-2.ogg
    undecodable       playlists/audio/bad.mp3 (parsed but did not play)
    """
    lines = []
    for p in report.probes:
        dur = format_duration(p.duration_s) if p.status == "ok" and p.duration_s else ""
        line = f"{p.status:<11}{dur:>5}  {p.shown or display_path(p.path)}"
        if p.detail and p.status not in ("ok", "missing"):
            line += f" ({p.detail})"
        level = level_text(p)
        if level:
            line += f"  {level}"
        lines.append(line)
    lines.append(_summary_line(report))
    return lines


def level_text(probe: MediaProbe) -> str:
    """e.g. "-31.2 LUFS, -12.0 dBTP, gain +8.2 dB"; "" when the track was not measured."""
    if probe.loudness_lufs is None or probe.true_peak_dbtp is None or probe.gain_db is None:
        return ""
    tagged = "" if probe.level_source in (None, "analysis") else f" ({probe.level_source} tags)"
    return (
        f"{probe.loudness_lufs:.1f} LUFS, {probe.true_peak_dbtp:.1f} dBTP, "
        f"gain {probe.gain_db:+.1f} dB{tagged}"
    )


def with_levels(
    probes: Sequence[MediaProbe],
    cache: LevelCache,
    target_lufs: float = levels.TARGET_LUFS,
    analyzer: Analyzer | None = None,
    decode: bool = True,
) -> list[MediaProbe]:
    """The probes with the loudness, true peak and gain of every "ok" track (from the cache,
    the file's tags or an analysis: kapsession.music.r128); other tracks get none: a track
    that would not play gets no gain."""
    from kapsession.music.r128 import measure

    ok = [p.path for p in probes if p.status == "ok"]
    found = measure(ok, cache, analyzer, decode) if ok else {}
    out = []
    for p in probes:
        level = found.get(p.path) if p.status == "ok" else None
        if level is None:
            out.append(p)
            continue
        out.append(
            dataclasses.replace(
                p,
                loudness_lufs=level.loudness_lufs,
                true_peak_dbtp=level.true_peak_dbtp,
                gain_db=levels.gain_db(level, target_lufs),
                level_source=level.source,
            )
        )
    return out


def known_levels(probes: Sequence[MediaProbe]) -> dict[Path, levels.Level]:
    """The measured levels of a pre-flight's tracks, by path (for the arc player)."""
    return {
        p.path: levels.Level(p.loudness_lufs, p.true_peak_dbtp, p.level_source or "analysis")
        for p in probes
        if p.loudness_lufs is not None and p.true_peak_dbtp is not None
    }


def probe_json(probe: MediaProbe) -> dict[str, object]:
    """One track of `playlist check --format json` (DESIGN.md): path, status, duration_s,
    loudness_lufs, true_peak_dbtp, gain_db, then detail and level_source."""
    return {
        "path": probe.shown or display_path(probe.path),
        "status": probe.status,
        "duration_s": None if probe.duration_s is None else round(probe.duration_s, 3),
        "loudness_lufs": probe.loudness_lufs,
        "true_peak_dbtp": probe.true_peak_dbtp,
        "gain_db": probe.gain_db if probe.status == "ok" else None,
        "detail": probe.detail,
        "level_source": probe.level_source,
    }


def _summary_line(report: PreflightReport) -> str:
    n = len(report.probes)
    parts = [f"{report.counts[s]} {s.replace('_', ' ')}" for s in STATUSES if report.counts[s]]
    text = f"{n} track{'' if n == 1 else 's'}: {', '.join(parts) or 'none'}"
    text += f"; {format_duration(report.playable_s)} playable"
    if report.planned_s is not None:
        text += f" of {format_duration(report.planned_s)} planned"
        if report.covers_plan is False and report.shortfall_s:
            text += f" (short by {format_duration(report.shortfall_s)})"
        elif report.covers_plan is None:
            text += " (unknown: some tracks unchecked)"
    if report.failed:
        text += "; FAILED: fix or remove the tracks above"
    return text


def check_arc_tracks(
    tracks: Sequence[Path],
    planned_minutes: int | None,
    cache: LevelCache | None = None,
    target_lufs: float = levels.TARGET_LUFS,
    decode: bool = True,
) -> PreflightReport:
    """The whole pre-flight of an arc's tracks: files, then libVLC's parse and decode check
    (tracks come back "unchecked" when libVLC is unavailable), then, with a level ``cache``,
    each playable track's loudness and gain. With ``decode`` a track not yet measured is
    decoded (seconds a track): a worker thread's job; without, only the cache and tags."""
    from kapsession.music.vlc_player import probe_media

    probes = probe_media(tracks)
    if cache is not None:
        probes = with_levels(probes, cache, target_lufs, decode=decode)
    return summarize(probes, planned_minutes)


def short_summary(report: PreflightReport) -> str:
    """One line for a screen: what would fail by name, else that everything plays."""
    failing = [p for p in report.probes if p.failed]
    if failing:
        names = ", ".join(
            f"{(p.shown or display_path(p.path)).rsplit('/', 1)[-1]} ({p.status.replace('_', ' ')})"
            for p in failing[:3]
        )
        more = f" and {len(failing) - 3} more" if len(failing) > 3 else ""
        return (
            f"{len(failing)} of {len(report.probes)} tracks would not play: {names}{more}. "
            "They will be skipped."
        )
    if report.counts["unchecked"]:
        return "Music cannot be checked: libVLC is unavailable, so no music will play."
    text = f"All {len(report.probes)} tracks play · {format_duration(report.playable_s)}"
    if report.planned_s is not None:
        text += f" for {format_duration(report.planned_s)} planned"
        if report.covers_plan is False and report.shortfall_s:
            text += f" (short by {format_duration(report.shortfall_s)}: phases repeat)"
    return text
