"""Backups and restore: SQLite's online backup API to a folder the clinic chooses, verified before
the file gets its final name, with a retention rule.

A backup is one self-contained file, `kapsession-<folder id>-YYYYMMDDTHHMMSSZ.sqlite3` (UTC), in
rollback journal mode so it opens anywhere, even on read-only media. The folder id is the data
folder's identity (schema m004, inside the database and so inside every backup): several data
folders may back up into one folder, and each only ever verifies, prunes, cross-checks and
keeps key copies for its own backups. Backups from before the identity existed are named
`kapsession-YYYYMMDDTHHMMSSZ.sqlite3`; they stay restorable and verifiable, and are never pruned.

A backup is written as a hidden `.kapsession-backup-<pid>-*.partial` in the target folder that
its writer holds an OS lock on, fsynced, checked (the schema against this version's, integrity
and the whole audit chain) and only then linked under its final name; a crash or a kill at any
moment leaves either no new backup or a whole, verified one (plus at most a `.partial` whose
lock died with its writer, which the next backup sweeps away; another writer's is left alone).

Retention (applied after each successful backup, only to the folder's own backups): every
backup of the last KEEP_ALL_DAYS days is kept; older ones keep the newest backup of each UTC day
for the KEEP_DAILY most recent such days; the rest are deleted. The newest is never deleted.

Encrypted data folders (a key file beside the database): the backup is a SQLCipher database
keyed with the same data key, copied page by page between two keyed connections, so no
plaintext byte is ever written (not even the .partial); it is verified with that key. The
folder's key files (KEPT_BESIDE: the data key wrapped by the passphrase, useless without it) are
copied beside the backups as `kapsession-<folder id>.key`, so a backup on another drive can be
verified and restored on a new computer with the passphrase alone.

Restore checks everything on the candidate before it replaces anything: the schema is this
version's for its migration level (schema_match), integrity, foreign keys and the audit chain
verify, and the copy made in the data folder is migrated, opened by this version and checked
again there; only then is the current database set aside and the copy renamed into place."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import sqlite3
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from kapsession.errors import DataFolderError, KapsessionError, NeedsKey, WrongKey
from kapsession.storage import audit, chain_key, datakey, privacy, schema, schema_match
from kapsession.storage.instance_lock import InstanceLock
from kapsession.storage.paths import BACKUP_ENV_VAR, DB_NAME
from kapsession.storage.store import (
    Store,
    _cipher_errors,
    _CipherConnection,
    _connect_readonly,
    _open_encrypted,
    _translated,
    connect,
    is_plaintext,
)

ENV_VAR = BACKUP_ENV_VAR
DEFAULT_SUBFOLDER = "backups"
KEEP_ALL_DAYS = 7
KEEP_DAILY = 14
DAILY_EVERY = timedelta(hours=24)
NAME_RE = re.compile(r"^kapsession-(?:([0-9a-f]{12})-)?(\d{8}T\d{6}Z)(?:-(\d+))?\.sqlite3$")
# The data folder's files that are copied beside its backups, each renamed by the folder id
# (kapsession.key -> kapsession-<id>.key). Another key file joins by adding its name here.
# The folder's files kept beside its backups: the key file (the data key wrapped by the
# passphrase; an encrypted backup cannot be opened without it) and a plain folder's audit chain
# key (its backups' chains cannot be verified without it).
KEPT_BESIDE: tuple[str, ...] = (datakey.KEY_FILE, chain_key.FILE_NAME)
PARTIAL_PREFIX = ".kapsession-backup-"
PARTIAL_SUFFIX = ".partial"
RESTORE_PREFIX = ".kapsession-restore-"


class BackupError(KapsessionError):
    """A backup could not be written or did not verify; nothing was left under a backup's name."""


class RestoreError(KapsessionError):
    """A restore was refused or failed; the data folder was left as it was."""


@dataclass(frozen=True)
class Verified:
    entries: int
    rows: int
    head: tuple[int, str]
    problems: list[str] = field(default_factory=list)
    owner: str | None = None  # the data folder's identity recorded inside the file
    holds_records: bool = True  # any client or session (an empty skeleton has none)


@dataclass(frozen=True)
class BackupResult:
    path: Path
    verified: Verified
    pruned: list[Path]


