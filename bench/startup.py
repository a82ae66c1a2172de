"""Start-up to a first painted main window: `kapsession --smoke` against a bare PySide6 window.

Both run as subprocesses, timed by wall clock from spawn to exit, interleaved run by run (the
order alternates) so that whatever the machine is doing meanwhile hits both alike.

Both get the same Python byte-code cache: a fresh PYTHONPYCACHEPREFIX that the warm-ups fill, with
PYTHONDONTWRITEBYTECODE removed. An installed app runs from cached byte code (pip and bundlers
write it); without this, a checkout under PYTHONDONTWRITEBYTECODE=1 would recompile every project
module on every launch and the benchmark would measure the compiler."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BARE_QT = Path(__file__).with_name("bare_qt.py")
# A start-up that takes this long is broken, not slow.
TIMEOUT_S = 60.0


class RunFailed(Exception):
    """A subprocess exited non-zero or timed out; the message says how, with its stderr tail."""


@dataclass
class StartupResult:
    bare_ns: list[int] = field(default_factory=list)
    app_ns: list[int] = field(default_factory=list)
    # Why the app could not be measured (None when it was).
    app_failure: str | None = None


def kapsession_command() -> list[str]:
    """The installed console script next to this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "kapsession"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("kapsession")
    if found is None:
        raise RunFailed("no kapsession command: install the project (pip install -e .)")
    return [found]


def bench_env(platform: str, pycache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = platform
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def _timed_run(cmd: list[str], env: dict[str, str]) -> int:
    start = time.perf_counter_ns()
    try:
        proc = subprocess.run(
            cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise RunFailed(f"{' '.join(cmd)} did not exit within {TIMEOUT_S:g} s") from None
    elapsed = time.perf_counter_ns() - start
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        last = lines[-1].strip() if lines else "no output on stderr"
        raise RunFailed(
            f"`{Path(cmd[0]).name} {' '.join(cmd[1:2])}` exited {proc.returncode}: {last}"
        )
    return elapsed


def _bare_once(env: dict[str, str]) -> int:
    return _timed_run([sys.executable, str(BARE_QT)], env)


def _app_once(env: dict[str, str], tmp_root: Path | None) -> int:
    # A first launch: the data folder does not exist yet, so the app creates it and its schema.
    with tempfile.TemporaryDirectory(prefix="kapsession-bench-", dir=tmp_root) as tmp:
        data_dir = Path(tmp) / "data"
        return _timed_run([*kapsession_command(), "--smoke", "--data-dir", str(data_dir)], env)


def bench_startup(
    platform: str, runs: int, warmups: int, tmp_root: Path | None = None
) -> StartupResult:
    with tempfile.TemporaryDirectory(prefix="kapsession-bench-pyc-", dir=tmp_root) as pycache:
        return _interleaved(bench_env(platform, Path(pycache)), runs, warmups, tmp_root)


def _interleaved(
    env: dict[str, str], runs: int, warmups: int, tmp_root: Path | None
) -> StartupResult:
    result = StartupResult()
    for i in range(warmups + runs):
        keep = i >= warmups
        order = ("bare", "app") if i % 2 == 0 else ("app", "bare")
        for which in order:
            if which == "bare":
                ns = _bare_once(env)
                if keep:
                    result.bare_ns.append(ns)
            elif result.app_failure is None:
                try:
                    ns = _app_once(env, tmp_root)
                except RunFailed as exc:
                    # Keep measuring the floor: it is still worth having.
                    result.app_failure = str(exc)
                    continue
                if keep:
                    result.app_ns.append(ns)
    return result
