"""kapsession benchmarks, each against the floor it cannot beat: one command, one table. Run
from the repository root, on a quiet machine (~16 minutes on 2 cores, ~2 of them building the
two bundles):

    .venv/bin/python bench/run.py

Under a real X server instead of Qt's offscreen platform (start-up and the review screen):

    xvfb-run -a .venv/bin/python bench/run.py --platform xcb

It measures (the names are those of --only):
  startup  start-up: `kapsession --smoke` against bench/bare_qt.py (QApplication + an empty
           QMainWindow, shown, painted once), both as subprocesses with the same QT_QPA_PLATFORM,
           alternating; four launches (--launches): returning (existing folder), first (new
           folder), and both on an encrypted folder with $KAPSESSION_PASSPHRASE; spawn to first
           paint, to the first screen to act on (ready) and to exit; 15 runs each after 2 warm-ups
           (bench/startup.py);
  cold     a returning launch after the page cache was dropped, against the bare window after
           the same, alternating, 5 runs each (bench/cold_start.py);
  bundle   the PyInstaller bundle's returning launch against a bare-window bundle built the same
           way, both built first into a temp folder (minutes; not in --quick), 10 runs each
           (bench/bundle.py);
  save     a note's durable save: LiveSession.add_note on a real SQLite file against a raw
           sqlite3 insert+commit with the same pragmas; 2000 each, interleaved in blocks;
  idle     idle CPU (% of one core) and wake-ups per minute of the real app under Xvfb while a
           rehearsal runs with the dose clock visible, no music, against a bare Qt window idle
           beside it (bench/idle_memory.py);
  memory   memory (RSS, PSS) of the real app through a 2-hour rehearsal at a high time scale,
           notes and vitals typed through xdotool, checks coming due, against the bare window's;
  review   the review screen's first paint on a 4-hour session of 10,000 entries against a bare
           window of the same size painted the same way (bench/review_bench.py, review_data.py);
  export   the PDF and FHIR exports of that same session against its JSON export, and a
           one-page reportlab PDF as information (bench/export_bench.py);
  music    CPU of the app in a rehearsal playing music on libVLC's dummy output against a bare
           python-vlc process playing the same audio (bench/music_cpu.py), on its own Xvfb.

It prints a markdown table with medians, quartiles and min/max, the floor and the ratio or
difference, and the target, and writes it, with the date, the machine and this command, to
docs/benchmarks.md (the whole file: every figure there comes from one run). `--only NAME[,NAME]`
and `--quick` (fewer, shorter runs, for checking the wiring) print the report without writing it
unless --output is given. Exit status 1 if something could not be measured. Targets are
reported, not enforced: start-up to the first screen <= 1.5x the floor returning, <= 2x first
(encrypted: to the first paint, the same ratios), cold start and the bundle informative, a note's save <= 1.5x the floor, idle CPU < 1 %
of one core, memory < 250 MB after 2 hours and growth < 10 MB per simulated hour, the review
screen <= 250 ms, the PDF export <= 0.8 s and <= 4x the JSON export, the FHIR export <= 2 s,
the app's own CPU share while music plays (app - floor)
< 2 % of a core. idle, memory and music need Xvfb and xdotool (./test installs them) and /proc.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path

from bundle import BuildFailed, BundleResult, bench_bundle
from cold_start import bench_cold
from export_bench import ExportResult, bench_export
from export_bench import generate as monitor_session
from idle_memory import (
    HOURS,
    IdleResult,
    MemoryRun,
    bench_idle,
    bench_memory,
    slope_per_hour,
    tools_missing,
    xvfb,
)
from music_cpu import SETTLE_S as MUSIC_SETTLE_S
from music_cpu import TARGET_SHARE as MUSIC_SHARE_LIMIT
from music_cpu import MusicResult, bench_music
from note_save import bench_note_save
from review_bench import TARGET_MS as REVIEW_LIMIT_MS
from review_bench import ReviewFailed, bench_review, make_session
from startup import LAUNCHES, LaunchResult, RunFailed, bench_launches, durations

ROOT = Path(__file__).resolve().parent.parent
# Start-up targets by launch, over the floor's median: on `ready` for the unencrypted launches
# (the first screen a therapist can act on), on `first_paint` for the encrypted ones (the window
# or the passphrase prompt painted before the key derivation).
STARTUP_TARGETS = {
    "returning": 1.5,
    "first": 2.0,
    "returning-encrypted": 1.5,
    "first-encrypted": 2.0,
}
SAVE_TARGET = 1.5
IDLE_CPU_LIMIT = 1.0  # % of one core
MEMORY_LIMIT = 250.0  # MB after 2 simulated hours
GROWTH_LIMIT = 10.0  # MB per simulated hour
PDF_LIMIT_S = 0.8
PDF_TARGET = 4.0  # times the JSON export
FHIR_LIMIT_S = 2.0
REVIEW_ENTRIES = 10_000
BENCHMARKS = ("startup", "cold", "bundle", "save", "idle", "memory", "review", "export", "music")
# Left out of --quick unless named in --only: building two bundles takes minutes.
NOT_QUICK = ("bundle",)
# --quick: fewer and shorter runs, to check the wiring (its figures are not for the report).
QUICK = {
    "runs": 3,
    "warmups": 1,
    "cold_runs": 1,
    "notes": 200,
    "idle_seconds": 20.0,
    "idle_settle": 5.0,
    "mem_runs": 1,
    "review_runs": 2,
    "export_runs": 2,
    "music_runs": 1,
    "music_seconds": 10.0,
}
# Other processes using more than this share of one CPU meanwhile make the figures unreliable.
BUSY_SHARE = 0.10


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    q1: float
    q3: float
    low: float
    high: float

    @classmethod
    def of(cls, ns: Sequence[int], unit_ns: float) -> Summary:
        return cls.of_values([v / unit_ns for v in ns])

    @classmethod
    def of_values(cls, values: Sequence[float]) -> Summary:
        if len(values) == 1:
            return cls(1, values[0], values[0], values[0], values[0], values[0])
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        return cls(len(values), statistics.median(values), q1, q3, min(values), max(values))


@dataclass(frozen=True)
class Row:
    benchmark: str
    what: str
    summary: Summary | None
    unit: str
    digits: int
    floor: Summary | None = None  # None: this row is a floor or informative
    target: float | None = None  # at most this many times the floor
    limit: float | None = None  # below this (at most, with limit_inclusive), in the row's unit
    note: str = ""
    limit_inclusive: bool = False
    diff_limit: float | None = None  # median minus the floor's median below this, row's unit

    def _within_limit(self, value: float) -> bool:
        assert self.limit is not None
        return value <= self.limit if self.limit_inclusive else value < self.limit

    @property
    def missed(self) -> bool:
        if self.summary is None:
            return False
        if self.limit is not None and not self._within_limit(self.summary.median):
            return True
        if self.diff_limit is not None and self.floor is not None:
            return self.summary.median - self.floor.median >= self.diff_limit
        if self.target is not None and self.floor is not None and self.floor.median > 0:
            return self.summary.median / self.floor.median > self.target
        return False

    def cells(self) -> list[str]:
        if self.summary is None:
            return [self.benchmark, self.what, "—", "—", "—", "—", "—", self.note]
        s, d, u = self.summary, self.digits, self.unit
        ratio = target = ""
        if self.diff_limit is not None and self.floor is not None:
            diff = s.median - self.floor.median
            ratio = f"**{diff:+.{d}f} {u}**"
            verdict = "met" if diff < self.diff_limit else "**missed**"
            target = f"app − floor < {self.diff_limit:g} {u} ({verdict})"
        elif self.floor is not None and self.floor.median > 0:
            value = s.median / self.floor.median
            ratio = f"**{value:.2f}×**"
            if self.target is not None:
                verdict = "met" if value <= self.target else "**missed**"
                target = f"≤ {self.target:g}× ({verdict})"
        elif self.floor is not None:
            ratio = "floor 0"
        if self.limit is not None:
            verdict = "met" if self._within_limit(s.median) else "**missed**"
            sign = "≤" if self.limit_inclusive else "<"
            limit = f"{sign} {self.limit:g} {u} ({verdict})"
            target = f"{limit}; {target}" if target else limit
        if self.note and target:
            target += f"; {self.note}"
        return [
            self.benchmark,
            self.what,
            str(s.n),
            f"{s.median:.{d}f} {u}",
            f"{s.q1:.{d}f}–{s.q3:.{d}f} {u}",
            f"{s.low:.{d}f}–{s.high:.{d}f} {u}",
            ratio or ("1×" if not self.note else ""),
            target or self.note,
        ]


HEADER = ["Benchmark", "What runs", "N", "Median", "IQR (p25–p75)", "Min–max", "vs floor", "Target"]


def markdown_table(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


LAUNCH_LABELS = {
    "returning": ("returning launch", "`kapsession --smoke --data-dir EXISTING`"),
    "first": ("first launch", "`kapsession --smoke --data-dir NEW`"),
    "returning-encrypted": (
        "returning launch, encrypted",
        "`kapsession --smoke --data-dir EXISTING_ENCRYPTED`, $KAPSESSION_PASSPHRASE set",
    ),
    "first-encrypted": (
        "first launch, encrypted",
        "`kapsession --smoke --data-dir NEW`, $KAPSESSION_PASSPHRASE set (encryption set up)",
    ),
}
MEASURES = {"first_paint": "to first paint", "ready": "to ready", "exit": "to exit"}


def launch_rows(
    name: str,
    what: str,
    result: LaunchResult,
    floor_what: str,
    target: float | None = None,
    target_on: str = "ready",
    note: str = "",
) -> list[Row]:
    """The app's rows (first paint, ready, exit; the target on `target_on`) and the floor's
    (its first paint, which is its ready, and its exit), all against the floor of the same run.
    A measure the app did not stamp is said so in its row."""
    ms = 1e6
    floor_paint = durations(result.bare, "ready")
    floor_exit = durations(result.bare, "exit")
    floors = {
        "first_paint": Summary.of(floor_paint, ms) if floor_paint else None,
        "ready": Summary.of(floor_paint, ms) if floor_paint else None,
        "exit": Summary.of(floor_exit, ms) if floor_exit else None,
    }
    rows: list[Row] = []
    for measure, label in MEASURES.items():
        bench = f"{name}: {label}"
        if result.app_failure is not None:
            rows.append(failed_row(bench, what, result.app_failure))
            continue
        values = durations(result.app, measure)
        if values is None:
            rows.append(Row(bench, what, None, "ms", 0, note=f"not stamped: no `{measure}` line"))
            continue
        targeted = target is not None and measure == target_on
        rows.append(
            Row(
                bench,
                what,
                Summary.of(values, ms),
                "ms",
                0,
                floor=floors[measure],
                target=target if targeted else None,
                note="" if targeted else (note or "informative"),
            )
        )
    app_cpu = durations(result.app, "cpu") if result.app_failure is None else None
    floor_cpu = durations(result.bare, "cpu")
    if app_cpu and floor_cpu:
        cpu_floor = Summary.of(floor_cpu, ms)
        rows.append(
            Row(
                f"{name}: CPU to exit",
                f"the same, user+system CPU time (the floor's median: {cpu_floor.median:.0f} ms)",
                Summary.of(app_cpu, ms),
                "ms",
                0,
                floor=cpu_floor,
                note="informative: less sensitive to other load",
            )
        )
    if floors["ready"] is not None:
        rows.append(Row(f"{name}: to first paint", floor_what, floors["ready"], "ms", 0))
    if floors["exit"] is not None:
        rows.append(Row(f"{name}: to exit", floor_what, floors["exit"], "ms", 0))
    return rows


def startup_rows(results: dict[str, LaunchResult], platform_name: str) -> list[Row]:
    rows: list[Row] = []
    for launch, result in results.items():
        label, what = LAUNCH_LABELS[launch]
        rows += launch_rows(
            f"Start-up, {label} ({platform_name})",
            what,
            result,
            "floor: `bench/bare_qt.py` (empty QMainWindow, painted once)",
            target=STARTUP_TARGETS[launch],
            target_on="first_paint" if launch.endswith("-encrypted") else "ready",
        )
    return rows


def cold_rows(result: LaunchResult, eviction: str, platform_name: str) -> list[Row]:
    return launch_rows(
        f"Cold start, returning launch ({platform_name})",
        f"`kapsession --smoke --data-dir EXISTING` after {eviction}",
        result,
        f"floor: `bench/bare_qt.py` after {eviction}",
        note="informative: no target",
    )


def bundle_rows(result: BundleResult, platform_name: str) -> list[Row]:
    return launch_rows(
        f"Bundle start-up, returning launch ({platform_name})",
        f"PyInstaller bundle `kapsession --smoke --data-dir EXISTING` ({result.app_mb:.0f} MB)",
        result.launch,
        f"floor: `bench/bare_qt.py` bundled the same way ({result.bare_mb:.0f} MB)",
        note="informative: no target",
    )


def save_rows(times: dict[str, list[int]], cpu: dict[str, list[float]]) -> list[Row]:
    name = "A note's durable save (per op)"
    floor = Summary.of(times["floor"], 1e6)
    floor_encrypted = Summary.of(times["floor_encrypted"], 1e6)
    cpu_floor = Summary.of_values([v / 1e6 for v in cpu["floor"]])
    cpu_floor_encrypted = Summary.of_values([v / 1e6 for v in cpu["floor_encrypted"]])
    return [
        Row(
            name,
            "`LiveSession.add_note` (Store + SessionService, SystemClock), plain folder",
            Summary.of(times["add_note"], 1e6),
            "ms",
            3,
            floor=floor,
            target=SAVE_TARGET,
        ),
        Row(name, "floor: raw sqlite3 INSERT + COMMIT, plain table, plain file", floor, "ms", 3),
        Row(
            name,
            "raw sqlite3 INSERT + COMMIT into kapsession's `events` table (its triggers, "
            "the audit entry)",
            Summary.of(times["schema"], 1e6),
            "ms",
            3,
            floor=floor,
            note="informative: schema cost",
        ),
        Row(
            name,
            "`LiveSession.add_note`, encrypted folder (SQLCipher)",
            Summary.of(times["add_note_encrypted"], 1e6),
            "ms",
            3,
            floor=floor_encrypted,
            target=SAVE_TARGET,
        ),
        Row(
            name,
            "floor: raw INSERT + COMMIT, plain table, SQLCipher file keyed as the store's",
            floor_encrypted,
            "ms",
            3,
        ),
        Row(
            f"{name}: CPU",
            "`LiveSession.add_note`, plain folder: CPU time per op (blocks of operations)",
            Summary.of_values([v / 1e6 for v in cpu["add_note"]]),
            "ms",
            3,
            floor=cpu_floor,
            note="informative",
        ),
        Row(f"{name}: CPU", "floor: raw INSERT + COMMIT, plain file", cpu_floor, "ms", 3),
        Row(
            f"{name}: CPU",
            "`LiveSession.add_note`, encrypted folder: CPU time per op",
            Summary.of_values([v / 1e6 for v in cpu["add_note_encrypted"]]),
            "ms",
            3,
            floor=cpu_floor_encrypted,
            note="informative",
        ),
        Row(
            f"{name}: CPU",
            "floor: raw INSERT + COMMIT, SQLCipher file",
            cpu_floor_encrypted,
            "ms",
            3,
        ),
    ]


def idle_rows(result: IdleResult) -> list[Row]:
    name = "Idle, session running, dose clock visible, no music (Xvfb)"
    cpu_floor = Summary.of_values(result.bare_cpu)
    wake_floor = Summary.of_values(result.bare_wakeups)
    app = "`kapsession`, a real-time rehearsal without arc reopened, nobody typing"
    bare = "floor: `bench/bare_qt.py --stay` (empty QMainWindow, idle)"
    return [
        Row(
            name + ": CPU",
            app,
            Summary.of_values(result.app_cpu),
            "% of a core",
            2,
            floor=cpu_floor,
            limit=IDLE_CPU_LIMIT,
        ),
        Row(name + ": CPU", bare, cpu_floor, "% of a core", 2),
        Row(
            name + ": wake-ups",
            app,
            Summary.of_values(result.app_wakeups),
            "/min",
            0,
            floor=wake_floor,
            note="informative: see How",
        ),
        Row(name + ": wake-ups", bare, wake_floor, "/min", 0),
    ]


def memory_rows(runs: Sequence[MemoryRun], scale: float) -> list[Row]:
    name = "Memory after a 2-hour rehearsal"
    app = (
        f"`kapsession --rehearsal --time-scale {scale:g}`, music, notes, vitals, checks; RSS at 2 h"
    )
    summary = Summary.of_values
    rss_floor = summary([r.bare[-1][0] for r in runs])
    growth_floor = summary([slope_per_hour([s[0] for s in r.bare]) for r in runs])

    return [
        Row(
            name + ": RSS",
            app,
            summary([r.app[-1][0] for r in runs]),
            "MB",
            1,
            floor=rss_floor,
            limit=MEMORY_LIMIT,
        ),
        Row(name + ": RSS", "floor: bare Qt window, same moments", rss_floor, "MB", 1),
        Row(
            name + ": PSS",
            "the app's proportional set size at 2 h (shared libraries divided among users)",
            summary([r.app[-1][1] for r in runs]),
            "MB",
            1,
            floor=summary([r.bare[-1][1] for r in runs]),
            note="informative",
        ),
        Row(
            name + ": growth",
            "RSS slope over simulated hours " + ", ".join(f"{h:g}" for h in HOURS),
            summary([slope_per_hour([s[0] for s in r.app]) for r in runs]),
            "MB/h",
            2,
            floor=growth_floor,
            limit=GROWTH_LIMIT,
        ),
        Row(name + ": growth", "floor: bare Qt window, same moments", growth_floor, "MB/h", 2),
    ]


def review_rows(results: Sequence[dict[str, float]], entries: int, platform_name: str) -> list[Row]:
    name = f"Review screen first paint, 4-hour session of {entries:,} entries ({platform_name})"
    summary = Summary.of_values
    floor = summary([r["floor_ms"] for r in results])
    return [
        Row(
            name,
            "`ReviewWindow` 1280×800: read SQLite, build the model, show, until the timeline "
            "and the entry list are painted",
            summary([r["review_ms"] for r in results]),
            "ms",
            0,
            floor=floor,
            limit=REVIEW_LIMIT_MS,
            limit_inclusive=True,
        ),
        Row(
            name, "floor: bare QWidget 1280×800 in the same process, shown, painted", floor, "ms", 0
        ),
        Row(
            name + ": CPU",
            "the same, CPU time of the process (less sensitive to other load)",
            summary([r["review_cpu_ms"] for r in results]),
            "ms",
            0,
            floor=summary([r["floor_cpu_ms"] for r in results]),
            note="informative",
        ),
        Row(
            name,
            "of which construct: `ReviewWindow(...)` returns (read SQLite, build the model, "
            "the timeline's items, the list, the panels)",
            summary([r["construct_ms"] for r in results]),
            "ms",
            0,
            note="informative: part of the first row",
        ),
        Row(
            name,
            "of which show, lay out and paint (the rest, until both are painted)",
            summary([r["review_ms"] - r["construct_ms"] for r in results]),
            "ms",
            0,
            note="informative: part of the first row",
        ),
        Row(
            name,
            "`build_review` alone (read SQLite, build the model), timed before",
            summary([r["build_ms"] for r in results]),
            "ms",
            0,
            note="informative: within construct",
        ),
    ]


def export_rows(result: ExportResult, monitor: ExportResult) -> list[Row]:
    summary = Summary.of_values
    floor = summary(result.times["json"])
    pdf = f"PDF export of the same session ({result.entries:,} entries)"
    fhir = f"FHIR export, monitor-fed 4-hour session ({monitor.entries:,} entries)"
    fhir_floor = summary(monitor.times["json"])
    return [
        Row(
            pdf,
            f"`pdf_summary.render(timeline(...))`: read SQLite + PDF ({result.pages} pages, "
            f"{result.pdf_bytes / 1024:.0f} KiB)",
            summary(result.times["pdf"]),
            "s",
            3,
            floor=floor,
            target=PDF_TARGET,
            limit=PDF_LIMIT_S,
            limit_inclusive=True,
        ),
        Row(pdf, "floor: JSON export, `timeline_json.dumps(timeline(...))`", floor, "s", 3),
        Row(
            pdf,
            "of which the read, `timeline_json.timeline(...)`",
            summary(result.times["read"]),
            "s",
            3,
            floor=floor,
            note="informative",
        ),
        Row(
            pdf,
            "reportlab writing a one-page PDF with the same fonts and page template",
            summary(result.times["pdf-1page"]),
            "s",
            3,
            floor=floor,
            note="informative: reportlab's own floor",
        ),
        Row(
            pdf + ": CPU",
            "the PDF export, CPU time of the process (less sensitive to other load)",
            summary(result.cpu["pdf"]),
            "s",
            3,
            floor=summary(result.cpu["json"]),
            note="informative",
        ),
        Row(
            pdf + ": CPU",
            "floor: the JSON export, CPU time of the process",
            summary(result.cpu["json"]),
            "s",
            3,
        ),
        Row(
            fhir,
            f"`fhir_bundle.render(timeline(...))`: read SQLite + FHIR R4 bundle "
            f"({monitor.fhir_resources:,} resources, {monitor.fhir_bytes / 1024 / 1024:.1f} MiB; "
            "not validated, as every export: see How)",
            summary(monitor.times["fhir"]),
            "s",
            3,
            floor=fhir_floor,
            limit=FHIR_LIMIT_S,
            limit_inclusive=True,
        ),
        Row(fhir, "floor: JSON export of that session, same runs", fhir_floor, "s", 3),
        Row(
            fhir + ": CPU",
            "the FHIR export, CPU time of the process",
            summary(monitor.cpu["fhir"]),
            "s",
            3,
            floor=summary(monitor.cpu["json"]),
            note="informative",
        ),
        Row(
            fhir + ": CPU",
            "floor: its JSON export, CPU time of the process",
            summary(monitor.cpu["json"]),
            "s",
            3,
        ),
    ]


def music_rows(result: MusicResult) -> list[Row]:
    name = "CPU while a session plays music (Xvfb)"
    floor = Summary.of_values(result.bare)
    return [
        Row(
            name,
            "`kapsession --rehearsal` at ×1: dose clock visible, checks scheduled, the "
            "lozenge-75 arc on libVLC's dummy output",
            Summary.of_values(result.app),
            "% of a core",
            2,
            floor=floor,
            diff_limit=MUSIC_SHARE_LIMIT,
        ),
        Row(
            name,
            "floor: a bare python-vlc process playing the arc's first track, same output",
            floor,
            "% of a core",
            2,
        ),
    ]


def failed_row(benchmark: str, what: str, why: str) -> Row:
    return Row(benchmark, what, None, "", 0, note=f"not measured: {why}".replace("|", "/"))


def _filesystem(path: Path) -> str:
    """The mount type under path (ext4, tmpfs, ...): fsync costs differ by orders of magnitude."""
    best, kind = "", "unknown"
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    target = str(path.resolve())
    for line in mounts:
        parts = line.split()
        if len(parts) < 3 or len(parts[1]) <= len(best):
            continue
        if target == parts[1] or target.startswith(parts[1].rstrip("/") + "/"):
            best, kind = parts[1], parts[2]
    return kind


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown (not a git checkout)"
    dirty = git("status", "--porcelain", "--", "kapsession", "ui")
    return commit + (" with uncommitted changes in kapsession/ or ui/" if dirty else "")


def machine_facts(tmp_root: Path, others: str) -> list[str]:
    import sqlite3

    import PySide6
    from PySide6 import QtCore

    return [
        f"code: {code_version()}",
        f"CPUs: {os.cpu_count()} ({_cpu_model()})",
        f"OS: {platform.platform()}",
        f"Python {platform.python_version()} ({platform.python_implementation()})",
        f"PySide6 {PySide6.__version__}, Qt {QtCore.qVersion()}",
        f"SQLite {sqlite3.sqlite_version}, sqlite-utils {metadata.version('sqlite-utils')}",
        f"temp folder: {tmp_root} on {_filesystem(tmp_root)}",
        f"other processes during the run: {others}",
    ]


def _busy_cpu_seconds() -> float | None:
    """CPU seconds all processes have spent busy since boot (Linux), else None."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    ticks = [int(f) for f in fields[:8]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class OtherWork:
    """How much CPU everything but this benchmark used while it ran: the noise to beware of."""

    def __init__(self) -> None:
        self._busy, self._own = _busy_cpu_seconds(), _own_cpu_seconds()
        self._start = time.monotonic()

    def describe(self) -> str:
        busy = _busy_cpu_seconds()
        if busy is None or self._busy is None:
            return "unknown (no /proc/stat)"
        others = max(0.0, busy - self._busy - (_own_cpu_seconds() - self._own))
        share = others / max(1e-9, time.monotonic() - self._start)
        verdict = " — the machine was busy, the figures are skewed" if share > BUSY_SHARE else ""
        return f"{others:.1f} CPU-seconds, {share:.0%} of one CPU on average{verdict}"


