"""SIGKILL the real `kapsession backup` at random moments: the source database always passes
integrity_check with its audit chain whole, and no file ever carries a backup's final name
unless it is a whole, verified backup (a killed one leaves at most a hidden .partial, which the
next backup sweeps away).

Reproduce a failure with KAPSESSION_CRASH_SEED=<the seed printed by the failing run>."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kapsession import audit, backup
from kapsession.clock import FakeClock
from kapsession.paths import DB_NAME
from kapsession.session import SessionPlan, SessionService
from kapsession.store import Store

REPO = Path(__file__).resolve().parents[2]
KILLS = 20
NOTES = 1000
FUSE_S = 60.0
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _seed(folder: Path) -> None:
    clock = FakeClock(T0)
    store = Store.open(folder)
    try:
        service = SessionService(store, clock, "UTC", "crash-backup")
        live = service.give_dose(
            service.plan(SessionPlan("KILL-1", "Sublingual", "sublingual", 200.0, 75)).id
        )
        with store.db.atomic():
            for i in range(NOTES):
                clock.advance(1)
                live.add_note(f"note {i}: " + "the tide comes in and goes out " * 5)
    finally:
        store.close()


def _backup_cmd(folder: Path, target: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "kapsession.cli",
        "backup",
        "--data-dir",
        str(folder),
        "--to",
        str(target),
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def _check_source(folder: Path, ctx: str) -> int:
    with closing(sqlite3.connect(f"file:{folder / DB_NAME}?mode=ro", uri=True)) as conn:
        report = audit.verify(conn)
    assert report.ok, f"{report.problems} {ctx}"
    return report.entries


@pytest.mark.crash
def test_sigkill_during_backup_never_harms_the_source_or_leaves_a_half_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = int(os.environ.get("KAPSESSION_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    with capsys.disabled():
        print(f"\ncrash seed {seed} (replay with KAPSESSION_CRASH_SEED={seed})")
    rng = random.Random(seed)
    ctx = f"(seed {seed})"
    folder, target = tmp_path / "data", tmp_path / "backups"
    _seed(folder)

    # One undisturbed run says how long a backup takes here; kills land across that span
    # (start-up included: a kill before the copy must be harmless too).
    started = time.monotonic()
    subprocess.run(_backup_cmd(folder, target), env=_env(), check=True, capture_output=True)
    span = time.monotonic() - started

    partials: set[str] = set()
    for _ in range(KILLS):
        proc = subprocess.Popen(
            _backup_cmd(folder, target),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # Not a timing assertion: only where the kill lands.
            time.sleep(rng.uniform(0.2, 1.05) * span)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=FUSE_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        partials |= {p.name for p in target.iterdir() if backup.is_partial(p.name)}
        _check_source(folder, ctx)
        for made in backup.backups_in(target):
            verified = backup.verify_file(made)
            assert verified.problems == [], f"{made.name}: {verified.problems} {ctx}"
        names = {p.name for p in target.iterdir()}
        owner = backup.owner_of(next(iter(backup.backups_in(target))).name)
        # the folder's key files, kept beside its backups under its id
        kept = {backup.beside_name(n, owner) for n in backup.KEPT_BESIDE}
        strays = {
            n for n in names - kept if backup.stamp_of(n) is None and not backup.is_partial(n)
        }
        assert strays == set(), f"files that are neither backups nor partials: {strays} {ctx}"

    # The next backup after all that is whole and sweeps the partials away.
    result = backup.create(folder, target, T0 + timedelta(days=1))
    assert result.verified.problems == [], ctx
    assert not [p for p in target.iterdir() if backup.is_partial(p.name)], ctx
    entries = _check_source(folder, ctx)
    completed = len(backup.backups_in(target)) - 2  # minus the calibration and the final one
    with capsys.disabled():
        print(
            f"crash: {KILLS} kills during `kapsession backup` ({completed} had finished, "
            f"{len(partials)} partial files left by kills, all swept), source verified after each: "
            f"{entries} audit entries, {NOTES} notes; every backup verified {ctx}"
        )


RESTORE_KILLS = 10


def _notes(db: Path) -> list[str]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT seq FROM events WHERE kind = 'note' ORDER BY seq")
        return [str(r[0]) for r in rows]


@pytest.mark.crash
def test_sigkill_during_restore_always_leaves_a_whole_database_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The folder holds the old or the restored database after every kill, never none and never
    a mix; every replaced database kept aside is whole."""
    seed = int(os.environ.get("KAPSESSION_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)
    ctx = f"(seed {seed})"
    folder, target = tmp_path / "data", tmp_path / "backups"
    _seed(folder)
    made = backup.create(folder, target, T0 + timedelta(hours=2)).path
    restored = _notes(made)
    cmd = [sys.executable, "-m", "kapsession.cli", "restore", str(made)]
    cmd += ["--data-dir", str(folder), "--yes"]

    started = time.monotonic()
    subprocess.run(cmd, env=_env(), check=True, capture_output=True)
    span = time.monotonic() - started

    outcomes = {"old": 0, "restored": 0}
    for i in range(RESTORE_KILLS):
        # New work since the backup, so the old and the restored database differ.
        store = Store.open(folder)
        store.append(1, "note", T0 + timedelta(hours=3, seconds=i), "UTC", None, {"text": "x"})
        store.close()
        old = _notes(folder / DB_NAME)
        proc = subprocess.Popen(
            cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            # Only where the kill lands: the replacing happens in the run's second half.
            time.sleep(rng.uniform(0.4, 1.1) * span)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=FUSE_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert (folder / DB_NAME).is_file(), f"run {i}: no database in place {ctx}"
        entries = _check_source(folder, f"run {i} {ctx}")
        now = _notes(folder / DB_NAME)
        assert now in (old, restored), f"run {i}: neither the old nor the restored notes {ctx}"
        outcomes["old" if now == old and old != restored else "restored"] += 1
        for aside in folder.glob(f"{DB_NAME}.replaced-*"):
            if not aside.name.endswith(("-wal", "-shm")):
                assert backup.verify_file(aside).problems == [], f"{aside.name} {ctx}"
    with capsys.disabled():
        print(
            f"\ncrash: {RESTORE_KILLS} kills during `kapsession restore`: {outcomes['old']} left "
            f"the old database, {outcomes['restored']} the restored one, never none; last "
            f"check {entries} audit entries verified {ctx}"
        )
