"""Two rooms run rehearsal sessions while the hub is stopped and started 20 times at random
moments (a clean shut-down or a crash); each room's background worker keeps syncing. Afterwards
`kapsession hub export` equals each laptop's own export, entry for entry.

Reproduce a failure with KAPSESSION_CRASH_SEED=<the seed printed by the failing run>."""

from __future__ import annotations

import json
import os
import queue
import random
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.cli import run

from kapsession.clock import FakeClock
from kapsession.hub import settings as hub_settings
from kapsession.hub.worker import SyncStatus, SyncWorker
from kapsession.monitoring.protocol import builtin_protocols
from kapsession.session.live import SessionService
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store, open_connection
from tests.hub.conftest import Hub

pytestmark = pytest.mark.crash

OUTAGES = 20
NOTES = 150  # per room, written while the hub comes and goes
T0 = datetime(2026, 12, 6, 14, 0, tzinfo=UTC)


def _room_writes(folder: Path, done: threading.Event, failures: list[BaseException]) -> None:
    try:
        clock = FakeClock(T0)
        store = Store.open(folder)
        service = SessionService(store, clock, "UTC", "Test", builtin_protocols())
        record = service.plan_rehearsal(time_scale=1.0, clock_origin=clock.now())
        live = service.give_dose(record.id)
        for n in range(NOTES):
            clock.advance(20)
            live.add_note(f"note {n}: the room is quiet")
            if n % 15 == 0:
                live.add_vitals("122/80 70 98")
                live.evaluate_checks()
            time.sleep(0.005)  # a room writes now and then, not in one burst
        store.close()
    except BaseException as exc:  # pragma: no cover - reported by the test
        failures.append(exc)
    finally:
        done.set()


def _export(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    code, out, err = run(argv, capsys)
    assert (code, err) == (0, "")
    doc = json.loads(out)
    doc.pop("exported_at")
    return doc


def test_two_rooms_sync_through_twenty_outages_and_export_the_same_entries(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = int(os.environ.get("KAPSESSION_CRASH_SEED", random.randrange(2**32)))
    print(f"KAPSESSION_CRASH_SEED={seed}")
    rng = random.Random(seed)
    rooms = {name: tmp_path / name for name in ("a", "b")}
    workers, statuses, writers = {}, {}, []
    failures: list[BaseException] = []
    for name, folder in rooms.items():
        Store.open(folder).close()
        assert run(
            ["hub", "join", "--data-dir", str(folder), "--dsn", hub.room_dsn(name), "--room",
             name, "--clinic-key", str(hub.key_file)], capsys
        )[0] == 0  # fmt: skip
        settings = hub_settings.load(folder)
        assert settings is not None
        statuses[name] = queue.Queue[SyncStatus]()
        workers[name] = SyncWorker(
            lambda folder=folder: open_connection(folder / DB_NAME),
            settings,
            interval=0.05,
            first_backoff=0.02,
            max_backoff=0.2,
            on_status=statuses[name].put,
        )
        done = threading.Event()
        writers.append(done)
        threading.Thread(target=_room_writes, args=(folder, done, failures), daemon=True).start()
        workers[name].start()

    for _ in range(OUTAGES):
        time.sleep(rng.uniform(0.0, 0.15))
        hub.cluster.stop(rng.choice(["fast", "immediate"]))
        time.sleep(rng.uniform(0.0, 0.1))
        hub.cluster.start()
    for done in writers:
        assert done.wait(60)
    assert failures == []

    for name, worker in workers.items():
        while not statuses[name].empty():  # rounds reported while the room was still writing
            statuses[name].get_nowait()
        worker.nudge()
        while True:  # a hang guard only: each status is a round of the worker
            status = statuses[name].get(timeout=60)
            if status.synced:
                break
            worker.nudge()
        worker.stop()
    for name, folder in rooms.items():
        laptop = _export(["export", "--data-dir", str(folder), "--format", "json"], capsys)
        on_hub = _export(
            ["hub", "export", "--dsn", hub.logins()["board"], "--clinic-key",
             str(hub.key_file), "--room", name, "--session", "latest", "--format", "json"],
            capsys,
        )  # fmt: skip
        assert len([e for e in laptop["events"] if e["kind"] == "note"]) == NOTES
        assert on_hub == laptop