@dataclass(frozen=True)
class RestoreResult:
    restored_from: Path
    replaced: Path | None
    verified: Verified


def backup_dir(
    explicit: str | os.PathLike[str] | None, data_dir: Path, env: Mapping[str, str] | None = None
) -> Path:
    """--to DIR, then $KAPSESSION_BACKUP_DIR, then `backups` in the data folder (which protects
    against a damaged database or a mistake, not against losing the disk: clinics should choose
    another drive)."""
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit).expanduser()
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR]).expanduser()
    return data_dir / DEFAULT_SUBFOLDER


def stamp_of(name: str) -> datetime | None:
    match = NAME_RE.match(name)
    if not match:
        return None
    return datetime.strptime(match.group(2), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def owner_of(name: str) -> str | None:
    """The folder id a backup is named by (None: a name from before folder ids, or not ours)."""
    match = NAME_RE.match(name)
    return match.group(1) if match else None


def backups_in(folder: Path) -> list[Path]:
    """Every kapsession backup in a folder, whichever data folder made it, oldest first."""
    try:
        found = [p for p in folder.iterdir() if stamp_of(p.name) is not None]
    except OSError:
        return []
    return sorted(found, key=lambda p: (stamp_of(p.name), p.name))


def backups_of(folder: Path, owner: str | None) -> list[Path]:
    """The backups a data folder made (named by its id; None: those named without one)."""
    return [p for p in backups_in(folder) if owner_of(p.name) == owner]


def beside_name(name: str, owner: str | None) -> str:
    """What a data folder's file (one of KEPT_BESIDE) is called beside its backups."""
    if owner is None:
        return name
    stem, dot, suffix = name.partition(".")
    return f"{stem}-{owner}{dot}{suffix}"


def key_file_beside(backup: Path) -> Path:
    """The key file copy that belongs to a backup: its folder's, by the id in its name."""
    return backup.parent / beside_name(datakey.KEY_FILE, owner_of(backup.name))


def owner_of_store(store: Store) -> str | None:
    return schema.folder_id(store.db.conn)


def to_prune(names: Iterable[str], now: datetime) -> list[str]:
    """The retention rule as a pure function of file names and the time."""
    stamped = {n: s for n in names if (s := stamp_of(n)) is not None}
    keep = {n for n, s in stamped.items() if now - s < timedelta(days=KEEP_ALL_DAYS)}
    newest_of_day: dict[str, str] = {}
    for n, s in sorted(stamped.items(), key=lambda item: (item[1], item[0])):
        newest_of_day[s.strftime("%Y-%m-%d")] = n
    for day in sorted(newest_of_day, reverse=True)[:KEEP_DAILY]:
        keep.add(newest_of_day[day])
    return sorted(n for n in stamped if n not in keep)


def verify_connection(
    conn: sqlite3.Connection, chain_keys: list[chain_key.ChainKey] | None = None
) -> audit.Report:
    """Everything `verify` checks in one database: its schema against the one this version
    creates at its migration level (first, as a hostile schema makes the rest meaningless),
    then integrity, foreign keys and the whole audit chain."""
    differences = [audit.Problem("schema", d) for d in schema_match.differences(conn)]
    try:
        report = audit.verify(conn, chain_keys)
        report.problems += [audit.Problem("audit", p) for p in _restore_points(conn)[1]]
    except (sqlite3.Error, TypeError, ValueError):
        if not differences:
            raise
        report = audit.Report()  # a foreign schema can make the trail unreadable: said above
    report.problems[:0] = differences
    return report


def holds_records(conn: sqlite3.Connection) -> bool:
    try:
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM clients) OR EXISTS (SELECT 1 FROM sessions)"
        ).fetchone()
    except sqlite3.OperationalError:  # no such table
        return False
    return bool(row[0])


def verify_file(
    path: Path, key: bytes | None = None, chain_keys: list[chain_key.ChainKey] | None = None
) -> Verified:
    """The schema, integrity_check, foreign keys and the whole audit chain of a database file,
    read-only (an encrypted one with its data key: WrongKey if it is not the key it was made
    with). The chain key: derived from the data key, or the folder's chain key file kept
    beside the backup."""
    conn = _connect_readonly(path, key)
    try:
        if chain_keys is None:
            chain_keys = beside_chain_keys(path, key if not is_plaintext(path) else None)
        report = verify_connection(conn, chain_keys)
        owner, records = schema.folder_id(conn), holds_records(conn)
    finally:
        conn.close()
    return Verified(
        report.entries,
        sum(report.rows.values()),
        (report.head_id, report.head),
        [str(p) for p in report.problems],
        owner,
        records,
    )


