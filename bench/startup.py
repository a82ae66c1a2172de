"""Start-up to a first painted window: `kapsession --smoke` against a bare PySide6 window.

Both run as subprocesses, interleaved run by run (the order alternates) so that whatever the
machine is doing meanwhile hits both alike. Four launches of the app, each against its own floor
runs taken beside it:

- returning: an existing unencrypted data folder (created once, before the timed runs);
- first: a data folder that does not exist yet (a new one each run: folder, database, schema);
- returning, encrypted: an existing encrypted folder (its key file made once before), opened with
  $KAPSESSION_PASSPHRASE: the key is derived from the passphrase (Argon2id) at each start;
- first, encrypted: a new folder each run with $KAPSESSION_PASSPHRASE set, so the app sets
  encryption up from it (key derivation and key file) without asking.

No OS keyring is reached: every process gets `PYTHON_KEYRING_BACKEND` naming keyring's null
backend (it holds nothing, so the key always comes from the passphrase), and its own empty
XDG config, data and cache folders, so neither the machine's keyring nor the user's Qt settings
take part.

What is timed, from `time.monotonic_ns()` taken in this process just before the spawn:
- exit: until the process has exited (wall time);
- first_paint and ready: until the moments the child stamps in the file named by
  $KAPSESSION_SMOKE_STAMPS (lines `first_paint <ns>` and `ready <ns>`, <ns> its own
  `time.monotonic_ns()`, the same system-wide clock): `first_paint` when the first paint of any
  top-level window (the main window or the passphrase prompt) has been delivered, `ready` when
  the first screen a therapist can act on has. bench/bare_qt.py writes both at its one paint.

Both get the same Python byte-code cache: a fresh PYTHONPYCACHEPREFIX that the warm-ups fill, with
PYTHONDONTWRITEBYTECODE removed. An installed app runs from cached byte code (pip and bundlers
write it); without this, a checkout under PYTHONDONTWRITEBYTECODE=1 would recompile every project
module on every launch and the benchmark would measure the compiler."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

BARE_QT = Path(__file__).with_name("bare_qt.py")
# A start-up that takes this long is broken, not slow.
TIMEOUT_S = 60.0
STAMPS_ENV = "KAPSESSION_SMOKE_STAMPS"
STAMPS = ("first_paint", "ready")
PASSPHRASE_ENV = "KAPSESSION_PASSPHRASE"
# Long enough for the app's minimum, obviously not a real one.
BENCH_PASSPHRASE = "bench passphrase, not a secret"
# keyring's own backend that stores nothing: get_password is None, nothing is asked of the OS.
NO_KEYRING = "keyring.backends.null.Keyring"
# The launches, by the name bench/run.py's --launches takes.
LAUNCHES = ("returning", "first", "returning-encrypted", "first-encrypted")


class RunFailed(Exception):
    """A subprocess exited non-zero or timed out; the message says how, with its stderr tail."""


@dataclass(frozen=True)
class Timing:
    """One run, in ns from just before the spawn: to exit, and to the child's stamps (None when
    the child wrote none); cpu_ns: the child's user+system CPU time (less sensitive to other
    load than wall time)."""

    exit_ns: int
    first_paint_ns: int | None = None
    ready_ns: int | None = None
    cpu_ns: int | None = None


@dataclass
class LaunchResult:
    bare: list[Timing] = field(default_factory=list)
    app: list[Timing] = field(default_factory=list)
    # Why the app could not be measured (None when it was).
    app_failure: str | None = None


def parse_stamps(text: str) -> dict[str, int]:
    """The stamps a child wrote: `name <monotonic ns>` per line; the first of each name counts
    (the file is appended to). ValueError, naming the line, for anything else."""
    stamps: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise ValueError(f"stamps line {number} is not `name <ns>`: {line[:60]!r}")
        stamps.setdefault(parts[0], int(parts[1]))
    return stamps


def timing_of(
    spawn_ns: int, exit_ns: int, stamps: Mapping[str, int], cpu_ns: int | None = None
) -> Timing:
    """Durations from the spawn; a stamp before the spawn or after the exit is a clock mix-up."""

    def since(name: str) -> int | None:
        if name not in stamps:
            return None
        at = stamps[name]
        if not spawn_ns <= at <= exit_ns:
            raise ValueError(f"stamp {name} at {at} ns is outside the run ({spawn_ns}..{exit_ns})")
        return at - spawn_ns

    return Timing(exit_ns - spawn_ns, since("first_paint"), since("ready"), cpu_ns)


def _children_cpu_ns() -> int:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round((used.ru_utime + used.ru_stime) * 1e9)


def kapsession_command() -> list[str]:
    """The installed console script next to this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "kapsession"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("kapsession")
    if found is None:
        raise RunFailed("no kapsession command: install the project (pip install -e .)")
    return [found]


def bench_env(platform: str, pycache: Path, home: Path | None = None) -> dict[str, str]:
    """The environment of every timed process, app and floor alike. With `home`, its own empty
    XDG folders there (no user settings, no keyring files)."""
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = platform
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    for name in (PASSPHRASE_ENV, "KAPSESSION_DATA_DIR", "KAPSESSION_ENCRYPTION", STAMPS_ENV):
        env.pop(name, None)
    env["PYTHON_KEYRING_BACKEND"] = NO_KEYRING
    if home is not None:
        for name, sub in (
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_DATA_HOME", "data"),
            ("XDG_CACHE_HOME", "cache"),
        ):
            (home / sub).mkdir(parents=True, exist_ok=True)
            env[name] = str(home / sub)
    return env


