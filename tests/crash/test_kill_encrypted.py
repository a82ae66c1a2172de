"""SIGKILL drills on an ENCRYPTED data folder: the real `kapsession backup` and `kapsession
passphrase` killed at random moments. After every kill the database opens with its data key,
passes integrity_check and its audit chain verifies; every file under a backup's name is a whole
backup, encrypted and verified with the same key; no backup or leftover holds plaintext; the
key file always opens with the old or the new passphrase, to the same data key.

Reproduce a failure with KAPSESSION_CRASH_SEED=<the seed printed by the failing run>."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kapsession import audit, backup, keys
from kapsession.clock import FakeClock
from kapsession.errors import WrongKey
from kapsession.session import SessionPlan, SessionService
from kapsession.store import Store, is_plaintext

REPO = Path(__file__).resolve().parents[2]
FUSE_S = 60.0
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSES = ["orchard pebble winter song", "tidal compass amber frost"]
CANARY = b"canary-crash-tapir"
BACKUP_KILLS = 12
KEY_KILLS = 10
NOTES = 3000


def _seed_encrypted(folder: Path) -> bytes:
    folder.mkdir()
    key = keys.create_key(folder, PASSES[0])
    store = Store.open(folder, key=key)
    try:
        clock = FakeClock(T0)
        service = SessionService(store, clock, "UTC", "crash-encrypted")
        live = service.give_dose(
            service.plan(SessionPlan("KILL-E", "Sublingual", "sublingual", 200.0, 75)).id
        )
        with store.db.atomic():
            for i in range(NOTES):
                clock.advance(1)
                live.add_note(f"note {i} {CANARY.decode()}: " + "the tide comes and goes " * 5)
    finally:
        store.close()
    return key


def _env(passphrase: str, new: str | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), keys.PASSPHRASE_ENV: passphrase}
    env.pop("KAPSESSION_NEW_PASSPHRASE", None)
    if new is not None:
        env["KAPSESSION_NEW_PASSPHRASE"] = new
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "kapsession.cli", *args]


def _check(folder: Path, key: bytes, ctx: str) -> audit.Report:
    store = Store.open_readonly(folder, key)
    try:
        report = audit.verify(store.db.conn)
    finally:
        store.close()
    assert report.ok, f"{report.problems} {ctx}"
    return report


def _kill_at(
    cmd: list[str], env: dict[str, str], delay: float, after: Callable[[], bool] | None = None
) -> bool:
    """Run, SIGKILL `delay` s after start (or after `after()` first holds) unless it finished;
    True if the kill landed."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if after is not None:
            while not after() and proc.poll() is None:
                time.sleep(0.001)
        time.sleep(delay)  # not a timing assertion: only where the kill lands
        landed = proc.poll() is None
        if landed:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=FUSE_S)
        return landed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _seeded_rng(capsys: pytest.CaptureFixture[str]) -> tuple[random.Random, str]:
    seed = int(os.environ.get("KAPSESSION_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    with capsys.disabled():
        print(f"\ncrash seed {seed} (replay with KAPSESSION_CRASH_SEED={seed})")
    return random.Random(seed), f"(seed {seed})"


@pytest.mark.crash
def test_sigkill_during_an_encrypted_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng, ctx = _seeded_rng(capsys)
    folder, target = tmp_path / "data", tmp_path / "usb"
    key = _seed_encrypted(folder)
    cmd = _cli("backup", "--data-dir", str(folder), "--to", str(target))
    env = _env(PASSES[0])
    started = time.monotonic()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    span = time.monotonic() - started
    started = time.monotonic()
    backup.create(folder, tmp_path / "calibration", T0, key=key)
    copying = time.monotonic() - started  # the copy, fsync, verify and rename

    def copy_begun() -> bool:  # a .partial this run made (an older one is swept at its start)
        return any(backup.is_partial(p.name) and p.name not in before for p in target.iterdir())

    landed = 0
    partials: set[str] = set()
    for i in range(BACKUP_KILLS):
        before = {p.name for p in target.iterdir()}
        if i % 4 == 0:  # anywhere in the run, start-up and key derivation included
            landed += _kill_at(cmd, env, rng.uniform(0.2, 1.05) * span)
        else:  # once the encrypted .partial exists: copying, verifying or renaming
            landed += _kill_at(cmd, env, rng.uniform(0.0, 1.2) * copying, copy_begun)
        names = {p.name for p in target.iterdir()}
        partials |= {n for n in names if backup.is_partial(n)}
        _check(folder, key, f"run {i} {ctx}")
        for path in target.iterdir():
            assert CANARY not in path.read_bytes(), f"{path.name} holds plaintext {ctx}"
            assert not is_plaintext(path), f"{path.name} is a plaintext database {ctx}"
            if backup.stamp_of(path.name) is not None:
                assert not is_plaintext(path), f"{path.name} {ctx}"
                verified = backup.verify_file(path, key)
                assert verified.problems == [], f"{path.name}: {verified.problems} {ctx}"
        strays = {
            n
            for n in names
            if backup.stamp_of(n) is None
            and not backup.is_partial(n)
            and not (n.startswith("kapsession-") and n.endswith(".key"))  # the key copy
        }
        assert strays == set(), f"neither backups nor partials: {strays} {ctx}"
        beside = backup.key_file_beside(backup.backups_in(target)[-1])
        assert keys.key_from_file(beside, env={keys.PASSPHRASE_ENV: PASSES[0]}) == key

    result = backup.create(folder, target, T0 + timedelta(days=1), key=key)
    assert result.verified.problems == [], ctx
    assert not [p for p in target.iterdir() if backup.is_partial(p.name)], ctx
    report = _check(folder, key, ctx)
    with capsys.disabled():
        print(
            f"crash: {BACKUP_KILLS} kills during an encrypted `kapsession backup` ({landed} "
            f"landed mid-run, {len(partials)} partials left, all swept); {len(backup.backups_in(target))} "
            f"backups, every one encrypted and verified with the key; source {report.entries} "
            f"audit entries verified after each kill {ctx}"
        )


@pytest.mark.crash
def test_sigkill_during_a_passphrase_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng, ctx = _seeded_rng(capsys)
    folder = tmp_path / "data"
    key = _seed_encrypted(folder)
    current = 0
    cmd = _cli("passphrase", "--data-dir", str(folder))
    started = time.monotonic()
    subprocess.run(
        cmd, env=_env(PASSES[0], PASSES[1]), check=True, capture_output=True, timeout=FUSE_S
    )
    span = time.monotonic() - started
    current = 1
    changes = 1

    landed = outcomes = 0
    for i in range(KEY_KILLS):
        old, new = PASSES[current], PASSES[1 - current]
        landed += _kill_at(cmd, _env(old, new), rng.uniform(0.1, 1.1) * span)
        try:
            found = keys.unlock(folder, new)
            current, changes = 1 - current, changes + 1
            outcomes += 1
        except WrongKey:
            found = keys.unlock(folder, old)
        assert found == key, f"run {i}: another data key {ctx}"
        report = _check(folder, key, f"run {i} {ctx}")
        store = Store.open_readonly(folder, key)
        try:
            recorded = store.db.execute(
                "SELECT count(*) FROM audit WHERE action = 'key_change'"
            ).fetchone()[0]
        finally:
            store.close()
        # Recorded only once done: never more entries than changes (a kill between the new
        # key file and its entry leaves one change unrecorded).
        assert recorded <= changes, f"run {i}: {recorded} entries for {changes} changes {ctx}"
    with capsys.disabled():
        print(
            f"crash: {KEY_KILLS} kills during `kapsession passphrase` ({landed} landed mid-run; "
            f"{outcomes} had already re-wrapped the key): the key file always opened with the old "
            f"or the new passphrase to the same data key; integrity_check and the audit chain "
            f"({report.entries} entries, {recorded} key_change) verified after each {ctx}"
        )
