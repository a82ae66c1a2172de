"""SIGKILL the real writer at random moments, again and again, then check that every note it
acknowledged is on disk exactly, the database is sound, and the one session resumed each time at
the right elapsed time with the gap on its timeline.

Reproduce a failure with KAPSESSION_CRASH_SEED=<the seed printed by the failing run>."""

from __future__ import annotations

import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kapsession.clock import SystemClock
from kapsession.session.live import SessionService
from kapsession.storage import audit
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store

REPO = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("writer.py")
KILLS = 60
KILL_AFTER_READY_S = (0.020, 0.300)
# Fuses against a hung writer, not timings: a healthy writer is READY in well under a second.
FUSE_S = 60.0


@dataclass
class Run:
    index: int
    session_id: int = 0
    running_sessions: int = 0
    elapsed_at_ready: float = 0.0
    acks: list[tuple[int, str]] = field(default_factory=list)


def _read_chunk(fd: int, buf: bytearray, until: float) -> str:
    """Append what the writer printed; 'data', 'eof', or 'deadline' once `until` has passed."""
    remaining = until - time.monotonic()
    if remaining <= 0:
        return "deadline"
    readable, _, _ = select.select([fd], [], [], remaining)
    if not readable:
        return "deadline"
    chunk = os.read(fd, 65536)
    if not chunk:
        return "eof"
    buf.extend(chunk)
    return "data"


def _kill_one_run(folder: Path, index: int, delay: float, stderr_path: Path) -> Run:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8"}
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(folder), str(index)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
        )
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buf = bytearray()
    try:
        fuse = time.monotonic() + FUSE_S
        while b"\n" not in buf:
            state = _read_chunk(fd, buf, fuse)
            assert state == "data", f"run {index}: no READY ({state}): {stderr_path.read_text()}"
        kill_at = time.monotonic() + delay
        while (state := _read_chunk(fd, buf, kill_at)) == "data":
            pass
        assert state == "deadline", (
            f"run {index}: writer died on its own: {stderr_path.read_text()}"
        )
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=FUSE_S) == -signal.SIGKILL
        fuse = time.monotonic() + FUSE_S
        while (state := _read_chunk(fd, buf, fuse)) == "data":
            pass
        assert state == "eof"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    # Only whole lines count: a line cut by the kill was never fully shown.
    lines = buf.decode("utf-8", errors="replace").split("\n")[:-1]
    ready = lines[0].split()
    assert ready[0] == "READY", lines[0]
    run = Run(index, int(ready[1]), int(ready[2]), float(ready[3]))
    for line in lines[1:]:
        tag, seq, text = line.split(" ", 2)
        assert tag == "ACK", line
        run.acks.append((int(seq), text))
    return run


@pytest.mark.crash
def test_sigkill_at_random_moments_loses_no_acknowledged_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = int(os.environ.get("KAPSESSION_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    with capsys.disabled():
        print(f"\ncrash seed {seed} (replay with KAPSESSION_CRASH_SEED={seed})")
    rng = random.Random(seed)
    folder = tmp_path / "data"

    runs = [
        _kill_one_run(folder, i, rng.uniform(*KILL_AFTER_READY_S), tmp_path / f"stderr-{i}.txt")
        for i in range(KILLS)
    ]

    ctx = f"(seed {seed})"
    with closing(sqlite3.connect(folder / DB_NAME, isolation_level=None)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)], ctx
        chain = audit.verify(conn)
        assert chain.ok, f"{chain.problems} {ctx}"

    # Exactly one running session throughout: the first run's, resumed by every later run.
    session_id = runs[0].session_id
    assert [(r.session_id, r.running_sessions) for r in runs] == [(session_id, 1)] * KILLS, ctx

    store = Store.open(folder)
    try:
        # The test process is the next launch after the last kill.
        final = SessionService(store, SystemClock(), "UTC", "crash-test").resume()
        assert final is not None and final.record.id == session_id, ctx
        assert [s.id for s in store.sessions()] == [session_id], ctx
        events = store.events(session_id)
        final_elapsed = final.elapsed()
    finally:
        store.close()

    by_seq = {e.seq: e for e in events}
    notes = [e for e in events if e.kind == "note"]
    acked = [ack for r in runs for ack in r.acks]
    assert acked, f"no note was acknowledged at all {ctx}"

    # Every acknowledged note is there, exactly as acknowledged, exactly once.
    lost = [(seq, text) for seq, text in acked if seq not in by_seq]
    assert lost == [], f"{len(lost)} acknowledged notes lost {ctx}"
    for seq, text in acked:
        event = by_seq[seq]
        assert (event.kind, event.session_id, event.data["text"]) == ("note", session_id, text), ctx
    copies = Counter(e.data["text"] for e in notes)
    assert all(copies[text] == 1 for _, text in acked), f"a note was stored twice {ctx}"

    # The dose clock never restarted: one dose at t=0, and time since dose only moves forward.
    doses = [e for e in events if e.kind == "dose"]
    assert [(e.t, e.seq) for e in doses] == [(0.0, events[0].seq)], ctx
    timed = [e.t for e in events if e.t is not None]
    assert timed == sorted(timed), f"time since dose went backwards {ctx}"

    # Every restart put the time the app was gone on the timeline, and resumed after the last
    # acknowledged note of the runs before it.
    gaps = [e for e in events if e.kind == "gap"]
    assert len(gaps) == KILLS, ctx
    last_acked_t = 0.0
    for killed, gap, resumed in zip(runs, gaps, [*runs[1:], None], strict=True):
        if killed.acks:
            last_acked_t = max(last_acked_t, max(by_seq[s].t or 0.0 for s, _ in killed.acks))
            assert gap.seq > killed.acks[-1][0], ctx
        assert gap.data["cause"] == "app_stopped_unexpectedly", ctx
        assert last_acked_t <= gap.data["from_t"] <= gap.data["to_t"], ctx
        assert gap.data["seconds"] == pytest.approx(gap.data["to_t"] - gap.data["from_t"], abs=2e-3)
        if resumed is not None:
            assert resumed.elapsed_at_ready >= gap.data["to_t"] - 1e-3, ctx
            assert all((by_seq[s].t or 0.0) >= gap.data["to_t"] for s, _ in resumed.acks), ctx
    assert final_elapsed >= last_acked_t, ctx

    with capsys.disabled():
        print(
            f"crash: {KILLS} kills, {len(acked)} acknowledged notes checked, "
            f"{len(notes)} notes stored, lost 0; audit chain verified over {chain.entries} "
            f"entries {ctx}"
        )
