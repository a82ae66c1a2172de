"""Rooms for the board's tests, the screenshot and the lag benchmark: a data folder with a real
session dosed MINUTES ago by the wall clock (so the board, on the real clock, shows it now),
joined to the hub as ROOM and synced with `kapsession hub sync`."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from kapsession.cli import commands
from kapsession.clock import FakeClock, SystemClock
from kapsession.monitoring.protocol import builtin_protocols
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.store import Store


def make_room(
    folder: Path,
    code: str,
    minutes: float,
    *,
    alert: bool = False,
    music: bool = False,
    phase: str | None = None,
    answered: bool = False,
) -> None:
    """A sublingual session (baseline at the dose, a check every 15 min, late 5 min after) dosed
    MINUTES ago, its baseline answered (ANSWERED: every check, a minute after it came due);
    ALERT: vitals with SpO2 86 (below 90) just now."""
    clock = FakeClock(SystemClock().now() - timedelta(minutes=minutes))
    store = Store.open(folder)
    try:
        service = SessionService(store, clock, "UTC", "Test", builtin_protocols())
        record = service.plan(
            SessionPlan(code, "sublingual", "sublingual", 200.0, 75, "a private intention")
        )
        live = service.give_dose(record.id)
        live.evaluate_checks()
        live.add_vitals("120/80 70 98")  # answers the baseline
        if phase is not None:
            live.record_music("phase", {"name": phase, "begins_t": 0.0})
        if music:
            live.record_music(
                "track_started",
                {"title": "t", "path": "t.ogg", "phase": phase or "", "position": 0.0, "item": 1},
            )
        left = minutes * 60.0
        while left > 0:
            step = min(left, 60.0)
            clock.advance(step)
            left -= step
            if live.evaluate_checks() and answered:
                clock.advance(min(left, 60.0))
                left -= min(left, 60.0)
                live.add_vitals("122/78 68 97")
        if alert:
            live.add_vitals("118/76 72 86")  # SpO2 86: an alert; answers a due check if any
    finally:
        store.close()


def join_and_sync(folder: Path, room_dsn: str, room: str, key_file: Path) -> None:
    out = io.StringIO()
    argv = ["hub", "join", "--data-dir", str(folder), "--dsn", room_dsn, "--room", room,
            "--clinic-key", str(key_file)]  # fmt: skip
    assert commands.run_command(commands.parse_args(argv), out) == 0, out.getvalue()
    sync = ["hub", "sync", "--data-dir", str(folder)]
    assert commands.run_command(commands.parse_args(sync), out) == 0, out.getvalue()