def the_command(argv: Sequence[str], platform_name: str) -> str:
    command = shlex.join([".venv/bin/python", "bench/run.py", *argv])
    if platform_name == "xcb":
        command = "xvfb-run -a " + command
    return command


def startup_method(args: argparse.Namespace) -> str:
    launches = ", ".join(args.launches)
    return (
        f"Start-up ({launches}): bench/startup.py, {args.runs} runs of each launch after "
        f"{args.warmups} warm-ups, every app run beside its own floor run (bench/bare_qt.py), "
        "the order alternating run by run, all launches in one loop, "
        f"`QT_QPA_PLATFORM={args.platform}` for both. Returning: one data folder made by an "
        "untimed run before the timed ones, opened again each run; first: a folder that does not "
        "exist yet, each run (folder, database, schema created). Encrypted: the same with "
        "`KAPSESSION_PASSPHRASE` set: a first launch sets encryption up from it (Argon2id "
        "derivation, key file), a returning one derives the key from it to open the key file. "
        "No OS keyring is reached (`PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring`, "
        "empty XDG config/data/cache folders for app and floor). Times from "
        "`time.monotonic_ns()` just before the spawn: to **first paint** and to **ready** as "
        "the child stamps them in the file `KAPSESSION_SMOKE_STAMPS` names (`first_paint`: the "
        "first paint of any top-level window, the main window or the passphrase prompt, "
        "delivered; `ready`: the first screen a therapist can act on, painted; `--smoke` exits "
        "then), and to **exit**; and the process's user+system CPU time to exit "
        "(`getrusage(RUSAGE_CHILDREN)` around it), less sensitive to other load. The floor "
        "stamps both at its one paint. Targets: on ready "
        "for the unencrypted launches (returning ≤ 1.5×, first ≤ 2×), on first paint for the "
        "encrypted ones (the same ratios: the window or prompt before the key derivation); the "
        "other measures are published beside them. Both share a fresh byte-code cache "
        "(`PYTHONPYCACHEPREFIX`, filled by the warm-ups; `PYTHONDONTWRITEBYTECODE` unset), as "
        "an installed app runs from cached byte code. Where the app's start-up time goes: "
        "[docs/startup-profile.md](startup-profile.md)."
    )