def _parse_at(text: object) -> datetime | None:
    """An audit entry's time, or None when it is not a UTC ISO-8601 time."""
    if not isinstance(text, str) or not text.endswith("Z"):
        return None
    try:
        at = datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError:
        return None
    return at


def _restore_points(conn: sqlite3.Connection) -> tuple[list[tuple[int, str, datetime]], list[str]]:
    """Where this database's history was replaced by a restore: (id, prev_hash, at) of each
    `restore` entry, and a problem for each whose fields cannot be read."""
    points, problems = [], []
    for entry_id, prev_hash, at in conn.execute(
        "SELECT id, prev_hash, at FROM audit WHERE action = 'restore' ORDER BY id"
    ):
        when = _parse_at(at)
        if not isinstance(entry_id, int) or not isinstance(prev_hash, str) or when is None:
            problems.append(f"audit #{entry_id} (restore): its time or link is not valid")
            continue
        points.append((entry_id, prev_hash, when))
    return points, problems


def _head_and_first(path: Path, key: bytes | None) -> tuple[tuple[int, str], str] | None:
    try:
        other = _connect_readonly(path, key)
        try:
            head = other.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
            first = other.execute("SELECT hash FROM audit WHERE id = 1").fetchone()
        finally:
            other.close()
    except (sqlite3.Error, WrongKey, DataFolderError):
        return None  # an unreadable backup is the backup's problem, reported when it is used
    if not head or not first or not isinstance(head[0], int) or not isinstance(head[1], str):
        return None
    return (head[0], head[1]), str(first[0])


def _contains(path: Path, key: bytes | None, entry_id: int, entry_hash: str) -> bool:
    try:
        other = _connect_readonly(path, key)
        try:
            return audit.chain_contains(other, entry_id, entry_hash)
        finally:
            other.close()
    except (sqlite3.Error, WrongKey, DataFolderError):
        return False


def cross_check(
    conn: sqlite3.Connection, folder: Path, newest: int = 3, key: bytes | None = None
) -> list[audit.Problem]:
    """Hold the database's trail against the folder's own newest backups: each backup's last
    audit entry must still be in the database, unchanged. This catches what the chain alone
    cannot: the newest entries cut off together with their rows, or the whole trail rebuilt.

    A backup made before a restore may hold a history the restore abandoned. It is excused
    only by the restore that branched off it, as the backups themselves show it: a `restore`
    entry whose predecessor is the head of one of the folder's backups (the one restored),
    an entry the excused backup's own chain also holds, made after that backup. No entry
    elsewhere can switch the check off, and one whose fields cannot be read excuses nothing
    (verify_connection reports it)."""
    points = _restore_points(conn)[0]
    first_row = conn.execute("SELECT hash FROM audit WHERE id = 1").fetchone()
    owner = schema.folder_id(conn)
    own = backups_of(folder, owner) if owner is not None else []
    candidates = sorted(own + backups_of(folder, None), key=lambda p: (stamp_of(p.name), p.name))
    heads: dict[Path, tuple[int, str]] = {}
    for made in candidates:
        found = _head_and_first(made, key)
        if found is None:
            continue  # an unreadable backup is the backup's problem, reported when it is used
        if owner_of(made.name) is None and (not first_row or found[1] != first_row[0]):
            continue  # a backup from before folder ids, of another history: not this folder's
        heads[made] = found[0]
    restored_heads = set(heads.values())
    problems = []
    for made in list(heads)[-newest:]:
        head_id, head_hash = heads[made]
        if audit.chain_contains(conn, head_id, head_hash):
            continue
        stamp = stamp_of(made.name)
        excused = any(
            (entry_id - 1, prev_hash) in restored_heads
            and stamp is not None
            and stamp <= at
            and head_id >= entry_id
            and _contains(made, key, entry_id - 1, prev_hash)
            for entry_id, prev_hash, at in points
        )
        if not excused:
            problems.append(
                audit.Problem(
                    f"audit #{head_id}",
                    f"recorded in backup {made.name} but not in this database as it was "
                    "(entries cut off or rewritten since)",
                )
            )
    return problems


