"""Where time enters the program: real, scaled (rehearsal) and fake clocks behind one interface."""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC wall-clock time, for timestamps. May jump (NTP, DST, manual change)."""
        ...

    def monotonic(self) -> float:
        """Seconds that never jump and keep counting while the laptop sleeps."""
        ...

    def awake(self) -> float:
        """Seconds that never jump and stop while the laptop sleeps."""
        ...

    def boot_id(self) -> str:
        """Names the epoch of monotonic(); readings are comparable only within one boot id."""
        ...


def _read_boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        # No kernel boot id (macOS, Windows): a per-process id means monotonic readings are
        # never compared across processes, and a resumed session falls back to the wall clock.
        return f"process-{uuid.uuid4()}"


class SystemClock:
    """The real clock. On Linux CLOCK_BOOTTIME counts suspend, CLOCK_MONOTONIC does not;
    their difference tells how long the laptop slept."""

    def __init__(self) -> None:
        self._boot_id = _read_boot_id()
        boottime: int | None = getattr(time, "CLOCK_BOOTTIME", None)
        self._boottime = boottime if sys.platform.startswith("linux") else None

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        if self._boottime is None:
            # macOS and Windows: time.monotonic() is the best portable choice; whether it counts
            # sleep differs by platform (documented in the README).
            return time.monotonic()
        return time.clock_gettime(self._boottime)

    def awake(self) -> float:
        return time.monotonic()

    def boot_id(self) -> str:
        return self._boot_id


class ScaledClock:
    """Rehearsal time: runs `scale` times faster than `base` from `origin` on.

    Virtual wall time is a pure function of real wall time, so a rehearsal session resumed after
    a restart continues where it was."""

    def __init__(self, base: Clock, scale: float, origin: datetime) -> None:
        if not scale > 0:
            raise ValueError("time scale must be positive")
        self._base, self._scale, self._origin = base, scale, origin

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> datetime:
        return self._origin + (self._base.now() - self._origin) * self._scale

    def monotonic(self) -> float:
        return self._base.monotonic() * self._scale

    def awake(self) -> float:
        return self._base.awake() * self._scale

    def boot_id(self) -> str:
        return f"{self._base.boot_id()}×{self._scale:g}"


class FakeClock:
    """A clock tests drive by hand: a whole session runs in milliseconds."""

    def __init__(self, start: datetime | None = None, boot: str = "boot-1") -> None:
        self._wall = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        self._mono = 1000.0
        self._awake = 1000.0
        self._boot = boot

    def now(self) -> datetime:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def awake(self) -> float:
        return self._awake

    def boot_id(self) -> str:
        return self._boot

    def advance(self, seconds: float) -> None:
        """Time passes with the laptop awake."""
        self._wall += timedelta(seconds=seconds)
        self._mono += seconds
        self._awake += seconds

    def suspend(self, seconds: float) -> None:
        """The lid was closed: real time passes, the process did not run."""
        self._wall += timedelta(seconds=seconds)
        self._mono += seconds

    def jump_wall(self, seconds: float) -> None:
        """The wall clock is changed (NTP step, manual change); real time does not move."""
        self._wall += timedelta(seconds=seconds)

    def reboot(self, downtime: float, boot: str) -> None:
        """The machine restarts: monotonic readings start over in a new epoch."""
        self._wall += timedelta(seconds=downtime)
        self._mono = 5.0
        self._awake = 5.0
        self._boot = boot


@dataclass(frozen=True)
class DoseAnchor:
    """When the dose was given: on the wall clock (for records) and on the monotonic clock of
    one boot (for counting)."""

    at: datetime
    mono: float
    boot_id: str


def local_zone_name() -> str:
    """The IANA name of the local time zone, stored beside every UTC timestamp."""
    import tzlocal

    try:
        return str(tzlocal.get_localzone_name() or "UTC")
    except Exception:  # a broken /etc/localtime must not stop a session
        return datetime.now().astimezone().tzname() or "UTC"