def cold_method(args: argparse.Namespace, eviction: str) -> str:
    return (
        f"Cold start: bench/cold_start.py, {args.cold_runs} runs each, a returning launch (the "
        "folder and the byte-code cache made by untimed runs first) against the bare window, "
        f"alternating, each process preceded by its own eviction: {eviction}. The eviction "
        "falls back to `posix_fadvise(POSIX_FADV_DONTNEED)` on the venv's, Python's, the "
        "project's and the byte-code cache's files when /proc/sys/vm/drop_caches cannot be "
        "written (not root); pages another process maps stay cached then. The same stamps and "
        "measures as start-up; informative (the issue sets no target). In a virtual machine "
        "the host may still hold the disk's blocks in its own cache, so a real boot's reads "
        "can be slower still. Dropping the whole page cache also slows whatever else runs on "
        "the machine for a while."
    )


def bundle_method(args: argparse.Namespace, result: BundleResult) -> str:
    return (
        f"Bundle start-up: bench/bundle.py builds, into a temp folder, the app's bundle with "
        f"packaging/build.sh ({result.app_build_s:.0f} s, {result.app_mb:.0f} MB) and a bare "
        f"window's bundle from bench/bare_qt.py with bench/bare_qt.spec "
        f"({result.bare_build_s:.0f} s, {result.bare_mb:.0f} MB): one folder, console, no strip "
        "or UPX, and the app spec's own Qt exclusions and plugin/translation filters (read from "
        "packaging/kapsession.spec). Then a returning launch of the bundle (`--smoke` on a "
        f"folder made by an untimed run) and the bare bundle, {args.bundle_runs} runs each after "
        f"{args.warmups} warm-ups, alternating, in a minimal environment as a desktop gives it "
        "(`PATH`, `LANG`, `HOME`, empty XDG folders, no venv, no `PYTHONPATH`; keyring's null "
        "backend). Informative (no target). Building takes minutes, so this row is left out of "
        "`--quick` unless named (`--only bundle`)."
    )