def _integrity_ok(problems: list[str]) -> bool:
    return not any(p.startswith(("integrity_check", "foreign_key_check")) for p in problems)


def _open_target(path: Path, key: bytes | None = None) -> sqlite3.Connection:
    """The backup file's connection: keyed like the source when the source is encrypted, so
    the backup is encrypted from its first page on."""
    if key is None:
        return sqlite3.connect(str(path))
    return cast(sqlite3.Connection, _CipherConnection(_open_encrypted(path, key)))


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy(source: Path, dest: Path, key: bytes | None = None) -> None:
    """One consistent snapshot through the online backup API (writers in WAL mode go on).
    With a key the copy is encrypted with it: an encrypted source page by page between two
    keyed connections; a plaintext one (a backup from before encryption) through
    sqlcipher_export into the keyed file, so no plaintext copy is written either way."""
    if key is not None and is_plaintext(source):
        _export_encrypted(source, dest, key)
        return
    src = _connect_readonly(source, key)
    try:
        dst = _open_target(dest, key)
        try:
            # The file is a throwaway until verified and renamed: no journal beside it.
            dst.execute("PRAGMA journal_mode = OFF")
            src.backup(dst)
            # A standalone single file: no -wal/-shm needed to read it, even read-only.
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def _export_encrypted(source: Path, dest: Path, key: bytes) -> None:
    from urllib.parse import quote

    conn: Any = _open_encrypted(dest, key, uri=False)
    try:
        try:
            conn.isolation_level = None
            conn.execute("PRAGMA journal_mode = OFF")
            uri = "file:" + quote(str(source.resolve())) + "?mode=ro"
            conn.execute("ATTACH DATABASE ? AS plain KEY ''", [uri])
            version = int(conn.execute("PRAGMA plain.user_version").fetchone()[0])
            conn.execute("SELECT sqlcipher_export('main', 'plain')")
            conn.execute(f"PRAGMA main.user_version = {version}")
            conn.execute("DETACH DATABASE plain")
            conn.execute("PRAGMA journal_mode = DELETE")
        except _cipher_errors() as exc:
            raise _translated(exc) from None
    finally:
        conn.close()


def beside_chain_keys(backup: Path, key: bytes | None) -> list[chain_key.ChainKey]:
    """The chain keys a backup may have been keyed with: derived from its data key, and its
    folder's chain key file kept beside it (named by the folder's id; an old-style name
    without an id finds the plain `kapsession.chainkey`)."""
    found = chain_key.candidates(None, key)
    beside = backup.parent / beside_name(chain_key.FILE_NAME, owner_of(backup.name))
    with contextlib.suppress(DataFolderError):  # damaged: verify says the chain was not checked
        own = chain_key.read_at(beside)
        if own is not None:
            found.append(own)
    return found


def _keep_beside(data_dir: Path, target: Path, owner: str | None) -> None:
    """The folder's key files beside its backups, named by its id (wrapped by the passphrase;
    the backup cannot be opened without them). Rewritten when they changed since (e.g. a new
    passphrase); another folder's copies are never touched."""
    for name in KEPT_BESIDE:
        source = data_dir / name
        if not source.exists():
            continue
        current = source.read_bytes()
        copy = target / beside_name(name, owner)
        if copy.resolve() == source.resolve():
            continue
        with contextlib.suppress(FileNotFoundError):
            if copy.read_bytes() == current:
                continue
        datakey.write_private_atomically(copy, current)


def _restore_chain_keys(
    backup: Path, data_dir: Path, key: bytes | None
) -> list[chain_key.ChainKey]:
    """The keys the restored copy's chain may use. A backup whose chain is keyed says which by
    its marker: derived from the data key, the folder's own file or the one kept beside the
    backup. A backup from before the chain was keyed gets its marker now, with the data key's
    derivation (encrypted) or a new key of its own (plain): never the folder's current file,
    whose record of where its chain starts belongs to the database being replaced."""
    derived = chain_key.candidates(None, key)
    conn = _connect_readonly(backup, key if not is_plaintext(backup) else None)
    try:
        marked = audit.marker_of(conn) is not None
    finally:
        conn.close()
    if not marked:
        return derived or [chain_key.ChainKey(secrets.token_bytes(chain_key.KEY_BYTES))]
    # A damaged own file counts as missing: the one beside the backup may do.
    return chain_key.readable_candidates(data_dir, key) + beside_chain_keys(backup, None)


