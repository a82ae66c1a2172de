"""Canary drill: canary strings in a client's code, name, intention and notes go through a whole
session, a JSON export, a backup and a forced crash in a real process; afterwards nothing in the
temp folder, nothing the process printed and nothing in the log holds them. The export the user
asked for is written outside the data folder and is excepted.

Unencrypted folder: no file in the data folder except the database itself (and its backups)
holds them. ENCRYPTED folder (SQLCipher): no file at all, the database, its WAL (left behind by
the crash, with the last note in it) and the backups included; plain sqlite3 cannot read the
database or a backup."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kapsession.storage import datakey
from kapsession.storage.paths import DB_NAME

REPO = Path(__file__).resolve().parents[2]
CANARIES = {
    "code": "CNRY-7F3A",
    "name": "Zebulon Canaryfield",
    "intention": "canary-intention-quokka",
    "note": "canary-note-axolotl",
    "amend": "canary-amend-narwhal",
}

SCRIPT = textwrap.dedent(
    """
    import os
    import sys
    from pathlib import Path
    from kapsession.cli import commands
    from kapsession.storage import privacy
    from kapsession.clock import SystemClock
    from kapsession.session.live import SessionPlan, SessionService
    from kapsession.storage.store import Store

    folder, exports, backups = (Path(a) for a in sys.argv[1:4])
    c = dict(zip(("code", "name", "intention", "note", "amend"), sys.argv[4:9]))
    encrypted = sys.argv[9] == "encrypted"
    privacy.private_umask()
    folder.mkdir(mode=0o700)
    privacy.setup_logging(folder)
    privacy.install_excepthook()
    logged = sys.excepthook
    def die_hard(*exc_info):  # the crash leaves the open database as a kill would (its WAL)
        logged(*exc_info)
        os._exit(1)
    sys.excepthook = die_hard
    key = None
    if encrypted:
        from kapsession.storage import datakey
        key = datakey.create_key(folder, os.environ[datakey.PASSPHRASE_ENV])
    store = Store.open(folder, key=key)
    service = SessionService(store, SystemClock(), "UTC", "drill")
    record = service.plan(
        SessionPlan(c["code"], "Sublingual", "sublingual", 200.0, 75, c["intention"], c["name"])
    )
    live = service.give_dose(record.id)
    note = live.add_note(f"she said: {c['note']}")
    live.amend_note(note.seq, f"she said: {c['amend']}", [], "typo")
    live.add_vitals("128/82 76 98")
    try:
        live.add_note("")  # refused input: its message must not quote anything
    except Exception as exc:
        print(f"refused: {exc}", file=sys.stderr)
    live.end(reason="drill")
    store.close()
    assert commands.main(["export", "--data-dir", str(folder), "--format", "json",
                     "-o", str(exports / "session.json")]) == 0
    assert commands.main(["backup", "--data-dir", str(folder), "--to", str(backups)]) == 0
    assert commands.main(["backup", "--data-dir", str(folder)]) == 0  # into the data folder
    assert commands.main(["verify", "--data-dir", str(folder)]) == 0
    # Reopened and written, then the crash: the WAL stays behind holding the last entry.
    store = Store.open(folder, key=key)
    store.append(record.id, "amendment", SystemClock().now(), "UTC", None,
                 {"text": f"later: {c['amend']} {c['note']}", "tags": []}, "drill",
                 amends=note.seq, reason="typo")
    raise RuntimeError(f"forced crash while handling {c['note']} for {c['name']}")
    """
)


def _holding(folder: Path, needles: list[bytes], skip: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name not in skip:
            data = path.read_bytes()
            found += [f"{path}: {n.decode()}" for n in needles if n in data]
    return found


@pytest.mark.parametrize("mode", ["plain", "encrypted"])
def test_no_canary_reaches_a_file_a_temp_file_the_output_or_the_log(
    tmp_path: Path, mode: str
) -> None:
    folder, exports, backups, temp = (tmp_path / n for n in ("data", "out", "bk", "tmp"))
    exports.mkdir()
    temp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(temp), "PYTHONIOENCODING": "utf-8"}
    env.pop(datakey.PASSPHRASE_ENV, None)
    if mode == "encrypted":
        env[datakey.PASSPHRASE_ENV] = "canary drill passphrase"
    args = [str(folder), str(exports), str(backups), *CANARIES.values(), mode]
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, env=env, timeout=60
    )
    assert proc.returncode == 1, proc.stderr.decode(errors="replace")
    needles = [v.encode() for v in CANARIES.values()]

    # The drill did happen: the export holds the session, the log recorded the crash.
    assert CANARIES["note"].encode() in (exports / "session.json").read_bytes()
    log = (folder / "logs" / "kapsession.log").read_text()
    assert "unexpected error builtins.RuntimeError" in log
    assert "<module>" in log
    stderr = proc.stderr.decode()
    assert "unexpected error builtins.RuntimeError" in stderr
    assert "refused:" in stderr
    assert stdout_has_backup(proc.stdout.decode())

    wal = folder / (DB_NAME + "-wal")
    assert wal.stat().st_size > 0, "the crash left the database open, with its WAL"
    made = sorted(backups.glob("kapsession-*.sqlite3")) + sorted(
        (folder / "backups").glob("kapsession-*.sqlite3")
    )
    assert len(made) == 2
    if mode == "encrypted":
        # Everything, the database, its WAL and every backup included: nothing in plaintext.
        assert _holding(folder, needles) == []
        assert _holding(backups, needles) == []
        for path in [folder / DB_NAME, *made]:
            assert not path.read_bytes().startswith(b"SQLite format 3")
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                with pytest.raises(sqlite3.DatabaseError, match="not a database"):
                    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            finally:
                conn.close()
    else:
        # The search does find them where they are stored in plaintext (the same run, unkeyed).
        assert _holding(folder, [CANARIES["amend"].encode()]) != []
        database = {DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", *(p.name for p in made)}
        assert _holding(folder, needles, skip=database) == []
    assert _holding(temp, needles) == []
    assert [n.decode() for n in needles if n in proc.stdout or n in proc.stderr] == []

    # Everything in the data folder is private to the user.
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path} is {oct(mode)}"
    for path in [*backups.rglob("*"), exports / "session.json"]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def stdout_has_backup(stdout: str) -> bool:
    return "Backup written and verified" in stdout and "OK: integrity ok" in stdout
