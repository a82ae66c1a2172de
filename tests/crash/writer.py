"""Crash-test writer: the real store, the real clock, the real session service, writing notes as
fast as it can until it is killed.

    python writer.py DATA_DIR RUN

Prints ``READY <session id> <running sessions> <elapsed>`` once the session is running (resumed,
or planned and dosed on the first run), then ``ACK <seq> <text>`` for each note, flushed, and
only after add_note returned: an ACK is exactly what the therapist would have seen as saved."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kapsession.clock import SystemClock
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.instance_lock import InstanceLock
from kapsession.storage.store import Store, prepare_folder

# A fuse, not a timing: if the test that should kill us is gone, do not write forever.
GIVE_UP_AFTER_S = 120.0


def main(argv: list[str]) -> int:
    folder, run = Path(argv[1]), int(argv[2])
    prepare_folder(folder)
    lock = InstanceLock(folder)  # kept referenced for the life of the process, like the app
    lock.acquire()
    store = Store.open(folder)
    service = SessionService(store, SystemClock(), "UTC", "crash-writer")
    live = service.resume()
    if live is None:
        record = service.plan(SessionPlan("CRASH-1", "Crash test", "sublingual", 200.0, 75))
        live = service.give_dose(record.id)
    running = store.db.execute("SELECT count(*) FROM sessions WHERE state = 'running'")
    print(f"READY {live.record.id} {running.fetchone()[0]} {live.elapsed():.3f}", flush=True)

    started = time.monotonic()
    n = 0
    while time.monotonic() - started < GIVE_UP_AFTER_S:
        n += 1
        text = f"run {run} note {n}: she says the sea is breathing 🌊 — 海"
        event = live.add_note(text)
        print(f"ACK {event.seq} {text}", flush=True)
        live.tick()
    return 3


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