def timed_run(cmd: Sequence[str], env: Mapping[str, str], stamps_file: Path) -> Timing:
    """Runs cmd to its exit 0 with $KAPSESSION_SMOKE_STAMPS naming a fresh stamps_file."""
    stamps_file.unlink(missing_ok=True)
    run_env = dict(env)
    run_env[STAMPS_ENV] = str(stamps_file)
    # One child at a time: the children's CPU grows by this one's alone.
    cpu_before = _children_cpu_ns()
    spawn = time.monotonic_ns()
    try:
        proc = subprocess.run(
            list(cmd), env=run_env, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise RunFailed(f"{' '.join(cmd)} did not exit within {TIMEOUT_S:g} s") from None
    exited = time.monotonic_ns()
    cpu = _children_cpu_ns() - cpu_before
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        last = lines[-1].strip() if lines else "no output on stderr"
        raise RunFailed(
            f"`{Path(cmd[0]).name} {' '.join(cmd[1:2])}` exited {proc.returncode}: {last}"
        )
    try:
        text = stamps_file.read_text(encoding="ascii")
    except FileNotFoundError:
        text = ""
    try:
        return timing_of(spawn, exited, parse_stamps(text), cpu)
    except ValueError as exc:
        raise RunFailed(f"`{Path(cmd[0]).name}`: {exc}") from None


@dataclass(frozen=True)
class Launch:
    """One way of starting the app: its name, the extra environment, whether the data folder
    exists before each run (made once by an untimed run) or is new each time."""

    name: str
    encrypted: bool
    returning: bool

    @classmethod
    def named(cls, name: str) -> Launch:
        if name not in LAUNCHES:
            raise ValueError(f"unknown launch {name!r}; choose from {', '.join(LAUNCHES)}")
        return cls(name, name.endswith("-encrypted"), name.startswith("returning"))

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        env = dict(base)
        if self.encrypted:
            env[PASSPHRASE_ENV] = BENCH_PASSPHRASE
        return env


class AppRunner:
    """Starts one launch of the app: the folder made once for a returning launch, a new one per
    run for a first launch (removed after it)."""

    def __init__(
        self,
        launch: Launch,
        command: Sequence[str],
        env: Mapping[str, str],
        work: Path,
    ) -> None:
        self.launch, self.command, self.env, self.work = launch, list(command), dict(env), work
        self._runs = 0
        self._folder: Path | None = None

    def _smoke(self, folder: Path) -> list[str]:
        return [*self.command, "--smoke", "--data-dir", str(folder)]

    def once(self) -> Timing:
        stamps = self.work / f"{self.launch.name}.stamps"
        if self.launch.returning:
            if self._folder is None:
                self._folder = self.work / f"{self.launch.name}-data"
                timed_run(self._smoke(self._folder), self.env, stamps)  # creates it, untimed
            return timed_run(self._smoke(self._folder), self.env, stamps)
        self._runs += 1
        folder = self.work / f"{self.launch.name}-{self._runs}"
        try:
            return timed_run(self._smoke(folder), self.env, stamps)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def interleave(
    bare: Callable[[], Timing],
    apps: Mapping[str, Callable[[], Timing]],
    runs: int,
    warmups: int,
    before_each: Callable[[], object] | None = None,
) -> dict[str, LaunchResult]:
    """For each round, each launch in turn: a floor run and an app run, the order alternating
    round by round. The first `warmups` rounds are not kept. An app that fails stops being run;
    its floor keeps being measured. `before_each` runs before every process (cache eviction)."""
    results = {name: LaunchResult() for name in apps}
    for i in range(warmups + runs):
        keep = i >= warmups
        for name, app in apps.items():
            result = results[name]
            order = ("bare", "app") if i % 2 == 0 else ("app", "bare")
            for which in order:
                if which == "app" and result.app_failure is not None:
                    continue
                if before_each is not None:
                    before_each()
                if which == "bare":
                    timing = bare()
                    if keep:
                        result.bare.append(timing)
                    continue
                try:
                    timing = app()
                except RunFailed as exc:
                    result.app_failure = str(exc)
                    continue
                if keep:
                    result.app.append(timing)
    return results


@contextmanager
def bench_folder(tmp_root: Path | None, prefix: str = "kapsession-bench-") -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix, dir=tmp_root) as tmp:
        yield Path(tmp)


def bench_launches(
    platform: str,
    runs: int,
    warmups: int,
    tmp_root: Path | None = None,
    launches: Sequence[str] = LAUNCHES,
) -> dict[str, LaunchResult]:
    """Each launch against its own floor runs, all in one interleaved loop (see the module)."""
    with bench_folder(tmp_root) as work:
        env = bench_env(platform, work / "pycache", work / "home")
        command = kapsession_command()
        apps = {
            name: AppRunner(Launch.named(name), command, Launch.named(name).env(env), work).once
            for name in launches
        }
        stamps = work / "bare.stamps"
        return interleave(
            lambda: timed_run([sys.executable, str(BARE_QT)], env, stamps), apps, runs, warmups
        )


def durations(timings: Sequence[Timing], which: str) -> list[int] | None:
    """One measure ("exit", "first_paint", "ready", "cpu") of every run, in ns; None when a run has no
    such stamp (a child that does not write them)."""
    values = [getattr(t, f"{which}_ns") for t in timings]
    return None if not values or any(v is None for v in values) else values
