"""Idle CPU, wake-ups and memory of the real app under Xvfb, each beside a bare Qt window.

Both are separate processes, each on its own Xvfb server (so neither can take the other's keyboard
focus), started and sampled in the same loop so that whatever else the machine does hits both
alike. Everything is read from /proc (Linux only):

- CPU: utime + stime of the whole process (all threads) from /proc/PID/stat, in clock ticks;
- wake-ups: the voluntary context switches of all its threads (/proc/PID/task/*/status): each is a
  thread that went to sleep and was woken again, which is what keeps a laptop's CPU out of its
  deep idle states;
- memory: VmRSS from /proc/PID/status and Pss from /proc/PID/smaps_rollup (shared libraries
  divided among the processes that map them).

Idle: a rehearsal session at real time without a music arc (given through the core before the
app starts; the app resumes it, as after a restart), so the live screen shows the dose clock
ticking, the protocol's checks are scheduled, no music plays and nobody types; after a settling
time, the CPU and wake-ups over consecutive intervals. (`--rehearsal` itself now plays the
lozenge arc, which bench/music_cpu.py measures.)

Memory: `kapsession --rehearsal --time-scale N` for two simulated hours, its music arc playing
on libVLC's dummy output (KAPSESSION_AUDIO_OUTPUT=dummy: decoded and timed, no sound server
needed), driven through the real keyboard path with xdotool (as tests/e2e does): a note typed
every simulated minute, and every simulated quarter hour a vitals line on Alt+V (which answers
the protocol check that is due, if any); checks come due, go late and are missed on their own. RSS and PSS are sampled at simulated
0.5, 1, 1.5 and 2 hours; growth is the least-squares slope over those four samples.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from startup import BARE_QT, RunFailed, kapsession_command

CLK_TCK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_S = 30.0
HOURS = (0.5, 1.0, 1.5, 2.0)
VITALS_LINE = "124/80 72 98"


def tools_missing() -> list[str]:
    return [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]


@contextmanager
def xvfb() -> Iterator[str]:
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15)


def wakeups_by_thread(pid: int) -> dict[str, int]:
    """Voluntary context switches so far, by thread name (threads of one name summed)."""
    counts: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    counts[name] = counts.get(name, 0) + int(line.split()[1])
        except OSError:
            continue  # a thread that ended meanwhile
    return counts


def wakeups(pid: int) -> int:
    return sum(wakeups_by_thread(pid).values())


def memory_mib(pid: int) -> tuple[float, float]:
    """(RSS, PSS) in MiB."""
    rss = pss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            pss = int(line.split()[1])
    return rss / 1024, pss / 1024


class Running:
    """A GUI process on its own display, with its window found (mapped and viewable)."""

    def __init__(self, cmd: list[str], display: str, home: Path, name: str) -> None:
        self.env = dict(os.environ)
        self.env.pop("QT_QPA_PLATFORM", None)
        self.env.update(
            DISPLAY=display,
            QT_QPA_PLATFORM="xcb",
            XDG_CONFIG_HOME=str(home / "config"),
            PYTHONDONTWRITEBYTECODE="1",
            KAPSESSION_AUDIO_OUTPUT="dummy",
            # A new data folder would otherwise open the first-launch setup dialog (encryption,
            # PIN) and wait there: the benchmarks measure an unencrypted store.
            KAPSESSION_ENCRYPTION="off",
        )
        self.log = home / f"{name}.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                cmd, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log
            )
        self.started = time.monotonic()
        self.window = self._wait_for_window(name)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _wait_for_window(self, name: str) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log.read_text().strip().splitlines()[-1:] or ["no output"]
                raise RunFailed(f"{name} exited early ({self.proc.returncode}): {tail[0]}")
            found = subprocess.run(
                ["xdotool", "search", "--onlyvisible", "--pid", str(self.pid), "--name", "."],
                env=self.env,
                capture_output=True,
                text=True,
            ).stdout.split()
            if found:
                return found[-1]
            time.sleep(0.1)
        raise RunFailed(f"{name}: no window within {START_TIMEOUT_S:g} s")

    def focus(self) -> None:
        """Gives the app's window the keyboard focus, searching it again on every try: the
        window found first may be short-lived or not yet viewable (as in tests/e2e)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            windows = subprocess.run(
                ["xdotool", "search", "--onlyvisible", "--pid", str(self.pid), "--name", "."],
                env=self.env,
                capture_output=True,
                text=True,
            ).stdout.split()
            for window in windows:
                try:
                    done = subprocess.run(
                        ["xdotool", "windowfocus", "--sync", window],
                        env=self.env,
                        capture_output=True,
                        timeout=5,
                    )
                except subprocess.TimeoutExpired:
                    continue
                if done.returncode == 0:
                    self.window = window
                    return
            time.sleep(0.1)
        raise RunFailed("the app window did not take the keyboard focus")

    def xdo(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], env=self.env, check=True, capture_output=True)

    def type_line(self, text: str) -> None:
        self.xdo("type", "--delay", "2", text)
        self.xdo("key", "Return")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _bare(display: str, home: Path) -> Running:
    return Running([sys.executable, str(BARE_QT), "--stay"], display, home, "bare")


# --- idle ------------------------------------------------------------------------------------


@dataclass
class IdleResult:
    app_cpu: list[float] = field(default_factory=list)  # % of one core, per interval
    bare_cpu: list[float] = field(default_factory=list)
    app_wakeups: list[float] = field(default_factory=list)  # per minute, per interval
    bare_wakeups: list[float] = field(default_factory=list)
    app_threads: dict[str, float] = field(default_factory=dict)  # per minute over the whole time


