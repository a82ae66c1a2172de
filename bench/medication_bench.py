"""The medication log's costs (issue 15), CPU time (time.process_time), median of 5 runs:

- ``parse``: parse_medication of one typed line against the shipped medicines list;
- ``total_text``: what the live screen asks every second (the ketamine total and mg/kg) in a
  session of 3,000 entries (kept in step with the timeline, so it does not re-read them);
- ``add``: LiveSession.add_medication on a real SQLite file (parse, total, one committed entry).

Run: .venv/bin/python bench/medication_bench.py"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from kapsession.clock import FakeClock
from kapsession.monitoring.medication import builtin_catalogue, parse_medication
from kapsession.monitoring.protocol import builtin_protocols
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.store import Store

RUNS = 5


def cpu_us(action: Callable[[], object], n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        action()
    return (time.process_time() - start) / n * 1e6


def main() -> None:
    catalogue = builtin_catalogue()
    runs: dict[str, list[float]] = {"parse": [], "total_text": [], "add": []}
    with tempfile.TemporaryDirectory() as folder:
        line = "ondansetron 4 mg SL lot A12"
        for run in range(RUNS):
            runs["parse"].append(cpu_us(lambda: parse_medication(line, catalogue), 2000))
            clock = FakeClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
            store = Store.open(Path(folder) / f"data-{run}")
            service = SessionService(store, clock, "Europe/Berlin", "bench", builtin_protocols())
            plan = SessionPlan("C-1", "sublingual", "sublingual", 100.0, 75, "bench")
            live = service.give_dose(service.plan(plan).id)
            for i in range(3000):
                live.add_note(f"note {i}")
            runs["total_text"].append(cpu_us(live.medication.total_text, 200))
            add = live.add_medication
            runs["add"].append(cpu_us(lambda add=add: add("ondansetron 1 mg SL"), 100))
            store.close()
    for name, values in runs.items():
        shown = ", ".join(f"{v:.1f}" for v in values)
        print(f"{name}: median {statistics.median(values):.1f} µs CPU ({RUNS} runs: {shown})")


if __name__ == "__main__":
    main()
