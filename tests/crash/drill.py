"""What every kill drill shares: start the real command, wait until its operation has begun
(judged by what it leaves on disk, never by how long Python takes to start), kill it a random
moment later, and count where the kills landed from the evidence each one left.

The sleeps here only choose where a kill lands; no assertion rests on a duration."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from kapsession.clock import FakeClock
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Fuses against a hung command, not timings.
FUSE_S = 60.0
POLL_S = 0.001

Condition = Callable[[], bool]
Begun = Callable[[subprocess.Popen[bytes]], bool]


def fill(folder: Path, client: str, notes: int, word: str = "", key: bytes | None = None) -> None:
    """A session of `notes` synthetic notes, one a second, in one transaction: a database big
    enough that a copy of it takes a while."""
    clock = FakeClock(T0)
    store = Store.open(folder, key=key)
    try:
        service = SessionService(store, clock, "UTC", f"crash-{client}")
        live = service.give_dose(
            service.plan(SessionPlan(client, "Sublingual", "sublingual", 200.0, 75)).id
        )
        with store.db.atomic():
            for i in range(notes):
                clock.advance(1)
                live.add_note(f"note {i} {word}: " + "the tide comes in and goes out " * 5)
    finally:
        store.close()


def partials(folder: Path) -> set[str]:
    """Temp files of a copy in progress, whatever their exact name (per process or not)."""
    return {p.name for p in folder.iterdir() if ".partial" in p.name} if folder.is_dir() else set()


def inode(path: Path) -> int | None:
    """Changes when a file is replaced by a rename: the evidence of a swap."""
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def holds_flock(pid: int, path: Path) -> bool:
    """True while process `pid` holds a flock on `path` (read from /proc/locks, so looking never
    takes the lock from the process being watched)."""
    ino = inode(path)
    if ino is None:
        return False
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        ours = len(fields) > 5 and fields[1] == "FLOCK" and fields[4] == str(pid)
        if ours and int(fields[5].rsplit(":", 1)[1]) == ino:
            return True
    return False


def _wait(proc: subprocess.Popen[bytes], condition: Condition) -> bool:
    """Poll until `condition` holds (True) or the process has ended without it (False)."""
    fuse = time.monotonic() + FUSE_S
    while not condition():
        if proc.poll() is not None:
            return condition()
        assert time.monotonic() < fuse, "the command neither began nor ended within the fuse"
        time.sleep(POLL_S)
    return True


def calibrate(
    cmd: list[str],
    env: Mapping[str, str],
    begun: Begun,
    marks: Mapping[str, Condition],
) -> dict[str, float]:
    """One undisturbed run: seconds from `begun` first holding to each mark first holding, and to
    the exit ("exit"); "whole" is the run from its start. Only used to spread the kills of the
    drill over the operation."""
    launched = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait(proc, lambda: begun(proc)), "the undisturbed run never began its operation"
        start = time.monotonic()
        seen: dict[str, float] = {}
        while True:
            ended = proc.poll() is not None
            for name, mark in marks.items():
                if name not in seen and mark():
                    seen[name] = time.monotonic() - start
            if ended:
                break
            time.sleep(POLL_S)
        assert proc.wait(timeout=FUSE_S) == 0, "the undisturbed run failed"
        seen["exit"] = time.monotonic() - start
        seen["whole"] = time.monotonic() - launched
        for name, mark in marks.items():
            assert name in seen or mark(), f"the undisturbed run never reached {name!r}"
            seen.setdefault(name, seen["exit"])
        return seen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def kill_after(
    cmd: list[str],
    env: Mapping[str, str],
    delay: float,
    begun: Begun | None = None,
) -> bool:
    """Run `cmd`; once `begun(proc)` holds (or at once without it) wait `delay` s and SIGKILL it.
    True if the kill landed (the process was still running), False if it had ended by itself."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if begun is not None and not _wait(proc, lambda: begun(proc)):
            return False
        time.sleep(delay)  # where the kill lands, nothing else
        if proc.poll() is not None:
            return False
        os.kill(proc.pid, signal.SIGKILL)
        # It may have ended between the look and the kill: only its status says which.
        return proc.wait(timeout=FUSE_S) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def tally_line(where: Counter[str]) -> str:
    return ", ".join(f"{n} {name}" for name, n in sorted(where.items())) or "none"


def assert_landed(
    where: Counter[str], inside: Iterable[str], kills: int, ctx: str, share: float = 1 / 3
) -> None:
    """At least `share` of the kills left the evidence of landing inside the operation."""
    inside = tuple(inside)
    landed = sum(where[name] for name in inside)
    assert landed >= math.ceil(share * kills), (
        f"only {landed} of {kills} kills landed {' or '.join(inside)} ({tally_line(where)}) {ctx}"
    )
