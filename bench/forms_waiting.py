"""What the home screen pays on each refresh for the list of monitoring forms not exported yet
(kapsession/exports/form_waiting.py), on a folder of SESSIONS ended sessions of ENTRIES notes
each: CPU time, median of 7.

    .venv/bin/python bench/forms_waiting.py [SESSIONS ENTRIES]   # default 100 200

One query for the folder: 4 ms on the shared 2-core machine for 100 x 200, where reading every
ended session's entries took 169 ms."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from kapsession.clock import FakeClock
from kapsession.exports.form_waiting import forms_waiting
from kapsession.monitoring.protocol import builtin_protocols
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.store import Store

TZ = "Europe/Berlin"


def main(sessions: int, entries: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "data")
        clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        service = SessionService(store, clock, TZ, "bench", builtin_protocols())
        for i in range(sessions):
            plan = SessionPlan(f"C-{i % 20:03d}", "sublingual", "sublingual", 100.0, 75, "x")
            record = service.plan(plan)
            live = service.give_dose(record.id)
            with store.db.atomic():
                for j in range(entries):
                    store.append(record.id, "note", clock.now(), TZ, float(j), {"text": "n"}, "b")
            clock.advance(600)
            live.end("bench")
            clock.advance(86_400)
        runs = []
        for _ in range(7):
            start = time.process_time()
            waiting = forms_waiting(store, clock.now())
            runs.append(time.process_time() - start)
        store.close()
    median = statistics.median(runs) * 1000
    print(f"forms_waiting, {len(waiting)} sessions x {entries} entries: median {median:.1f} ms CPU")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]] or [100, 200]
    main(*args)