def _install_chain_key(
    data_dir: Path,
    used: bytes | None,
    anchor: tuple[int, str] | None,
    key: bytes | None,
    aside_suffix: str,
) -> None:
    """The restored chain's key into the folder, unless it is the data key's derivation or
    already the folder's own file; the folder's own is kept aside with the replaced database
    (chain_key.candidates reads such set-aside keys too, so a kill between this and the swap
    leaves a folder that opens with whichever database is in place)."""
    if used is None or used in (c.key for c in chain_key.candidates(None, key)):
        return
    own_file = chain_key.path(data_dir)
    with contextlib.suppress(DataFolderError):
        own = chain_key.read(data_dir)
        if own is not None and own.key == used:
            return
    if own_file.exists():
        os.replace(own_file, data_dir / (chain_key.FILE_NAME + (aside_suffix or ".replaced")))
    chain_key.write(data_dir, chain_key.ChainKey(used, anchor))


def is_partial(name: str, prefix: str = PARTIAL_PREFIX) -> bool:
    """A backup's (or restore's) temp file, or a journal SQLite kept beside it."""
    return name.startswith(prefix) and PARTIAL_SUFFIX in name


def _hold(fd: int) -> bool:
    """Take the writer's lock on a temp file (released by the kernel when its process dies);
    False when someone else holds it."""
    if os.name == "nt":
        return True  # Windows refuses to delete a file that is open: that is the guard there
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _sweep_partials(folder: Path, prefix: str = PARTIAL_PREFIX) -> None:
    """Leftovers of a backup (or restore) that was killed mid-way: never under a backup's
    name, removed here. A temp file whose writer is still running (it holds its lock: another
    process or thread backing up at the same time) is left alone."""
    with contextlib.suppress(OSError):
        for p in folder.iterdir():
            if not is_partial(p.name, prefix):
                continue
            base = p.with_name(p.name[: p.name.index(PARTIAL_SUFFIX) + len(PARTIAL_SUFFIX)])
            try:
                fd = os.open(base, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            except OSError:
                fd = None  # its main file is gone: a journal left on its own
            try:
                if fd is None or _hold(fd):
                    with contextlib.suppress(OSError):
                        p.unlink()
            finally:
                if fd is not None:
                    os.close(fd)


def _new_partial(folder: Path, prefix: str) -> tuple[int, Path]:
    """A temp file named by this process, locked by it until closed. It is created under a
    name no sweep looks at and renamed only once locked: a concurrent sweep never sees it
    unlocked."""
    fd, name = tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}-", suffix=".new", dir=folder)
    try:
        _hold(fd)
        partial = Path(name[: -len(".new")] + PARTIAL_SUFFIX)
        os.replace(name, partial)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return fd, partial


def _publish(tmp: Path, folder: Path, base: str) -> Path:
    """Give the verified temp file its final name, never over another backup: a hard link
    fails if the name is taken (a concurrent backup in the same second), then -2, -3..."""
    n = 1
    while True:
        final = folder / (f"{base}.sqlite3" if n == 1 else f"{base}-{n}.sqlite3")
        try:
            os.link(tmp, final)
        except FileExistsError:
            n += 1
            continue
        except OSError:  # no hard links on this file system (FAT, some shares)
            if final.exists():
                n += 1
                continue
            os.replace(tmp, final)
            return final
        tmp.unlink()
        return final


def _prepare_target(folder: Path) -> None:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(
            f"Cannot create the backup folder {folder}: {exc.strerror or exc}."
        ) from None
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise BackupError(f"The backup folder {folder} cannot be written.")


