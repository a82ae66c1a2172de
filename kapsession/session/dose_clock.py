"""Time since the dose: real time, sleep included, deaf to wall-clock jumps; and the watch that
notices when time did something unusual so it can go on the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kapsession.clock import Clock, DoseAnchor

# A wall clock that drifts from the monotonic clock by more than this between two ticks was
# changed (NTP step, DST misconfiguration, manual change); smaller differences are tick jitter.
JUMP_TOLERANCE_S = 2.0
# More unawake time than this between two ticks means the laptop slept.
SUSPEND_TOLERANCE_S = 2.0


class DoseClock:
    def __init__(self, clock: Clock, anchor: DoseAnchor) -> None:
        self._clock = clock
        self._anchor = anchor

    @property
    def anchor(self) -> DoseAnchor:
        return self._anchor

    def elapsed(self) -> float:
        """Seconds since the dose."""
        return self._clock.monotonic() - self._anchor.mono

    @classmethod
    def resume(cls, clock: Clock, anchor: DoseAnchor) -> tuple[DoseClock, bool]:
        """Rebuild the dose clock in a new process. Within the same boot the monotonic anchor
        still holds. After a reboot the wall clock is the only link to the dose, so it is read
        once and the clock is re-anchored on this boot's monotonic clock; the second value
        says whether that happened (the caller stores the new anchor)."""
        if anchor.boot_id == clock.boot_id():
            return cls(clock, anchor), False
        elapsed = (clock.now() - anchor.at).total_seconds()
        fresh = DoseAnchor(at=anchor.at, mono=clock.monotonic() - elapsed, boot_id=clock.boot_id())
        return cls(clock, fresh), True


@dataclass(frozen=True)
class Discontinuity:
    kind: str  # "clock_jump" | "suspend"
    seconds: float  # wall-clock change for a jump (signed); time asleep for a suspend
    t: float  # seconds since dose when it was noticed


class ContinuityWatch:
    """Compares the wall, monotonic and awake clocks at every tick."""

    def __init__(self, clock: Clock, dose_clock: DoseClock) -> None:
        self._clock = clock
        self._dose = dose_clock
        self._last = self._read()

    def _read(self) -> tuple[datetime, float, float]:
        return self._clock.now(), self._clock.monotonic(), self._clock.awake()

    def check(self) -> list[Discontinuity]:
        wall, mono, awake = self._read()
        last_wall, last_mono, last_awake = self._last
        self._last = (wall, mono, awake)
        found: list[Discontinuity] = []
        d_mono = mono - last_mono
        slept = d_mono - (awake - last_awake)
        if slept > SUSPEND_TOLERANCE_S:
            found.append(Discontinuity("suspend", round(slept, 3), round(self._dose.elapsed(), 3)))
        jump = (wall - last_wall).total_seconds() - d_mono
        if abs(jump) > JUMP_TOLERANCE_S:
            found.append(
                Discontinuity("clock_jump", round(jump, 3), round(self._dose.elapsed(), 3))
            )
        return found


def t_plus(seconds: float) -> str:
    """Time since the dose as the live screen shows it: T+mm:ss (T+h:mm:ss past an hour);
    before the dose, T-mm:ss."""
    sign = "+" if seconds >= 0 else "-"
    total = int(abs(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"T{sign}{hours}:{minutes:02d}:{secs:02d}"
    return f"T{sign}{minutes:02d}:{secs:02d}"


def minutes_seconds(seconds: float) -> str:
    """A span as m:ss (negative spans read as 0:00)."""
    total = max(0, int(seconds))
    minutes, secs = divmod(total, 60)
    return f"{minutes}:{secs:02d}"
