"""What keeping each client-mode answer costs (issue 18): ClientRun.keep after each answer (the
open run's INSERT or UPDATE and its COMMIT, WAL with synchronous=FULL, before the next item
shows) against a floor, a raw sqlite3 UPDATE + COMMIT of a comparable row in a plain table with
the same pragmas. Both on real files in one temp folder, interleaved answer by answer so disk
noise hits both alike; wall time per answer (perf_counter_ns) and the CPU time of the whole run
(process_time) are reported as medians.

    .venv/bin/python bench/client_run_keep.py [--runs N]"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from kapsession.clock import SystemClock
from kapsession.integration.client_run import ClientRun
from kapsession.integration.instrument import builtin_instruments
from kapsession.storage.store import BUSY_TIMEOUT_MS, Store

ANSWERS = "210302110"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=60, help="PHQ-9 runs of 9 answers each")
    args = parser.parse_args()
    clock = SystemClock()
    phq9 = builtin_instruments()["phq9"]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "data")
        with store.db.atomic():
            store.add_client("K-1", None, False, clock.now())
        floor = sqlite3.connect(Path(tmp) / "floor.sqlite3", isolation_level=None)
        floor.execute("PRAGMA journal_mode = wal")
        floor.execute("PRAGMA synchronous = FULL")
        floor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        floor.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, answers TEXT, at TEXT)")
        keep_ns: list[int] = []
        floor_ns: list[int] = []
        keep_cpu: list[float] = []
        floor_cpu: list[float] = []
        for _ in range(args.runs):
            run = ClientRun(phq9, "K-1")
            answers: list[int | None] = [None] * 9
            floor.execute("INSERT INTO runs (answers, at) VALUES ('[]', '')")
            row = floor.execute("SELECT max(id) FROM runs").fetchone()[0]
            cpu_keep = cpu_floor = 0.0
            for n, key in enumerate(ANSWERS):
                run.key(key)
                c, t = time.process_time(), time.perf_counter_ns()
                run.keep(store, clock)
                keep_ns.append(time.perf_counter_ns() - t)
                cpu_keep += time.process_time() - c
                answers[n] = int(key)
                c, t = time.process_time(), time.perf_counter_ns()
                floor.execute("BEGIN")
                floor.execute(
                    "UPDATE runs SET answers = ?, at = ? WHERE id = ?",
                    [json.dumps(answers), clock.now().isoformat(), row],
                )
                floor.execute("COMMIT")
                floor_ns.append(time.perf_counter_ns() - t)
                cpu_floor += time.process_time() - c
            run.save(store, None, clock)
            keep_cpu.append(cpu_keep / len(ANSWERS))
            floor_cpu.append(cpu_floor / len(ANSWERS))
        store.close()
        floor.close()

    def ms(values: list[int]) -> str:
        q = statistics.quantiles(values, n=20)
        return f"median {statistics.median(values) / 1e6:.2f} ms, p95 {q[18] / 1e6:.2f} ms"

    print(f"{args.runs} runs x {len(ANSWERS)} answers")
    print(
        f"keep  wall: {ms(keep_ns)}; CPU per answer median {statistics.median(keep_cpu) * 1e3:.2f} ms"
    )
    print(
        f"floor wall: {ms(floor_ns)}; CPU per answer median {statistics.median(floor_cpu) * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    main()