def create(data_dir: Path, target: Path, now: datetime, key: bytes | None = None) -> BackupResult:
    """Back up the data folder's database into `target`; returns after the verified file has
    its final name. Raises BackupError (with nothing left under a backup's name) otherwise.
    An encrypted folder needs its data key (the open Store's): the backup is encrypted with it."""
    source = data_dir / DB_NAME
    if not source.is_file():
        raise BackupError(f"There is no kapsession database in {data_dir} to back up.")
    if key is None and datakey.has_key_file(data_dir):
        raise NeedsKey(f"The data in {data_dir} is encrypted; its key is needed to back it up.")
    _prepare_target(target)
    _sweep_partials(target)
    try:
        fd, tmp = _new_partial(target, PARTIAL_PREFIX)
    except OSError as exc:
        raise BackupError(f"Cannot write to {target}: {exc.strerror or exc}.") from None
    try:
        _copy(source, tmp, key)
        os.chmod(tmp, 0o600)
        _fsync_file(tmp)
        verified = verify_file(tmp, key, chain_key.readable_candidates(data_dir, key))
        if key is not None and is_plaintext(tmp):  # cannot happen; never keep one if it did
            raise BackupError("The backup was not encrypted and was discarded.")
        if not _integrity_ok(verified.problems):
            raise BackupError(
                "The backup did not pass SQLite's integrity check and was discarded: "
                + verified.problems[0]
            )
        owner = verified.owner
        _keep_beside(data_dir, target, owner)
        stamp = f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
        final = _publish(
            tmp, target, f"kapsession-{owner}-{stamp}" if owner else f"kapsession-{stamp}"
        )
        _fsync_dir(target)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise BackupError(f"The backup to {target} failed ({detail}).") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    finally:
        os.close(fd)  # drops the writer's lock, only after the temp name is gone
    pruned = []
    for name in to_prune((p.name for p in backups_of(target, owner)), now):
        with contextlib.suppress(OSError):
            (target / name).unlink()
            pruned.append(target / name)
    return BackupResult(final, verified, pruned)


def due(target: Path, now: datetime, after_session: bool, owner: str | None = None) -> bool:
    """After every session; otherwise once the folder's newest backup is DAILY_EVERY old (or
    it has none). `owner` is the folder's id (owner_of_store): another folder's backups in the
    same place do not count."""
    if after_session:
        return True
    newest = backups_of(target, owner)
    if not newest:
        return True
    stamp = stamp_of(newest[-1].name)
    return stamp is None or now - stamp >= DAILY_EVERY


def maybe_backup(
    data_dir: Path,
    target: Path,
    now: datetime,
    after_session: bool = False,
    key: bytes | None = None,
) -> BackupResult | None:
    """What the app calls after each session ends and periodically: a backup when one is due.
    Opens its own connections, so it can run on a worker thread; the caller records it on the
    audit trail (record()) from the thread that owns the Store."""
    if not after_session:
        conn = _connect_readonly(data_dir / DB_NAME, key)
        try:
            owner = schema.folder_id(conn)
        finally:
            conn.close()
        if not due(target, now, after_session, owner):
            return None
    return create(data_dir, target, now, key)


def record(store: Store, result: BackupResult) -> None:
    store.audit(
        "backup",
        "database",
        detail=f"{result.path.name}: {result.verified.entries} audit entries verified",
    )


def _set_aside(db: Path, aside: Path, key: bytes | None = None) -> None:
    """Keep the current database as `aside`, whole, such that a kill at any moment leaves a
    database in place: its WAL is checkpointed into it (we hold the folder's lock, so no app
    writes), a copy is written beside it under a temp name and renamed, and only the then-empty
    -wal/-shm are removed. A database too damaged for that is moved aside with its -wal instead."""
    tmp = aside.with_name(f"{RESTORE_PREFIX}aside-{os.getpid()}{PARTIAL_SUFFIX}")
    keyed = key if key is not None and not is_plaintext(db) else None  # kept as it is
    try:
        if keyed is None:
            conn = sqlite3.connect(str(db), isolation_level=None)
        else:
            conn = _open_target(db, keyed)
            conn.isolation_level = None
        try:
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if busy:
                raise RestoreError(
                    "Another kapsession command is using the database; try again when it is done."
                )
            dst = _open_target(tmp, keyed)
            try:
                dst.execute("PRAGMA journal_mode = OFF")
                conn.backup(dst)
                dst.execute("PRAGMA journal_mode = DELETE")
            finally:
                dst.close()
        finally:
            conn.close()
        os.chmod(tmp, 0o600)
        _fsync_file(tmp)
        os.replace(tmp, aside)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                db.with_name(db.name + suffix).unlink()
    except (sqlite3.DatabaseError, WrongKey):
        with contextlib.suppress(OSError):
            tmp.unlink()
        for suffix in ("-wal", ""):  # the -wal first: a damaged db never meets a stale log
            part = db.with_name(db.name + suffix)
            if part.exists():
                os.replace(part, aside.with_name(aside.name + suffix))
        with contextlib.suppress(OSError):
            db.with_name(db.name + "-shm").unlink()


