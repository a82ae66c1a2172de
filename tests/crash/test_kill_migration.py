"""SIGKILL the encryption of a plaintext data folder in place (`encrypt_in_place`, what the
first open with a key does) at random moments once its encrypted copy has begun: after every kill
the folder holds the whole plaintext database or the whole encrypted one, and the next open with
the key finishes the job with every row.

Reproduce a failure with KAPSESSION_CRASH_SEED=<the seed printed by the failing run>."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest
import sqlcipher3

from kapsession.storage import chain_key
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import ENCRYPTING_SUFFIX, Store, is_plaintext

from . import drill

REPO = Path(__file__).resolve().parents[2]
KEY = bytes(range(32))
KILLS = 12
NOTES = 3000  # big enough that the copy takes a while

MIGRATE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from kapsession.storage.store import encrypt_in_place
    encrypt_in_place(Path(sys.argv[1]), bytes.fromhex(sys.argv[2]))
    """
)


def _rows(path: Path, key: bytes | None) -> dict[str, int]:
    if key is None:
        conn = sqlite3.connect(path)
    else:
        conn = sqlcipher3.connect(str(path))
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return {
            t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
            for t in ("clients", "sessions", "events")
        }
    finally:
        conn.close()


@pytest.mark.crash
def test_sigkill_during_migration_always_leaves_a_usable_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = int(os.environ.get("KAPSESSION_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    rng, ctx = random.Random(seed), f"(seed {seed})"
    template = tmp_path / "template"
    drill.fill(template, "KILL-M", NOTES)
    expected = _rows(template / DB_NAME, None)
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def run(folder: Path) -> tuple[list[str], Path, Path]:
        folder.mkdir()
        (folder / DB_NAME).write_bytes((template / DB_NAME).read_bytes())
        shutil.copy(template / chain_key.FILE_NAME, folder)  # the folder's audit chain key
        path = folder / DB_NAME
        cmd = [sys.executable, "-c", MIGRATE, str(path), KEY.hex()]
        return cmd, path, path.with_name(path.name + ENCRYPTING_SUFFIX)

    def begun(path: Path, copy: Path) -> drill.Begun:
        # The encrypted copy is being written (or, missed, already in place).
        return lambda _proc: copy.exists() or not is_plaintext(path)

    # One undisturbed run says how long it takes from the copy's start to the swap.
    cmd, path, copy = run(tmp_path / "probe")
    first = drill.inode(path)
    span = drill.calibrate(
        cmd, env, begun(path, copy), {"swapped": lambda: drill.inode(path) != first}
    )

    where: Counter[str] = Counter()
    for i in range(KILLS):
        cmd, path, copy = run(tmp_path / f"run{i}")
        if i % 4 == 0:  # anywhere in the run, start-up included
            landed = drill.kill_after(cmd, env, rng.uniform(0.0, 1.0) * span["whole"])
        else:  # once the encrypted copy has begun, before the swap
            delay = rng.uniform(0.0, 0.6) * span["swapped"]
            landed = drill.kill_after(cmd, env, delay, begun(path, copy))
        if is_plaintext(path):
            where["mid-copy" if copy.exists() else "before the copy"] += 1
            assert _rows(path, None) == expected, f"run {i} {ctx}"
        else:
            where["after the swap" if landed else "after it ended"] += 1
            assert _rows(path, KEY) == expected, f"run {i} {ctx}"
        # Either way the next open with the key finishes the job and keeps every row.
        Store.open(path.parent, key=KEY).close()
        assert _rows(path, KEY) == expected, f"run {i} {ctx}"
        assert not copy.exists(), f"run {i} {ctx}"
    drill.assert_landed(where, ["mid-copy"], KILLS, ctx)
    with capsys.disabled():
        print(
            f"\ncrash: {KILLS} kills during encrypt_in_place landed: {drill.tally_line(where)}; "
            f"every row kept each time; undisturbed copy to swap {span['swapped']:.3f} s {ctx}"
        )
