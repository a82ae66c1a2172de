"""SIGKILL the real `kapsession backup` at random moments: the source database always passes
integrity_check with its audit chain whole, and no file ever carries a backup's final name
unless it is a whole, verified backup (a killed one leaves at most a hidden .partial, which the
next backup sweeps away).

Reproduce a failure with KAPSESSION_CRASH_SEED=<the seed printed by the failing run>."""

from __future__ import annotations

import os
import random
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from kapsession.storage import audit, backup
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store

from . import drill

REPO = Path(__file__).resolve().parents[2]
KILLS = 20
ANYWHERE_EVERY = 5  # every fifth kill lands anywhere in the run, start-up included
NOTES = 3000  # a copy long enough to be caught in the act on a busy machine
T0 = drill.T0


def _seed(folder: Path) -> None:
    drill.fill(folder, "KILL-1", NOTES)


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


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def _finals(folder: Path) -> set[str]:
    return {p.name for p in backup.backups_in(folder)} if folder.is_dir() else set()


def _landed_where(landed: bool, partial_left: set[str], new_backups: set[str]) -> str:
    if not landed:
        return "after it ended"
    if partial_left:
        return "mid-copy"
    return "after the rename" if new_backups else "before the copy"


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
    with closing(Store.open_readonly(folder / DB_NAME)) as seeded:
        owner = backup.owner_of_store(seeded)
    # the folder's key files, kept beside its backups under its id
    kept = {backup.beside_name(n, owner) for n in backup.KEPT_BESIDE}

    def begun(before: set[str]) -> Callable[[object], bool]:
        # The copy has begun once this run's .partial (or, missed, its backup) is there.
        return lambda _proc: bool(_names(target) - before)

    # One undisturbed run says how long the copy (partial -> backup's name) and the rest take.
    before = _names(target)
    span = drill.calibrate(
        _backup_cmd(folder, target),
        _env(),
        begun(before),
        {"renamed": lambda: bool(_finals(target) - before)},
    )

    where: Counter[str] = Counter()
    partials: set[str] = set()
    checked: set[Path] = set()
    for i in range(KILLS):
        before = _names(target)
        if i % ANYWHERE_EVERY == 0:  # anywhere in the run: a kill at start-up is harmless too
            landed = drill.kill_after(
                _backup_cmd(folder, target), _env(), rng.uniform(0.0, 1.0) * span["whole"]
            )
        else:  # once the copy has begun, somewhere before its rename
            landed = drill.kill_after(
                _backup_cmd(folder, target),
                _env(),
                rng.uniform(0.0, 0.9) * span["renamed"],
                begun(before),
            )
        left = drill.partials(target) - before
        where[_landed_where(landed, left, _finals(target) - before)] += 1
        partials |= left
        _check_source(folder, ctx)
        for made in set(backup.backups_in(target)) - checked:
            verified = backup.verify_file(made)
            assert verified.problems == [], f"{made.name}: {verified.problems} {ctx}"
            checked.add(made)  # a backup under its final name is never written again
        names = _names(target)
        strays = {n for n in names - kept if backup.stamp_of(n) is None and ".partial" not in n}
        assert strays == set(), f"files that are neither backups nor partials: {strays} {ctx}"
    # Judged by the evidence: a kill that left its .partial landed while the copy was going on.
    drill.assert_landed(where, ["mid-copy"], KILLS, ctx)

    # The next backup after all that is whole and sweeps the partials away.
    result = backup.create(folder, target, T0 + timedelta(days=1))
    assert result.verified.problems == [], ctx
    assert not [p for p in target.iterdir() if backup.is_partial(p.name)], ctx
    entries = _check_source(folder, ctx)
    completed = len(backup.backups_in(target)) - 2  # minus the calibration and the final one
    with capsys.disabled():
        print(
            f"crash: {KILLS} kills during `kapsession backup` landed: {drill.tally_line(where)} "
            f"({completed} backups completed, {len(partials)} partials left, all swept); "
            f"undisturbed copy {span['renamed']:.3f} s of {span['exit']:.3f} s; source verified: "
            f"{entries} audit entries, {NOTES} notes; every backup verified {ctx}"
        )


RESTORE_KILLS = 12


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

    db = folder / DB_NAME

    def begun(before: set[str]) -> Callable[[object], bool]:
        # The restore's copy has begun once a .partial of any name is in the data folder.
        return lambda _proc: bool(drill.partials(folder) - before)

    # One undisturbed run says how long it takes from the copy's start to the swap.
    first = drill.inode(db)
    span = drill.calibrate(
        cmd, _env(), begun(drill.partials(folder)), {"swapped": lambda: drill.inode(db) != first}
    )

    where: Counter[str] = Counter()
    checked: set[Path] = set()
    for i in range(RESTORE_KILLS):
        # New work since the backup, so the old and the restored database differ.
        store = Store.open(folder)
        store.append(1, "note", T0 + timedelta(hours=3, seconds=i), "UTC", None, {"text": "x"})
        store.close()
        old = _notes(db)
        before = drill.partials(folder)
        if i % 6 == 0:  # anywhere in the run, start-up included
            landed = drill.kill_after(cmd, _env(), rng.uniform(0.0, 1.0) * span["whole"])
        elif i % 6 == 3:  # once the copy has begun, between the swap and the end
            delay = rng.uniform(span["swapped"], span["exit"])
            landed = drill.kill_after(cmd, _env(), delay, begun(before))
        else:  # once the copy has begun, somewhere before the swap
            delay = rng.uniform(0.0, 0.5) * span["swapped"]
            landed = drill.kill_after(cmd, _env(), delay, begun(before))
        assert db.is_file(), f"run {i}: no database in place {ctx}"
        entries = _check_source(folder, f"run {i} {ctx}")
        now = _notes(db)
        assert now in (old, restored), f"run {i}: neither the old nor the restored notes {ctx}"
        # Judged by what is on disk (whatever the partials are called and whatever is checked
        # before the swap): the restored notes, or the old ones with a copy under way.
        if not landed:
            where["after it ended"] += 1
        elif now == restored:
            where["after the swap"] += 1
        else:
            where["mid-copy" if drill.partials(folder) - before else "before the copy"] += 1
        for aside in set(folder.glob(f"{DB_NAME}.replaced-*")) - checked:
            if not aside.name.endswith(("-wal", "-shm")):
                assert backup.verify_file(aside).problems == [], f"{aside.name} {ctx}"
            checked.add(aside)
    drill.assert_landed(where, ["mid-copy"], RESTORE_KILLS, ctx)
    with capsys.disabled():
        print(
            f"\ncrash: {RESTORE_KILLS} kills during `kapsession restore` landed: "
            f"{drill.tally_line(where)}; the old or the restored database in place after each, "
            f"never none; undisturbed copy to swap {span['swapped']:.3f} s of {span['exit']:.3f} s; "
            f"last check {entries} audit entries verified {ctx}"
        )