def save_method(args: argparse.Namespace, warmups: dict[str, int]) -> str:
    counts = ", ".join(f"{name} {count}" for name, count in warmups.items())
    return (
        f"Note save: {args.notes} timed operations of each of five writers, interleaved in "
        f"blocks of {args.block} with the order rotating; each writer has its own database file "
        "in one temp folder, all with WAL, `synchronous=FULL`, `foreign_keys=ON` and a busy "
        "timeout; every operation returns after its COMMIT returned. The floor is a raw "
        "`sqlite3` INSERT of a row like a note's (the same nine columns and values) into a "
        "table with no index, trigger or check, then COMMIT: one page written per commit. The "
        "encrypted rows have their own floor, the same raw INSERT + COMMIT on an SQLCipher "
        "file opened as the store opens its own (sqlcipher3, the raw 256-bit key, SQLCipher's "
        "default cipher settings, the same pragmas), in the same run. A note's save on top of "
        "that: the note parsed, its JSON, the `events` row with its index, checks and "
        "triggers, and its audit entry (written by the trigger in the same transaction: the "
        "row's SHA-256 digest, per-column hints and the HMAC-SHA256 link, one SQL function "
        "call since m006), so three pages per commit. Each writer first warms up until its "
        "WAL file has wrapped (stopped growing), because commits that grow the file cost more "
        f"and a writer of smaller rows would stay in that phase longer (warm-ups: {counts}). "
        "CPU rows: process CPU time per block divided by its operations (user + system, the "
        "kernel's share of each commit included): less sensitive to other load than wall time."
    )


