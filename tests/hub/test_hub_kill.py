"""SIGKILL `kapsession hub sync` at random moments, again and again, then sync once more: the hub
holds every entry of the folder exactly once, and its export is the laptop's.

Reproduce a failure with KAPSESSION_CRASH_SEED=<the seed printed by the failing run>."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from helpers.cli import run

from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store
from tests.hub.conftest import Hub
from tests.unit import rich_session

pytestmark = pytest.mark.crash

KILLS = 6
EXTRA_NOTES = 2000  # per round: several batches (kapsession/hub/sync.py BATCH)
FUSE_S = 60.0


def test_a_sync_killed_at_random_moments_loses_and_doubles_nothing(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = int(os.environ.get("KAPSESSION_CRASH_SEED", random.randrange(2**32)))
    print(f"KAPSESSION_CRASH_SEED={seed}")
    rng = random.Random(seed)
    folder = tmp_path / "laptop"
    rich = rich_session.build(folder)
    store, sid = rich.store, rich.session_id
    at = rich_session.T0 + timedelta(hours=3)
    store.close()

    def write_more() -> None:
        # The room goes on writing between the syncs (each round has several batches to send).
        more = Store.open(folder)
        with more.db.atomic():
            for n in range(EXTRA_NOTES):
                more.append(
                    sid, "amendment", at, "UTC", None, {"text": f"n{n}"}, amends=2, reason="r"
                )
        more.close()

    assert run(
        ["hub", "join", "--data-dir", str(folder), "--dsn", hub.room_dsn("a"), "--room", "a",
         "--clinic-key", str(hub.key_file)], capsys
    )[0] == 0  # fmt: skip
    command = [sys.executable, "-m", "kapsession.cli", "hub", "sync", "--data-dir", str(folder)]
    partial = []  # how far each killed round got: (entries on the hub, entries to send)
    for _ in range(KILLS):
        write_more()
        before, total = len(_held_seqs(hub)), len(_local(folder))
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Killed once the hub has its first batch of this round (or at once, some rounds), a
        # random moment later: between batches, mid-transaction or between the hub's COMMIT
        # and the laptop's cursor.
        if rng.random() < 0.75:
            deadline = time.monotonic() + FUSE_S
            while len(_held_seqs(hub)) == before and proc.poll() is None:
                assert time.monotonic() < deadline, "the sync never sent anything"
        time.sleep(rng.uniform(0.0, 0.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait(FUSE_S)
        partial.append((len(_held_seqs(hub)) - before, total - before))
    assert any(0 < sent < due for sent, due in partial), f"no kill landed mid-sync: {partial}"

    code, out, err = run(["hub", "sync", "--data-dir", str(folder)], capsys)
    assert (code, err) == (0, "") and "nothing is left to send" in out
    assert _held_seqs(hub) == _local(folder)


def _local(folder: Path) -> list[int]:
    with sqlite3.connect(folder / DB_NAME) as conn:
        return [int(r[0]) for r in conn.execute("SELECT seq FROM events ORDER BY seq")]


def _held_seqs(hub: Hub) -> list[int]:
    with psycopg.connect(hub.admin_dsn) as conn:
        return [int(r[0]) for r in conn.execute("SELECT local_seq FROM events ORDER BY local_seq")]
