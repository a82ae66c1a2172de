"""What the live screen pays to work out the adverse-event offer (ui/live/adverse_event.py
pending_offer) when an entry arrives, on a timeline of N entries (a vitals reading every third
entry, an entry every 2 s of session time, an SpO2 alert last): CPU time, median of 7.

    .venv/bin/python bench/adverse_offer.py

It reads only the trailing 15 minutes (and an hour of readings for the suggestion), so it does
not grow with the session: on the shared 2-core machine 1.8 ms at 500 entries, 5-10 ms at 5,000
and at 20,000 (before that change: 1.8, 19.5 and 89 ms)."""

from __future__ import annotations

import statistics
import time

from kapsession.storage.records import Event
from ui.live.adverse_event import pending_offer


def timeline(n: int) -> list[Event]:
    events = []
    for i in range(n):
        t = i * 2.0
        if i % 3 == 0:
            vitals = {
                "systolic": 120,
                "diastolic": 80,
                "heart_rate": 70,
                "spo2": 97 if i % 300 else 86,
                "resp_rate": 14,
                "temperature": None,
            }
            events.append(Event(i + 1, 1, "vitals", "", "UTC", t, data=vitals))
        else:
            events.append(Event(i + 1, 1, "note", "", "UTC", t, data={"text": "x"}))
    alert = {"field": "spo2", "value": 86, "low": 90, "high": None}
    events.append(Event(n + 1, 1, "alert", "", "UTC", n * 2.0, data=alert))
    return events


def main() -> None:
    for n in (500, 5_000, 20_000):
        events = timeline(n)
        runs = []
        for _ in range(7):
            start = time.process_time()
            pending_offer(events, n * 2.0)
            runs.append(time.process_time() - start)
        print(f"pending_offer, {n} entries: median {statistics.median(runs) * 1000:.2f} ms CPU")


if __name__ == "__main__":
    main()