def idle_method(args: argparse.Namespace, result: IdleResult) -> str:
    threads = ", ".join(
        f"{name} {rate:.0f}/min"
        for name, rate in sorted(result.app_threads.items(), key=lambda item: -item[1])
    )
    return (
        f"Idle: the app and a bare Qt window each on its own Xvfb server (xcb), started together; "
        f"after {args.idle_settle:g} s of settling, {args.idle_seconds:g} s sampled in intervals "
        f"of {args.idle_interval:g} s (N = intervals). CPU: utime+stime of all threads from "
        "/proc/PID/stat (clock ticks of 10 ms, so one interval resolves "
        f"{100 * 0.01 / args.idle_interval:.2f} % of a core). Wake-ups: voluntary context "
        "switches summed over /proc/PID/task/*/status. The app reopens a real-time rehearsal "
        "given through the core without a music arc (`--rehearsal` itself plays one now; "
        "the music row measures that): the live screen, its dose clock repainting once per "
        "displayed second, protocol checks scheduled, no music, no input. The app's wake-ups "
        f"by thread over the whole sample: {threads} (the GUI thread wakes for the tick once "
        "per displayed second and the repaint; Qt's X11 event reader for the display server's "
        "replies to each repaint). The bare window repaints nothing, so it never wakes."
    )


def memory_method(args: argparse.Namespace, runs: Sequence[MemoryRun]) -> str:
    saved = "; ".join(
        ", ".join(f"{kind} {count}" for kind, count in sorted(r.saved.items())) for r in runs
    )
    per_run = "; ".join(" → ".join(f"{rss:.1f}" for rss, _ in r.app) + " MB" for r in runs)
    return (
        f"Memory: {args.mem_runs} run(s) of a 2-hour rehearsal at {args.mem_scale:g}× "
        f"({120 / args.mem_scale:.1f} real minutes each), the app and the bare window each on "
        "its own Xvfb. Driven from outside through the real keyboard path with xdotool (as "
        "tests/e2e does): a note typed every simulated minute, a vitals line on Alt+V every "
        "simulated quarter hour (answering the check that is due, if any); checks come due, go "
        "late and are missed by themselves; the rehearsal's music arc (lozenge-75, the demo "
        "audio) plays on libVLC's dummy output (`KAPSESSION_AUDIO_OUTPUT=dummy`: decoded and "
        "timed, no sound server), its phases following the scaled clock, so tracks change and "
        "crossfade far more often than in a real session. What the time scale cannot show: "
        "growth that follows real time rather than entries (libVLC playing for two real hours); "
        "`--mem-scale 1 --mem-runs 1` measures that in two real hours. RSS (VmRSS, /proc/PID/status) and PSS "
        f"(/proc/PID/smaps_rollup) at simulated hours {', '.join(f'{h:g}' for h in HOURS)}; "
        "growth is the least-squares slope of RSS over those four samples. N = runs. "
        f"RSS per run at those hours: {per_run}. Entries saved per run (exported timeline): "
        f"{saved}."
    )