def session_without_music(data: Path) -> None:
    """A rehearsal at real time, dose given, no arc: what the idle benchmark reopens."""
    from datetime import UTC, datetime

    from kapsession.clock import SystemClock
    from kapsession.monitoring.protocol import builtin_protocols
    from kapsession.session.live import SessionService
    from kapsession.storage.store import Store, prepare_folder

    prepare_folder(data)
    store = Store.open(data)
    try:
        service = SessionService(store, SystemClock(), "UTC", "bench", builtin_protocols())
        service.give_dose(service.plan_rehearsal(1.0, datetime.now(UTC), None).id)
    finally:
        store.close()


def bench_idle(seconds: float, interval: float, settle: float, tmp_root: Path | None) -> IdleResult:
    result = IdleResult()
    with (
        tempfile.TemporaryDirectory(prefix="kapsession-bench-idle-", dir=tmp_root) as tmp,
        xvfb() as app_display,
        xvfb() as bare_display,
    ):
        home = Path(tmp)
        session_without_music(home / "data")
        cmd = [*kapsession_command(), "--data-dir", str(home / "data")]
        app = Running(cmd, app_display, home, "app")
        try:
            bare = _bare(bare_display, home)
            try:
                time.sleep(settle)
                procs = {"app": app.pid, "bare": bare.pid}
                threads, start = wakeups_by_thread(app.pid), time.monotonic()
                last = {k: (time.monotonic(), cpu_seconds(p), wakeups(p)) for k, p in procs.items()}
                for _ in range(max(1, round(seconds / interval))):
                    time.sleep(interval)
                    for key, pid in procs.items():
                        now, cpu, woke = time.monotonic(), cpu_seconds(pid), wakeups(pid)
                        then, cpu0, woke0 = last[key]
                        last[key] = (now, cpu, woke)
                        getattr(result, f"{key}_cpu").append(100 * (cpu - cpu0) / (now - then))
                        getattr(result, f"{key}_wakeups").append(60 * (woke - woke0) / (now - then))
                if app.proc.poll() is not None:
                    raise RunFailed("the app exited while idle")
                minutes = (time.monotonic() - start) / 60
                result.app_threads = {
                    name: (count - threads.get(name, 0)) / minutes
                    for name, count in wakeups_by_thread(app.pid).items()
                }
            finally:
                bare.stop()
        finally:
            app.stop()
    return result


# --- memory ----------------------------------------------------------------------------------


@dataclass
class MemoryRun:
    app: list[tuple[float, float]]  # (RSS, PSS) MiB at each of HOURS
    bare: list[tuple[float, float]]
    notes_typed: int
    saved: dict[str, int]  # entries by kind in the exported timeline


def slope_per_hour(values: list[float]) -> float:
    """Least-squares slope of values sampled at HOURS, per (simulated) hour."""
    n = len(HOURS)
    mx, my = sum(HOURS) / n, sum(values) / n
    num = sum((x - mx) * (y - my) for x, y in zip(HOURS, values, strict=True))
    return num / sum((x - mx) ** 2 for x in HOURS)


def _export_counts(app: Running, data: Path) -> dict[str, int]:
    done = subprocess.run(
        [*kapsession_command(), "export", "--format", "json", "--data-dir", str(data)],
        env=app.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise RunFailed(f"export failed: {done.stderr.strip()[-200:]}")
    counts: dict[str, int] = {}
    for event in json.loads(done.stdout)["events"]:
        counts[event["kind"]] = counts.get(event["kind"], 0) + 1
    return counts


def memory_once(scale: float, tmp_root: Path | None) -> MemoryRun:
    with (
        tempfile.TemporaryDirectory(prefix="kapsession-bench-mem-", dir=tmp_root) as tmp,
        xvfb() as app_display,
        xvfb() as bare_display,
    ):
        home = Path(tmp)
        data = home / "data"
        cmd = [
            *kapsession_command(),
            "--data-dir",
            str(data),
            "--rehearsal",
            "--time-scale",
            f"{scale:g}",
        ]
        bare = _bare(bare_display, home)
        app = Running(cmd, app_display, home, "app")
        try:
            app.focus()
            # The session's clock starts at the dose, given while the app starts: the spawn time
            # is at most the start-up time (~0.3 s, ~20 simulated seconds at 60x) early.
            origin = app.started
            samples_app: list[tuple[float, float]] = []
            samples_bare: list[tuple[float, float]] = []
            notes = vitals_typed = 0
            pending = list(HOURS)
            while pending:
                sim_min = (time.monotonic() - origin) * scale / 60
                if sim_min / 60 >= pending[0]:
                    samples_app.append(memory_mib(app.pid))
                    samples_bare.append(memory_mib(bare.pid))
                    pending.pop(0)
                    continue
                if app.proc.poll() is not None:
                    raise RunFailed(
                        f"the app exited during the session: {app.log.read_text()[-300:]}"
                    )
                if sim_min >= 15 * (vitals_typed + 1):
                    app.xdo("key", "alt+v")
                    app.type_line(VITALS_LINE)
                    vitals_typed += 1
                elif sim_min >= notes + 1:
                    notes += 1
                    app.type_line(f"bench note {notes}: breathing slow, hands open, eyes shaded")
                else:
                    time.sleep(0.02)
            saved = _export_counts(app, data)
        finally:
            app.stop()
            bare.stop()
        return MemoryRun(samples_app, samples_bare, notes, saved)


def bench_memory(runs: int, scale: float, tmp_root: Path | None) -> list[MemoryRun]:
    return [memory_once(scale, tmp_root) for _ in range(runs)]