def restore(
    backup: Path,
    data_dir: Path,
    now: datetime,
    replace: bool = False,
    key: bytes | None = None,
    key_file: Path | None = None,
    encrypt_plaintext: bool = False,
) -> RestoreResult:
    """Put a verified backup in place of the data folder's database. Refuses while the app has
    the folder open, refuses to replace a database unless `replace`, and keeps the replaced one
    beside it as kapsession.sqlite3.replaced-<UTC stamp>. Everything is checked before anything
    is replaced: the backup itself (schema, integrity, audit chain), then its copy in the data
    folder once migrated and opened by this version. A kill at any moment leaves the old or the
    restored database in place, never none.

    An empty record (no client, no session) never replaces one that holds any: it cannot be
    the recovery a clinic is after, and it would put a verifying but empty record in its place.

    Encryption: `key` is the data key. A folder with a key file needs it and a backup made
    with that key; a plaintext backup is refused there unless `encrypt_plaintext` (then it is
    encrypted with the key on the way in). A folder without one takes an encrypted backup only
    with `key_file` (the key file it was made with, kept beside the backups), which is
    installed in the folder just before the database."""
    if not backup.is_file():
        raise RestoreError(f"There is no backup file at {backup}.")
    folder_keyed = datakey.has_key_file(data_dir)
    plain_backup = is_plaintext(backup)
    if folder_keyed:
        if key is None:
            raise NeedsKey(f"The data in {data_dir} is encrypted; its passphrase is needed.")
        if datakey.key_id(key) != datakey.read_key_file(data_dir).key_id:
            raise RestoreError("That key is not this data folder's key; nothing was restored.")
        if plain_backup and not encrypt_plaintext:
            raise RestoreError(
                f"{backup.name} is not encrypted and the data in {data_dir} is; nothing was "
                "restored. To restore it encrypted with this folder's key, run again with "
                "--encrypt-plaintext."
            )
    elif key is not None and not plain_backup:
        if key_file is None or datakey.read_key_at(key_file).key_id != datakey.key_id(key):
            raise RestoreError(
                "The backup is encrypted and the data folder has no key file: the key file it "
                "was made with (kept beside the backups) is needed."
            )
    elif not plain_backup:
        raise RestoreError(
            f"{backup.name} is encrypted (or not a database): its passphrase is needed, with the "
            "key file kept beside it or in the data folder."
        )
    verified = _checked_backup(backup, key)
    # Into a plaintext folder, a plaintext backup stays plaintext; anything keyed is keyed.
    target_key = key if (folder_keyed or not plain_backup) else None
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise RestoreError(f"Cannot create {data_dir}: {exc.strerror or exc}.") from None
    lock = InstanceLock(data_dir)
    lock.acquire()  # AlreadyOpenError: the app is using this folder
    try:
        db = data_dir / DB_NAME
        if db.exists() and not replace:
            raise RestoreError(
                f"{data_dir} already holds a kapsession database; restoring would replace it. "
                "Run again with --yes to replace it (the current one is kept aside)."
            )
        if db.exists() and not verified.holds_records and _current_holds_records(db, key):
            raise RestoreError(
                f"{backup.name} holds no client and no session, and the database in "
                f"{data_dir} does; an empty record never replaces one. Nothing was restored."
            )
        _sweep_partials(data_dir, RESTORE_PREFIX)
        fd, tmp = _new_partial(data_dir, RESTORE_PREFIX)
        try:
            _copy(backup, tmp, target_key)
            os.chmod(tmp, 0o600)
            aside = _aside_name(db, now) if db.exists() else None
            detail = f"from {backup.name}" + (f"; replaced kept as {aside.name}" if aside else "")
            if target_key is not None and plain_backup:
                detail += "; encrypted on the way in"
            chains = _restore_chain_keys(backup, data_dir, target_key)
            used, anchor = _open_and_record(tmp, target_key, now, detail, backup.name, chains)
            _fsync_file(tmp)
            if target_key is not None and not folder_keyed:
                # The key file first: a kill after it leaves a folder whose key opens the
                # restored database (or encrypts the old plaintext one at the next open).
                assert key_file is not None
                datakey.write_private_atomically(datakey.key_path(data_dir), key_file.read_bytes())
            if aside is not None:
                _set_aside(db, aside, key)
            suffix = aside.name[len(DB_NAME) :] if aside else ""
            _install_chain_key(data_dir, used, anchor, target_key, suffix)
            os.replace(tmp, db)
            _fsync_dir(data_dir)
        except BaseException:
            for leftover in (
                tmp,
                tmp.with_name(tmp.name + "-wal"),
                tmp.with_name(tmp.name + "-shm"),
            ):
                with contextlib.suppress(OSError):
                    leftover.unlink()
            raise
        finally:
            os.close(fd)
        privacy.tighten(data_dir)
        return RestoreResult(backup, aside, verified)
    finally:
        lock.release()