# Why a target was missed and what would fix it, by benchmark (the causes were measured with
# `python -X importtime`, cProfile and the schema-cost row; see each text). Shown only for a miss.
WHY_MISSED = {
    "Start-up": (
        "Start-up: (1) a first launch creates the database and runs every migration, including "
        "m003's audit triggers (~140 ms of a ~0.9 s profiled smoke start); later launches skip it. "
        "(2) The arc pre-flight (libVLC loaded, every track of the default arc probed, "
        "~200 ms) used to run before the first paint; it now runs on a worker thread (commit "
        "0a5a768), off this path. (3) sqlite-utils imports click, pluggy and "
        "dateutil (~160 ms cumulative import with cached byte code) although the app uses none "
        "of them; importing only `sqlite_utils.db` lazily, or the Store using `sqlite3` directly "
        "for its few statements, would remove most of it. A busy machine (see 'other processes') "
        "stretches the app's ~4x more file and import work more than the floor's."
    ),
    "A note's durable save": (
        "Note save: where the time goes, layer by layer (each writer's compute with "
        "`synchronous=OFF`, CPU per op, medians of 60 interleaved blocks of 50 on the busy "
        "2-core machine of 2026-12-06): a raw INSERT + COMMIT 24 us; into kapsession's `events` "
        "table without its triggers +7.5 us (its index and checks: a second page per commit); "
        "its BEFORE triggers +4.9 us; the audit entry's SQL (its INSERT and the chain head's "
        "reads, the functions stubbed) +18.6 us (a third page per commit); the audit entry's "
        "Python (row digest, column hints, HMAC link) +65 us; the session's Python (the note "
        "parsed, its JSON, the Event, the signal) +37 us. Python work inside a save costs 2-4x "
        "what it does in a warm loop (one-shot HMAC 9.6 us after a commit, 3.3 us warm), as "
        "SQLite's page writes evict it from the caches. Tried and kept (compute per save "
        "180-197 us before, ~155 us after, same measurement): one SQL function call per audit "
        "entry instead of three (m006), encoders built once, the chain key's HMAC set up once "
        "per connection, C loops for the hints, no per-call SQL parsing on the save path, the "
        "encrypted connection's execute without a per-call guard. Tried and dropped: the entry "
        "function in a subquery (SQLite flattened it and called it once per use), keyed "
        "BLAKE2b for the link (3.2 us against 5.1 us for the pre-keyed HMAC after a commit: "
        "~2 us a save, not worth a second chain construction in verify). What stands in the "
        "way: with the audit functions free (stubbed) a save still computes ~2.3x the floor "
        "and writes three pages to the floor's one, and 1.5x of a 0.1-0.2 ms commit leaves "
        "50-100 us for all of it. Meeting it needs the digests out of Python (a SQLite build or "
        "loadable extension with SHA-256 and HMAC that never hands the key to SQL), or a floor "
        "of an insert plus its audit row."
    ),
    "Idle": (
        "Idle CPU: the clock repaints once per displayed second; a miss means more work per "
        "tick (look at `LiveView._on_tick`) or a timer firing more often than the display needs."
    ),
    "Review screen": (
        "Review screen: see 'Where the time goes' under How for the profile; a miss wants the "
        "construct/paint rows read first (REVIEW_BENCH_PROFILE=1 bench/review_bench.py --child "
        "prints a cProfile of the timed part). Left to try: stroke the vitals curves in pieces "
        "(~7 ms of the paint, a pixel differs where pieces meet), fewer pyqtgraph items per "
        "threshold line, Qt's first QLineEdit of the process (~6 ms) paid before."
    ),
    "PDF export": (
        "PDF export: the session is mostly notes (~9,600 of its 10,000 entries, ~430 pages). "
        "They are laid out as runs (`pdf_base.TextRun`: one flowable per page, one text object "
        "per page). Profiled (pyinstrument of `pdf_summary.render`, 2026-12-06): about a third "
        "of what is left is reportlab encoding each line for the embedded font subset "
        "(`PDFTextObject.textOut` -> `TTFont.splitString`, a Python loop over characters; "
        "~22,000 lines), a tenth breaking lines (`_greedy`), a tenth the notes' time labels "
        "(`summary.when`), the rest reportlab's page handling, compression and font subsetting. "
        "Further gains would need encoding a page's lines in one pass (reportlab's internals) "
        "or fewer, longer lines."
    ),
    "FHIR export": (
        "FHIR export: with validation off the export path, what is left is building ~5 "
        "resources per vitals entry as dicts (uuid5 ids, codings) and json.dumps; a miss means "
        "the validation (~0.3 ms a resource with fhir.resources) came back onto the path."
    ),
    "CPU while a session plays music": (
        "Music CPU: the app's share beyond libVLC's decoding comes from its music tick (4 Hz: "
        "position, fades) and the clock's repaints; a miss means more work per tick or a timer "
        "firing more often than needed (`ui/live/music.py` TICK_MS, `kapsession/arc_player.py`)."
    ),
    "Memory": (
        "Memory: the table's RSS samples per run show whether the growth is steady (a leak: "
        "entries kept per note, libVLC media never released) or a step (a cache filled once)."
    ),
}


def review_method(args: argparse.Namespace, results: Sequence[dict[str, float]]) -> str:
    first = results[0]
    return (
        f"Review screen: bench/review_bench.py's measurement, {args.review_runs} runs, each in a "
        f"fresh process with `QT_QPA_PLATFORM={args.platform}` and the imports done before the "
        "clock starts; a warm-up window first (fonts, style), then the floor (a bare QWidget of "
        "the same size, shown and painted), then `ReviewWindow(store, session)`, timed from its "
        "construction (which reads the session from the SQLite file) until both the timeline "
        "plot and the entry list have delivered their first paint. The session "
        "(bench/review_data.py `big_session`, written once through `Store.append` into a real "
        "SQLite file): 4 hours, vitals every minute, a check and two observations every 15 "
        "minutes, music phases and tracks, one alert, notes for the rest; "
        f"{int(first['markers'])} markers on the timeline, {int(first['entries'])} rows in the "
        "list. Where the time goes (profiled 2026-12-06 with stage timers and "
        "REVIEW_BENCH_PROFILE=1, CPU ms, medians of 5-7 interleaved runs on the busy 2-core "
        "machine; before the work on issue 13 the same timers gave ~245-260 ms): build_review "
        "~18 (11 of it SQLite handing over the 10,000 rows' seq, kind and time in reading "
        "order; a note's text stays in the store until its row or marker is shown, read a "
        "screenful at a time), the timeline's items ~46 (pyqtgraph's five views and axes, six "
        "labelled threshold lines, four curves, eight marker scatters holding at most one "
        "marker per lane and sliver of the visible time; ranges set before the items go in), "
        "the window's other widgets ~16 (6 of it Qt's first QLineEdit in the process), the "
        "entry list ~1 (a model answering rows from the review's columns, fixed row height), "
        "then the timeline's paint ~43 (axes' tick text ~17, four antialiased 2 px curves "
        "~14) and the rest of the window's ~15. Garbage collection is ~2 ms (29 young "
        "collections; it was ~15-40 ms with an object per entry), so a gc.freeze() after "
        "start-up does not change this row."
    )


