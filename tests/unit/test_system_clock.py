"""The real clock against the kernel's clocks: the dose clock counts a suspend and a frozen
process, and a wall-clock jump does not move it.

Every other dose-clock test runs on FakeClock, so these are the ones that would catch a
SystemClock that ignores suspend. On Linux CLOCK_BOOTTIME keeps counting while the laptop sleeps
and CLOCK_MONOTONIC does not. A real suspend cannot be done in a test; a time namespace
(`unshare --time --boottime 3600`, Linux 5.6+, root) starts a child whose boot-time clock is an
hour ahead of its monotonic clock, which is exactly what a process sees after a one-hour suspend.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import kapsession.clock as clock_module
from kapsession.clock import DoseAnchor, SystemClock
from kapsession.session.dose_clock import ContinuityWatch, DoseClock

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="CLOCK_BOOTTIME and time namespaces are Linux"
)
ROOT = Path(__file__).resolve().parents[2]
SLEPT_S = 3600
WAIT_S = 30.0

# Reads the real clock in a child: the anchor passed in is the parent's (same boot), as a
# session reopened after the laptop woke would read its stored dose anchor.
CHILD = """
import json, sys, time
from datetime import datetime
from kapsession.clock import SystemClock
from kapsession.session.dose_clock import ContinuityWatch, DoseClock
from kapsession.clock import DoseAnchor
given = json.loads(sys.argv[1])
clock = SystemClock()
anchor = DoseAnchor(datetime.fromisoformat(given["at"]), given["mono"], given["boot_id"])
dose, reanchored = DoseClock.resume(clock, anchor)
watch = ContinuityWatch(clock, dose)
watch._last = (datetime.fromisoformat(given["at"]), given["mono"], given["awake"])
print(json.dumps({
    "elapsed": dose.elapsed(),
    "reanchored": reanchored,
    "found": [[d.kind, d.seconds] for d in watch.check()],
    "mono": clock.monotonic(),
    "awake": clock.awake(),
    "boottime": time.clock_gettime(time.CLOCK_BOOTTIME),
    "monotonic": time.clock_gettime(time.CLOCK_MONOTONIC),
}))
"""


def reading(clock: SystemClock) -> dict[str, object]:
    return {
        "at": clock.now().isoformat(),
        "mono": clock.monotonic(),
        "awake": clock.awake(),
        "boot_id": clock.boot_id(),
    }


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@linux_only
def test_the_real_clock_reads_the_boot_time_clock_and_awake_the_monotonic_one() -> None:
    clock = SystemClock()
    before = time.clock_gettime(time.CLOCK_BOOTTIME)
    mono = clock.monotonic()
    after = time.clock_gettime(time.CLOCK_BOOTTIME)
    assert before <= mono <= after
    before = time.clock_gettime(time.CLOCK_MONOTONIC)
    awake = clock.awake()
    after = time.clock_gettime(time.CLOCK_MONOTONIC)
    assert before <= awake <= after


def in_time_namespace(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run argv with the boot-time clock SLEPT_S ahead, or skip where that is not allowed."""
    cmd = ["unshare", "--time", "--boottime", str(SLEPT_S), *argv]
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, env=child_env(), timeout=WAIT_S, check=False
        )
    except FileNotFoundError:
        pytest.skip("unshare (util-linux) is not installed")
    if done.returncode != 0 and "unshare failed" in done.stderr:
        pytest.skip(f"time namespaces are not permitted here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    return done


@linux_only
def test_an_hour_of_suspend_counts_on_the_dose_clock_and_is_noticed() -> None:
    """Anchored here, read in a child that sees the boot-time clock an hour ahead of the
    monotonic clock: the dose clock says an hour (and the moments between) has passed."""
    clock = SystemClock()
    start = time.clock_gettime(time.CLOCK_BOOTTIME)
    given = reading(clock)
    done = in_time_namespace([sys.executable, "-c", CHILD, json.dumps(given)])
    real = time.clock_gettime(time.CLOCK_BOOTTIME) - start  # the child ran within this
    seen = json.loads(done.stdout)

    assert seen["boottime"] - seen["monotonic"] >= SLEPT_S - 1  # the namespace took effect
    assert seen["reanchored"] is False  # same boot: the stored anchor still holds
    assert SLEPT_S <= seen["elapsed"] <= SLEPT_S + real
    assert seen["mono"] <= seen["boottime"] and seen["awake"] <= seen["monotonic"]
    kinds = dict(seen["found"])
    assert SLEPT_S - 2 <= kinds["suspend"] <= SLEPT_S + real
    # The namespace cannot move the wall clock, which a real suspend does: the watch also says
    # the wall clock fell an hour behind real time. Both are what the readings show.
    assert kinds["clock_jump"] == pytest.approx(-SLEPT_S, abs=real + 2)


@linux_only
def test_time_a_frozen_process_spent_stopped_counts_on_its_dose_clock() -> None:
    """SIGSTOP, then SIGCONT: the child's dose clock, read after it runs again, includes the
    time it was stopped (measured here, while it was confirmed stopped)."""
    script = (
        "import json, sys\n"
        "from kapsession.clock import SystemClock\n"
        "from kapsession.session.dose_clock import DoseAnchor, DoseClock\n"
        "clock = SystemClock()\n"
        "dose = DoseClock(clock, DoseAnchor(clock.now(), clock.monotonic(), clock.boot_id()))\n"
        "print('anchored', flush=True)\n"
        "sys.stdin.readline()\n"
        "print(json.dumps(dose.elapsed()), flush=True)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    ) as child:
        assert child.stdin is not None and child.stdout is not None
        try:
            assert child.stdout.readline().strip() == "anchored"
            os.kill(child.pid, signal.SIGSTOP)
            stat = Path(f"/proc/{child.pid}/stat")
            deadline = time.monotonic() + WAIT_S
            while stat.read_text().rsplit(")", 1)[1].split()[0] != "T":
                assert time.monotonic() < deadline, "the child never stopped"
            stopped_at = time.clock_gettime(time.CLOCK_BOOTTIME)
            time.sleep(0.5)  # the stimulus: time passing while the child cannot run
            resumed_at = time.clock_gettime(time.CLOCK_BOOTTIME)
            os.kill(child.pid, signal.SIGCONT)
            child.stdin.write("read\n")
            child.stdin.flush()
            elapsed = json.loads(child.stdout.readline())
            assert child.wait(WAIT_S) == 0
        finally:
            if child.poll() is None:
                child.kill()
    assert elapsed >= resumed_at - stopped_at


def test_a_wall_clock_jump_does_not_move_the_dose_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wall clock jumps an hour ahead (NTP step, manual change): the real clock's dose time
    does not follow it; the watch records the jump. (A time namespace cannot move
    CLOCK_REALTIME, and faketime is not a dependency, so the real clock's wall source is moved.)"""
    jump = timedelta(hours=1)

    class JumpedDatetime(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
            return datetime.now(tz) + jump

    start = time.clock_gettime(time.CLOCK_BOOTTIME)
    clock = SystemClock()
    dose = DoseClock(clock, DoseAnchor(clock.now(), clock.monotonic(), clock.boot_id()))
    watch = ContinuityWatch(clock, dose)
    monkeypatch.setattr(clock_module, "datetime", JumpedDatetime)
    assert clock.now() - datetime.now(UTC) >= jump - timedelta(seconds=1)  # the jump is seen
    found = watch.check()
    elapsed = dose.elapsed()
    real = time.clock_gettime(time.CLOCK_BOOTTIME) - start
    assert 0 <= elapsed <= real + 1e-3
    assert [d.kind for d in found] == ["clock_jump"]
    assert found[0].seconds == pytest.approx(3600, abs=real + 1)
