"""A client's PHQ-9 and GAD-7 over a course of sessions (issue 18), for the course chart's
tests and screenshot: a baseline three days before the first session and one the day after
each, PHQ-9 falling 19 → 14 → 9 (response) → 4 (remission), GAD-7 14 → 11 → 7 → 6."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

from kapsession.clock import Clock
from kapsession.integration import measures
from kapsession.storage.store import Store, parse_iso

PHQ9 = (
    [3, 3, 2, 2, 2, 3, 2, 1, 1],  # 19, item 9 answered 1
    [2, 2, 2, 2, 1, 2, 2, 1, 0],  # 14
    [1, 1, 1, 2, 1, 1, 1, 1, 0],  # 9
    [1, 1, 0, 1, 0, 1, 0, 0, 0],  # 4
)
GAD7 = (
    [2, 2, 2, 2, 2, 2, 2],  # 14
    [2, 2, 2, 2, 1, 1, 1],  # 11
    [1, 1, 1, 1, 1, 1, 1],  # 7
    [1, 1, 1, 1, 1, 1, 0],  # 6
)


def demo_measures(store: Store, clock: Clock, client: str) -> list[date]:
    """The four days measured, after the client's sessions were given (demo_course)."""
    doses = sorted(
        parse_iso(r.dose_at).astimezone().date()
        for r in store.sessions()
        if r.client_code == client and r.dose_at
    )
    days = [doses[0] - timedelta(days=3), *(d + timedelta(days=1) for d in doses[:3])]
    folder = measures.data_folder(store)
    for day, phq, gad in zip(days, PHQ9, GAD7, strict=False):
        measures.add_measure(store, folder, client, "phq9", phq, clock, taken_on=day)
        measures.add_measure(store, folder, client, "gad7", gad, clock, taken_on=day)
    return days


def main(argv: list[str]) -> int:
    """PYTHONPATH=. python bench/measure_data.py DATA_DIR CLIENT: the demo series, entered as
    $KAPSESSION_CLINICIAN (with its PIN) when set."""
    from kapsession.clock import SystemClock
    from kapsession.storage import clinicians

    store = Store.open(Path(argv[1]))
    try:
        clock = SystemClock()
        who = clinicians.from_environment(store, clock, register=False)
        if who is not None:
            clinicians.charting_as(store, who)
        demo_measures(store, clock, argv[2])
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