def export_method(args: argparse.Namespace) -> str:
    return (
        f"PDF and FHIR exports: bench/export_bench.py's `bench_export` on the review's session, "
        f"{args.export_runs} runs of each step after one warm-up, in this process, the steps "
        "taking turns in every run; every step reads the session from SQLite (`timeline_json.timeline`) inside the "
        "timed part, so the floor (the JSON export) and the PDF or FHIR export differ only by "
        "rendering. The FHIR rows use bench/export_bench.py's monitor-shaped 4-hour session "
        "(vitals every ~3 s, alerts, ratings, notes, music; 10,000 entries), its own JSON "
        "export the floor. The FHIR bundle is written from plain data without running the "
        "fhir.resources models, as every export is; `kapsession export --format fhir --validate` "
        "and the tests (tests/unit/test_fhir_fast.py) validate it, which costs ~0.3 ms a "
        "resource more. (Run alone, bench/export_bench.py times every export of the monitor-shaped "
        "session, Markdown and the validated FHIR path included.)"
    )


def music_method(args: argparse.Namespace) -> str:
    return (
        f"Music CPU: bench/music_cpu.py's `bench_music` on its own Xvfb server, {args.music_runs} "
        f"run(s): the app, then the floor, each started, left {MUSIC_SETTLE_S:g} s to settle, "
        f"then measured for {args.music_seconds:g} s of wall time (utime+stime of the process "
        "from /proc/PID/stat; clock ticks of 10 ms, so one run resolves "
        f"{100 * 0.01 / args.music_seconds:.2f} % of a core); N = runs. Both play on libVLC's "
        "dummy output (`KAPSESSION_AUDIO_OUTPUT=dummy`: decoded and timed, no sound server). "
        "The target is on the difference, the app's own share (fades, the 4 Hz ticks, the "
        "records, the clock) beyond libVLC's decoding."
    )


def missed_notes(rows: Sequence[Row]) -> list[str]:
    notes: list[str] = []
    for key, text in WHY_MISSED.items():
        if any(row.missed and row.benchmark.startswith(key) for row in rows):
            notes.append(f"- {text}")
    return notes


MISSED_HEADING = "## Where a target is missed: why, and what would fix it"


def report(rows: Sequence[Row], facts: Sequence[str], command: str, method: Sequence[str]) -> str:
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        "# Benchmarks",
        "",
        f"Measured {when} with:",
        "",
        "```",
        command,
        "```",
        "",
        markdown_table(rows),
        "",
        "Code and machine:",
        "",
        *[f"- {fact}" for fact in facts],
        "",
        "How:",
        "",
        *[f"- {item}" for item in method],
        "- vs floor: median over the floor's median (×), or for a target on the difference, "
        "median minus the floor's median. Targets are goals, not assertions; spread is the "
        "interquartile range and min–max of single runs or operations.",
        "",
    ]
    if notes := missed_notes(rows):
        lines += [MISSED_HEADING, "", *notes, ""]
    return "\n".join(lines)


def _names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown benchmark {', '.join(unknown) or '(none)'}; choose from {', '.join(BENCHMARKS)}"
        )
    return names


def _launches(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in LAUNCHES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown launch {', '.join(unknown) or '(none)'}; choose from {', '.join(LAUNCHES)}"
        )
    return names


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description="kapsession benchmarks against their floors."
    )
    parser.add_argument(
        "--platform",
        default="offscreen",
        help="QT_QPA_PLATFORM for start-up and the review screen (default offscreen; xcb under "
        "xvfb-run)",
    )
    parser.add_argument(
        "--only",
        type=_names,
        default=BENCHMARKS,
        metavar="NAME[,NAME]",
        help=f"run only these benchmarks, of {', '.join(BENCHMARKS)}; the report is then printed, "
        "not written, unless --output is given",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer and shorter runs, to check the wiring; the report is printed, not written, "
        "unless --output is given (explicit counts below still apply)",
    )
    parser.add_argument(
        "--runs", type=int, default=15, help="timed start-up runs of each launch (default 15)"
    )
    parser.add_argument(
        "--launches",
        type=_launches,
        default=LAUNCHES,
        metavar="NAME[,NAME]",
        help=f"start-up launches, of {', '.join(LAUNCHES)} (default all)",
    )
    parser.add_argument(
        "--cold-runs", type=int, default=5, help="cold start runs of app and floor (default 5)"
    )
    parser.add_argument(
        "--bundle-runs",
        type=int,
        default=10,
        help="bundle start-up runs of app and floor (default 10; warm-ups as --warmups)",
    )
    parser.add_argument("--warmups", type=int, default=2, help="start-up warm-ups (default 2)")
    parser.add_argument("--notes", type=int, default=2000, help="timed saves each (default 2000)")
    parser.add_argument("--block", type=int, default=100, help="saves per block (default 100)")
    parser.add_argument(
        "--idle-seconds", type=float, default=60, help="idle time sampled (default 60 s)"
    )
    parser.add_argument(
        "--idle-interval", type=float, default=10, help="idle sampling interval (default 10 s)"
    )
    parser.add_argument(
        "--idle-settle", type=float, default=10, help="wait before idle sampling (default 10 s)"
    )
    parser.add_argument(
        "--mem-runs", type=int, default=3, help="2-hour rehearsals for memory (default 3)"
    )
    parser.add_argument(
        "--mem-scale",
        type=float,
        default=120,
        help="rehearsal time scale for memory (default 120: 2 simulated hours in 1 real minute)",
    )
    parser.add_argument(
        "--review-runs", type=int, default=7, help="review screen processes (default 7)"
    )
    parser.add_argument(
        "--export-runs", type=int, default=7, help="timed runs of each export (default 7)"
    )
    parser.add_argument(
        "--music-runs", type=int, default=3, help="music CPU runs of app and floor (default 3)"
    )
    parser.add_argument(
        "--music-seconds", type=float, default=20, help="music CPU time measured (default 20 s)"
    )
    parser.add_argument(
        "--tmp-dir",
        type=Path,
        default=None,
        help="where temp folders go (default: the system's); its file system matters",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="markdown report (default docs/benchmarks.md, written only by a full run: "
        "without --only or --quick)",
    )
    if "--quick" in argv:
        quick_only = tuple(name for name in BENCHMARKS if name not in NOT_QUICK)
        parser.set_defaults(**QUICK, only=quick_only)
    args = parser.parse_args(argv)
    if args.output is None and not args.quick and set(args.only) == set(BENCHMARKS):
        args.output = ROOT / "docs" / "benchmarks.md"
    if args.runs < 2 or args.notes < 2:
        parser.error("need at least 2 runs and 2 notes for quartiles")
    if args.notes % args.block:
        parser.error("--notes must be a multiple of --block")
    if args.idle_seconds < 2 * args.idle_interval:
        parser.error("--idle-seconds must cover at least two --idle-interval")
    if args.mem_runs < 1 or not 0 < args.mem_scale <= 3600:
        parser.error("--mem-runs must be at least 1 and --mem-scale in (0, 3600]")
    if min(args.review_runs, args.export_runs, args.music_runs) < 1 or args.music_seconds <= 0:
        parser.error("--review-runs, --export-runs and --music-runs must be at least 1")
    if args.cold_runs < 1 or args.bundle_runs < 2:
        parser.error("--cold-runs must be at least 1 and --bundle-runs at least 2")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    only = set(args.only)
    tmp_root = (args.tmp_dir or Path(tempfile.gettempdir())).resolve()
    rows: list[Row] = []
    method: list[str] = []
    complete = True
    other_work = OtherWork()
    if only & {"startup", "cold", "bundle"}:
        ok = measure_startup(args, only, rows, method)
        if ok is None:
            return 1
        complete = complete and ok
    if "save" in only:
        print(f"note save: {args.notes} each ...", file=sys.stderr)
        times, warmups, save_cpu = bench_note_save(args.notes, args.block, args.tmp_dir)
        rows += save_rows(times, save_cpu)
        method.append(save_method(args, warmups))
    if only & {"idle", "memory", "music"} and (missing := tools_missing()):
        print(f"bench: idle, memory and music need {', '.join(missing)}", file=sys.stderr)
        return 1
    if "idle" in only:
        print(f"idle: {args.idle_settle:g} + {args.idle_seconds:g} s ...", file=sys.stderr)
        try:
            idle = bench_idle(args.idle_seconds, args.idle_interval, args.idle_settle, args.tmp_dir)
        except RunFailed as exc:
            print(f"bench: idle could not be measured: {exc}", file=sys.stderr)
            return 1
        rows += idle_rows(idle)
        method.append(idle_method(args, idle))
    if "memory" in only:
        print(f"memory: {args.mem_runs} x 2 simulated hours ...", file=sys.stderr)
        try:
            runs = bench_memory(args.mem_runs, args.mem_scale, args.tmp_dir)
        except RunFailed as exc:
            print(f"bench: memory could not be measured: {exc}", file=sys.stderr)
            return 1
        rows += memory_rows(runs, args.mem_scale)
        method.append(memory_method(args, runs))
    if only & {"review", "export"}:
        ok = measure_long_session(args, only, rows, method)
        complete = complete and ok
    if "music" in only:
        print(f"music CPU: {args.music_runs} x (app, floor) ...", file=sys.stderr)
        try:
            with xvfb() as display:
                music = bench_music(args.music_seconds, args.music_runs, display, args.tmp_dir)
        except (RuntimeError, OSError) as exc:
            print(f"bench: music CPU could not be measured: {exc}", file=sys.stderr)
            rows.append(failed_row("CPU while a session plays music (Xvfb)", "the app", str(exc)))
            complete = False
        else:
            rows += music_rows(music)
            method.append(music_method(args))
    others = other_work.describe()
    if only & {"startup", "cold", "bundle", "review"} and args.platform != "offscreen":
        others += " (this includes the display server drawing the windows)"
    facts = machine_facts(tmp_root, others)
    text = report(rows, facts, the_command(argv, args.platform), method)
    print(text)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"written to {args.output}", file=sys.stderr)
    else:
        print("not written (--only or --quick; --output FILE writes it)", file=sys.stderr)
    return 0 if complete else 1