def _checked_backup(backup: Path, key: bytes | None) -> Verified:
    """The backup file verified as it is (schema, integrity, chain), or RestoreError."""
    try:
        verified = verify_file(backup, key)
    except WrongKey:
        raise RestoreError(
            f"{backup.name} was not made with this key (another data folder's backup?); "
            "nothing was restored."
        ) from None
    except sqlite3.DatabaseError:
        raise RestoreError(f"{backup} is not a readable kapsession backup.") from None
    except DataFolderError as exc:
        raise RestoreError(str(exc)) from None
    if verified.problems:
        raise RestoreError(
            f"{backup.name} did not verify, so it was not restored: {verified.problems[0]}"
        )
    return verified


def _current_holds_records(db: Path, key: bytes | None) -> bool:
    """Whether the database about to be replaced holds anything (an unreadable one: assume so)."""
    try:
        conn = _connect_readonly(db, key if key is not None and not is_plaintext(db) else None)
    except (sqlite3.Error, KapsessionError):
        return True
    try:
        return holds_records(conn)
    except sqlite3.Error:
        return True
    finally:
        conn.close()


def _aside_name(db: Path, now: datetime) -> Path:
    stamp = f"{DB_NAME}.replaced-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    aside, n = db.with_name(stamp), 1
    while aside.exists():  # two restores in one second keep both
        n += 1
        aside = db.with_name(f"{stamp}-{n}")
    return aside


def _open_and_record(
    copy: Path,
    key: bytes | None,
    now: datetime,
    detail: str,
    name: str,
    chains: list[chain_key.ChainKey],
) -> tuple[bytes | None, tuple[int, str] | None]:
    """The restored copy, still under its temp name, opened the way the app opens its
    database: migrated to this version's schema, checked again (schema at the new level,
    chain) and given its `restore` audit entry. Anything this version cannot open or that
    does not verify is refused here, before the current database is touched."""
    try:
        db = connect(copy, key)
    except (sqlite3.Error, KapsessionError) as exc:
        raise RestoreError(
            f"{name} cannot be opened by this version ({exc}); nothing was restored."
        ) from None
    try:
        try:
            store = Store(db, chain_keys=chains)  # applies pending migrations
        except DataFolderError:
            raise RestoreError(
                f"{name}'s audit trail is keyed with a chain key that is neither this folder's "
                f"nor kept beside it ({chain_key.FILE_NAME}); nothing was restored."
            ) from None
        report = verify_connection(db.conn, chains)
        if report.problems:
            raise RestoreError(
                f"{name} did not verify once brought up to date, so it was not restored: "
                f"{report.problems[0]}"
            )
        store.audit("restore", "database", at=now, detail=detail)
        # One standalone file before the rename: nothing it holds may stay in a -wal beside
        # the temp name.
        db.execute("PRAGMA journal_mode = DELETE")
        marker = audit.marker_of(db.conn)
        anchor = (int(marker.id), str(marker.prev_hash)) if marker is not None else None
        return store.chain.key, anchor  # the key its chain uses, and where the keyed part starts
    except sqlite3.Error as exc:
        raise RestoreError(
            f"{name} cannot be brought up to date by this version ({type(exc).__name__}); "
            "nothing was restored."
        ) from None
    finally:
        db.close()
