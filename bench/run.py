"""kapsession benchmarks, each against the floor it cannot beat. Run from the repository root:

    .venv/bin/python bench/run.py

Under a real X server instead of Qt's offscreen platform:

    xvfb-run -a .venv/bin/python bench/run.py --platform xcb

It measures
  a. start-up to the first painted main window: `kapsession --smoke` in a fresh data folder
     against bench/bare_qt.py (QApplication + an empty QMainWindow, shown, painted once), both as
     subprocesses with the same QT_QPA_PLATFORM; wall time, 15 runs each after 2 warm-ups;
  b. a note's durable save: LiveSession.add_note on a real SQLite file against a raw sqlite3
     insert+commit with the same pragmas in the same temp folder; 2000 each, interleaved in blocks;
  c. idle CPU (% of one core) and wake-ups per minute of the real app under Xvfb while a rehearsal
     session runs with the dose clock visible, no music, against a bare Qt window idle beside it
     (bench/idle_memory.py);
  d. memory (RSS, PSS) of the real app through a 2-hour rehearsal at a high time scale, notes and
     vitals typed through xdotool, checks coming due, against the bare Qt window's (same module).

It prints a markdown table with medians, quartiles and min/max, and writes it, with the date, the
machine and this command, to docs/benchmarks.md. Exit status 1 if something could not be measured.
Targets are reported, not enforced: start-up <= 2x the floor, a note's save <= 1.5x the floor,
idle CPU < 1 % of one core, memory < 250 MB after 2 hours and growth < 10 MB per simulated hour.
c and d need Xvfb and xdotool (./test installs them) and Linux's /proc.
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

from idle_memory import (
    HOURS,
    IdleResult,
    MemoryRun,
    bench_idle,
    bench_memory,
    slope_per_hour,
    tools_missing,
)
from note_save import bench_note_save
from startup import RunFailed, StartupResult, bench_startup

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TARGET = 2.0
SAVE_TARGET = 1.5
IDLE_CPU_LIMIT = 1.0  # % of one core
MEMORY_LIMIT = 250.0  # MB after 2 simulated hours
GROWTH_LIMIT = 10.0  # MB per simulated hour
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
    limit: float | None = None  # below this, in the row's unit
    note: str = ""

    @property
    def missed(self) -> bool:
        if self.summary is None:
            return False
        if self.limit is not None and self.summary.median >= self.limit:
            return True
        if self.target is not None and self.floor is not None and self.floor.median > 0:
            return self.summary.median / self.floor.median > self.target
        return False

    def cells(self) -> list[str]:
        if self.summary is None:
            return [self.benchmark, self.what, "—", "—", "—", "—", "—", self.note]
        s, d, u = self.summary, self.digits, self.unit
        ratio = target = ""
        if self.floor is not None and self.floor.median > 0:
            value = s.median / self.floor.median
            ratio = f"**{value:.2f}×**"
            if self.target is not None:
                verdict = "met" if value <= self.target else "**missed**"
                target = f"≤ {self.target:g}× ({verdict})"
        elif self.floor is not None:
            ratio = "floor 0"
        if self.limit is not None:
            verdict = "met" if s.median < self.limit else "**missed**"
            target = f"< {self.limit:g} {u} ({verdict})"
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


HEADER = ["Benchmark", "What runs", "N", "Median", "IQR (p25–p75)", "Min–max", "Ratio", "Target"]


def markdown_table(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def startup_rows(result: StartupResult, platform_name: str) -> list[Row]:
    floor = Summary.of(result.bare_ns, 1e6)
    name = f"Start-up to first painted main window ({platform_name})"
    bare = Row(name, "floor: `bench/bare_qt.py` (empty QMainWindow)", floor, "ms", 0)
    if result.app_failure is not None:
        app = Row(
            name,
            "`kapsession --smoke --data-dir NEW`",
            None,
            "ms",
            0,
            note=f"not measured: {result.app_failure}".replace("|", "/"),
        )
    else:
        app = Row(
            name,
            "`kapsession --smoke --data-dir NEW`",
            Summary.of(result.app_ns, 1e6),
            "ms",
            0,
            floor=floor,
            target=STARTUP_TARGET,
        )
    return [app, bare]


def save_rows(times: dict[str, list[int]]) -> list[Row]:
    name = "A note's durable save (per op)"
    floor = Summary.of(times["floor"], 1e6)
    return [
        Row(
            name,
            "`LiveSession.add_note` (Store + SessionService, SystemClock)",
            Summary.of(times["add_note"], 1e6),
            "ms",
            3,
            floor=floor,
            target=SAVE_TARGET,
        ),
        Row(name, "floor: raw sqlite3 INSERT + COMMIT, plain table", floor, "ms", 3),
        Row(
            name,
            "raw sqlite3 INSERT + COMMIT into kapsession's `events` table",
            Summary.of(times["schema"], 1e6),
            "ms",
            3,
            floor=floor,
            note="informative: schema cost",
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
    return (
        f"Start-up: wall time from spawn to exit of each subprocess, {args.runs} runs each after "
        f"{args.warmups} warm-ups, app and floor alternating run by run, "
        f"`QT_QPA_PLATFORM={args.platform}` for both. Each app run gets a data folder that does "
        "not exist yet: a first launch, so the folder, the database and its schema are created. "
        "Both share a fresh byte-code cache (`PYTHONPYCACHEPREFIX`, filled by the warm-ups; "
        "`PYTHONDONTWRITEBYTECODE` unset), as an installed app runs from cached byte code."
    )


def save_method(args: argparse.Namespace, warmups: dict[str, int]) -> str:
    counts = ", ".join(f"{name} {count}" for name, count in warmups.items())
    return (
        f"Note save: {args.notes} timed operations of each writer, interleaved in blocks of "
        f"{args.block} with the order rotating; each writer has its own database file in one "
        "temp folder, all with WAL, `synchronous=FULL`, `foreign_keys=ON` and a busy timeout; "
        "every operation returns after its COMMIT returned. Each writer first warms up until its "
        "WAL file has wrapped (stopped growing), because commits that grow the file cost more "
        f"and a writer of smaller rows would stay in that phase longer (warm-ups: {counts})."
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
        "bench/music_cpu.py measures that): the live screen, its dose clock repainting once per "
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
        "(2) The home screen runs the arc pre-flight (libVLC loaded, every track of the default "
        "arc probed) while it is built, before the first paint (~200 ms, "
        "`home_view._preflight` → `check_arc_tracks`): running it after the first paint "
        "(`QTimer.singleShot(0, ...)`) or on a worker thread, or caching results by file size "
        "and mtime, takes it off the start-up path. (3) sqlite-utils imports click, pluggy and "
        "dateutil (~160 ms cumulative import with cached byte code) although the app uses none "
        "of them; importing only `sqlite_utils.db` lazily, or the Store using `sqlite3` directly "
        "for its few statements, would remove most of it. A busy machine (see 'other processes') "
        "stretches the app's ~4x more file and import work more than the floor's."
    ),
    "A note's durable save": (
        "Note save: the schema-cost row shows where it goes: a raw insert into kapsession's "
        "`events` table already costs most of the difference (its ratio), because m003's audit "
        "trigger writes a "
        "second, hash-chained row in the same transaction, with SHA-256 and per-column "
        "digests computed by Python functions registered on the connection. That is the "
        "tamper-evidence the design asks for; per note it adds ~0.1-0.2 ms, far below anything a "
        "therapist can notice. To meet 1.5x against a plain commit, the digest functions would "
        "have to get cheaper (canonical JSON built once per row instead of per column, "
        "`hashlib.sha256` over bytes already encoded); the fairer floor is an insert plus one "
        "audit row."
    ),
    "Idle": (
        "Idle CPU: the clock repaints once per displayed second; a miss means more work per "
        "tick (look at `LiveView._on_tick`) or a timer firing more often than the display needs."
    ),
    "Memory": (
        "Memory: the table's RSS samples per run show whether the growth is steady (a leak: "
        "entries kept per note, libVLC media never released) or a step (a cache filled once)."
    ),
}


def missed_notes(rows: Sequence[Row]) -> list[str]:
    notes: list[str] = []
    for key, text in WHY_MISSED.items():
        if any(row.missed and row.benchmark.startswith(key) for row in rows):
            notes.append(f"- {text}")
    return notes


def kept_sections(path: Path) -> str:
    """Sections written by other benchmark scripts (a `## ` heading onwards) in the existing
    report: kept below this run's figures rather than lost."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("## ") and line != MISSED_HEADING:
            return "\n".join(lines[i:]).rstrip() + "\n"
    return ""


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
        "- Ratio: median over the floor's median. Targets are goals, not assertions; spread is "
        "the interquartile range and min–max of single runs or operations.",
        "",
    ]
    if notes := missed_notes(rows):
        lines += [MISSED_HEADING, "", *notes, ""]
    return "\n".join(lines)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description="kapsession benchmarks against their floors."
    )
    parser.add_argument(
        "--platform",
        default="offscreen",
        help="QT_QPA_PLATFORM for both start-up subprocesses (default offscreen; xcb under xvfb-run)",
    )
    parser.add_argument("--runs", type=int, default=15, help="timed start-up runs (default 15)")
    parser.add_argument("--warmups", type=int, default=2, help="start-up warm-ups (default 2)")
    parser.add_argument("--notes", type=int, default=2000, help="timed saves each (default 2000)")
    parser.add_argument("--block", type=int, default=100, help="saves per block (default 100)")
    parser.add_argument(
        "--only",
        choices=("startup", "save", "idle", "memory"),
        help="run just one of the benchmarks",
    )
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
        "--tmp-dir",
        type=Path,
        default=None,
        help="where temp folders go (default: the system's); its file system matters",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "docs" / "benchmarks.md",
        help="markdown report (default docs/benchmarks.md)",
    )
    args = parser.parse_args(argv)
    if args.runs < 2 or args.notes < 2:
        parser.error("need at least 2 runs and 2 notes for quartiles")
    if args.notes % args.block:
        parser.error("--notes must be a multiple of --block")
    if args.idle_seconds < 2 * args.idle_interval:
        parser.error("--idle-seconds must cover at least two --idle-interval")
    if args.mem_runs < 1 or not 0 < args.mem_scale <= 3600:
        parser.error("--mem-runs must be at least 1 and --mem-scale in (0, 3600]")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    tmp_root = (args.tmp_dir or Path(tempfile.gettempdir())).resolve()
    rows: list[Row] = []
    method: list[str] = []
    complete = True
    other_work = OtherWork()
    if args.only in (None, "startup"):
        print(f"start-up: {args.warmups} + {args.runs} runs each ...", file=sys.stderr)
        try:
            result = bench_startup(args.platform, args.runs, args.warmups, args.tmp_dir)
        except RunFailed as exc:
            print(f"bench: the start-up floor failed: {exc}", file=sys.stderr)
            return 1
        complete = result.app_failure is None
        rows += startup_rows(result, args.platform)
        method.append(startup_method(args))
    if args.only in (None, "save"):
        print(f"note save: {args.notes} each ...", file=sys.stderr)
        times, warmups = bench_note_save(args.notes, args.block, args.tmp_dir)
        rows += save_rows(times)
        method.append(save_method(args, warmups))
    if args.only in (None, "idle", "memory") and (missing := tools_missing()):
        print(f"bench: idle and memory need {', '.join(missing)}", file=sys.stderr)
        return 1
    if args.only in (None, "idle"):
        print(f"idle: {args.idle_settle:g} + {args.idle_seconds:g} s ...", file=sys.stderr)
        try:
            idle = bench_idle(args.idle_seconds, args.idle_interval, args.idle_settle, args.tmp_dir)
        except RunFailed as exc:
            print(f"bench: idle could not be measured: {exc}", file=sys.stderr)
            return 1
        rows += idle_rows(idle)
        method.append(idle_method(args, idle))
    if args.only in (None, "memory"):
        print(f"memory: {args.mem_runs} x 2 simulated hours ...", file=sys.stderr)
        try:
            runs = bench_memory(args.mem_runs, args.mem_scale, args.tmp_dir)
        except RunFailed as exc:
            print(f"bench: memory could not be measured: {exc}", file=sys.stderr)
            return 1
        rows += memory_rows(runs, args.mem_scale)
        method.append(memory_method(args, runs))
    others = other_work.describe()
    if args.only in (None, "startup") and args.platform != "offscreen":
        others += " (this includes the display server drawing the windows)"
    facts = machine_facts(tmp_root, others)
    text = report(rows, facts, the_command(argv, args.platform), method)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    kept = kept_sections(args.output)
    args.output.write_text(text + ("\n" + kept if kept else ""), encoding="utf-8")
    print(f"written to {args.output}", file=sys.stderr)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