def measure_startup(
    args: argparse.Namespace, only: set[str], rows: list[Row], method: list[str]
) -> bool | None:
    """Start-up, cold start and the bundle: False if the app could not be measured in one of
    them, None if a floor failed (nothing to compare with)."""
    complete = True
    try:
        if "startup" in only:
            print(
                f"start-up: {len(args.launches)} launches, {args.warmups} + {args.runs} runs "
                "each ...",
                file=sys.stderr,
            )
            results = bench_launches(
                args.platform, args.runs, args.warmups, args.tmp_dir, args.launches
            )
            complete = all(r.app_failure is None for r in results.values())
            rows.extend(startup_rows(results, args.platform))
            method.append(startup_method(args))
        if "cold" in only:
            print(f"cold start: {args.cold_runs} runs each ...", file=sys.stderr)
            cold, eviction = bench_cold(args.platform, args.cold_runs, args.tmp_dir)
            complete = complete and cold.app_failure is None
            rows.extend(cold_rows(cold, eviction, args.platform))
            method.append(cold_method(args, eviction))
    except RunFailed as exc:
        print(f"bench: the start-up floor failed: {exc}", file=sys.stderr)
        return None
    if "bundle" in only:
        print(
            f"bundle: building both, then {args.warmups} + {args.bundle_runs} runs each ...",
            file=sys.stderr,
        )
        try:
            bundle = bench_bundle(args.platform, args.bundle_runs, args.warmups, args.tmp_dir)
        except (BuildFailed, RunFailed, OSError, subprocess.TimeoutExpired) as exc:
            print(f"bench: the bundle start-up could not be measured: {exc}", file=sys.stderr)
            rows.append(failed_row("Bundle start-up", "the PyInstaller bundle", str(exc)))
            return False
        complete = complete and bundle.launch.app_failure is None
        rows.extend(bundle_rows(bundle, args.platform))
        method.append(bundle_method(args, bundle))
    return complete


def measure_long_session(
    args: argparse.Namespace, only: set[str], rows: list[Row], method: list[str]
) -> bool:
    """The review screen and the PDF export, both on one generated 4-hour session of
    REVIEW_ENTRIES entries in a real SQLite file. False if a part could not be measured."""
    from datetime import timedelta

    from review_data import T0

    from kapsession.storage.store import Store

    ok = True
    with tempfile.TemporaryDirectory(prefix="kapsession-bench-review-", dir=args.tmp_dir) as tmp:
        folder = Path(tmp) / "data"
        started = time.perf_counter()
        session_id, written = make_session(folder, REVIEW_ENTRIES)
        print(
            f"long session: {written} entries written in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        if "review" in only:
            print(f"review screen: {args.review_runs} runs ...", file=sys.stderr)
            try:
                results = bench_review(folder, session_id, args.review_runs, args.platform)
            except (ReviewFailed, subprocess.TimeoutExpired) as exc:
                why = str(exc).strip().splitlines()[-1:] or ["no output"]
                print(f"bench: the review screen could not be measured: {exc}", file=sys.stderr)
                rows.append(failed_row("Review screen first paint", "`ReviewWindow`", why[0]))
                ok = False
            else:
                rows += review_rows(results, written, args.platform)
                method.append(review_method(args, results))
        if "export" in only:
            print(f"export: {args.export_runs} runs of each step ...", file=sys.stderr)
            store = Store.open(folder, create=False)
            try:
                exported = bench_export(
                    store,
                    session_id,
                    T0 + timedelta(hours=5),
                    args.export_runs,
                    ("read", "json", "pdf", "pdf-1page"),
                )
            finally:
                store.close()
            # FHIR on a session shaped like one fed by a monitor (vitals every ~3 s: ~20,000
            # resources), the heavy case for it; the review's session has ~750.
            store, monitor_id, monitor_now = monitor_session(Path(tmp) / "monitor", REVIEW_ENTRIES)
            try:
                monitor = bench_export(
                    store, monitor_id, monitor_now, args.export_runs, ("json", "fhir")
                )
            finally:
                store.close()
            rows += export_rows(exported, monitor)
            method.append(export_method(args))
    return ok


if __name__ == "__main__":
    sys.exit(main())
