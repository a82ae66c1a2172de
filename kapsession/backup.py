"""Backups and restore: SQLite's online backup API to a folder the clinic chooses, verified before
the file gets its final name, with a retention rule.

A backup is one self-contained file, `kapsession-YYYYMMDDTHHMMSSZ.sqlite3` (UTC), in rollback
journal mode so it opens anywhere, even on read-only media. It is written as a hidden
`.kapsession-backup-*.partial` in the target folder, fsynced, checked (integrity_check and the
whole audit chain) and only then renamed; a crash or a kill at any moment leaves either no new
backup or a whole, verified one (plus at most a `.partial` the next backup sweeps away).

Retention (applied after each successful backup, only to files named like ours): every backup
of the last KEEP_ALL_DAYS days is kept; older ones keep the newest backup of each UTC day for the
KEEP_DAILY most recent such days; the rest are deleted. The newest backup is never deleted.

Encrypted data folders (a key file beside the database): the backup is a SQLCipher database
keyed with the same data key, copied page by page between two keyed connections, so no
plaintext byte is ever written (not even the .partial); it is verified with that key. A copy of
the folder's key file (the data key wrapped by the passphrase, useless without it) is kept as
`kapsession.key` beside the backups, so a backup on another drive can be verified and restored
on a new computer with the passphrase alone. Restore into a folder that has a key file requires
a backup made with that folder's data key; into a folder without one, the key file beside the
backup is installed first."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from . import audit, chain_key, hygiene, keys
from .errors import DataFolderError, KapsessionError, NeedsKey, WrongKey
from .instance import InstanceLock
from .paths import BACKUP_ENV_VAR, DB_NAME
from .store import (
    Store,
    _cipher_errors,
    _CipherConnection,
    _connect_readonly,
    _open_encrypted,
    _translated,
    is_plaintext,
)

ENV_VAR = BACKUP_ENV_VAR
DEFAULT_SUBFOLDER = "backups"
KEEP_ALL_DAYS = 7
KEEP_DAILY = 14
DAILY_EVERY = timedelta(hours=24)
NAME_RE = re.compile(r"^kapsession-(\d{8}T\d{6}Z)(?:-(\d+))?\.sqlite3$")
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
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def backups_in(folder: Path) -> list[Path]:
    """Our backups in a folder, oldest first."""
    try:
        found = [p for p in folder.iterdir() if stamp_of(p.name) is not None]
    except OSError:
        return []
    return sorted(found, key=lambda p: (stamp_of(p.name), p.name))


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


def verify_file(
    path: Path, key: bytes | None = None, chain_keys: list[chain_key.ChainKey] | None = None
) -> Verified:
    """integrity_check, foreign keys and the whole audit chain of a database file, read-only
    (an encrypted one with its data key: WrongKey if it is not the key it was made with). The
    chain key: derived from the data key, or the chain key file beside the file."""
    conn = _connect_readonly(path, key)
    try:
        if chain_keys is None:
            chain_keys = _chain_keys(path.parent, key if not is_plaintext(path) else None)
        report = audit.verify(conn, chain_keys)
    finally:
        conn.close()
    return Verified(
        report.entries,
        sum(report.rows.values()),
        (report.head_id, report.head),
        [str(p) for p in report.problems],
    )


def cross_check(
    conn: sqlite3.Connection, folder: Path, newest: int = 3, key: bytes | None = None
) -> list[audit.Problem]:
    """Hold the database's trail against its newest backups: each backup's last audit entry must
    still be in the database, unchanged. This catches what the chain alone cannot: the newest
    entries cut off together with their rows, or the whole trail rebuilt. Backups older than
    the last restore belong to another history and are skipped."""
    row = conn.execute("SELECT max(at) FROM audit WHERE action = 'restore'").fetchone()
    since = datetime.fromisoformat(row[0].replace("Z", "+00:00")) if row and row[0] else None
    candidates = [
        b for b in backups_in(folder) if since is None or (stamp_of(b.name) or since) > since
    ]
    problems = []
    for made in candidates[-newest:]:
        try:
            other = _connect_readonly(made, key)
            try:
                head = other.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")
                found = head.fetchone()
            finally:
                other.close()
        except (sqlite3.Error, WrongKey):
            continue  # an unreadable backup is the backup's problem, reported when it is used
        if found and not audit.chain_contains(conn, int(found[0]), str(found[1])):
            problems.append(
                audit.Problem(
                    f"audit #{found[0]}",
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


def _chain_keys(folder: Path, key: bytes | None) -> list[chain_key.ChainKey]:
    try:
        return chain_key.candidates(folder, key)
    except DataFolderError:  # a damaged chain key file: verify says the chain was not checked
        return chain_key.candidates(None, key)


# The folder's files kept beside its backups: the key file (wrapped by the passphrase; an
# encrypted backup cannot be opened without it) and the plain folder's audit chain key.
KEPT_BESIDE = (keys.KEY_FILE, chain_key.FILE_NAME)


def _keep_key_file(data_dir: Path, target: Path) -> None:
    """The folder's key files beside its backups; rewritten when they changed since."""
    for name in KEPT_BESIDE:
        own, copy = data_dir / name, target / name
        if not own.is_file() or copy.resolve() == own.resolve():
            continue
        current = own.read_bytes()
        with contextlib.suppress(FileNotFoundError):
            if copy.read_bytes() == current:
                continue
        keys.write_private_atomically(copy, current)


def _install_chain_key(backup: Path, data_dir: Path, aside_suffix: str, key: bytes | None) -> None:
    """The restored chain's key into the folder: the folder's own if it is that key (or the
    chain is keyed by the data key), else the one beside the backup; the folder's own is kept
    aside with the replaced database."""
    conn = _connect_readonly(backup, key)
    own = chain_key.read(data_dir) if chain_key.path(data_dir).is_file() else None
    try:
        marker = audit.marker_of(conn)
        derived = chain_key.candidates(None, key)
        if marker is not None and audit.key_of_marker(derived, marker):
            return
        beside = _chain_keys(backup.parent, None)
        if marker is None or (own is not None and audit.key_of_marker([own], marker)):
            return
        needed = audit.key_of_marker(beside, marker)
    finally:
        if conn is not None:
            conn.close()
    if own is not None:
        aside = data_dir / (chain_key.FILE_NAME + (aside_suffix or ".replaced"))
        os.replace(chain_key.path(data_dir), aside)
    if needed is not None:
        chain_key.write(data_dir, chain_key.ChainKey(needed))


def is_partial(name: str, prefix: str = PARTIAL_PREFIX) -> bool:
    """A killed backup's (or restore's) temp file, or a journal SQLite kept beside it."""
    return name.startswith(prefix) and PARTIAL_SUFFIX in name


def _sweep_partials(folder: Path, prefix: str = PARTIAL_PREFIX) -> None:
    """Leftovers of a backup that was killed mid-way: never under a backup's name, removed here."""
    with contextlib.suppress(OSError):
        for p in folder.iterdir():
            if is_partial(p.name, prefix):
                with contextlib.suppress(OSError):
                    p.unlink()


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
    if key is None and keys.has_key_file(data_dir):
        raise NeedsKey(f"The data in {data_dir} is encrypted; its key is needed to back it up.")
    _prepare_target(target)
    _sweep_partials(target)
    base = f"kapsession-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    final = target / f"{base}.sqlite3"
    n = 1
    while final.exists():
        n += 1
        final = target / f"{base}-{n}.sqlite3"
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=PARTIAL_PREFIX, suffix=PARTIAL_SUFFIX, dir=target)
    except OSError as exc:
        raise BackupError(f"Cannot write to {target}: {exc.strerror or exc}.") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _copy(source, tmp, key)
        os.chmod(tmp, 0o600)
        _fsync_file(tmp)
        verified = verify_file(tmp, key, _chain_keys(data_dir, key))
        if key is not None and is_plaintext(tmp):  # cannot happen; never keep one if it did
            raise BackupError("The backup was not encrypted and was discarded.")
        if not _integrity_ok(verified.problems):
            raise BackupError(
                "The backup did not pass SQLite's integrity check and was discarded: "
                + verified.problems[0]
            )
        _keep_key_file(data_dir, target)
        os.replace(tmp, final)
        _fsync_dir(target)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise BackupError(f"The backup to {target} failed ({detail}).") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    pruned = []
    for name in to_prune((p.name for p in backups_in(target)), now):
        with contextlib.suppress(OSError):
            (target / name).unlink()
            pruned.append(target / name)
    return BackupResult(final, verified, pruned)


def due(target: Path, now: datetime, after_session: bool) -> bool:
    """After every session; otherwise once the newest backup is DAILY_EVERY old (or none)."""
    if after_session:
        return True
    newest = backups_in(target)
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
    if not due(target, now, after_session):
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
) -> RestoreResult:
    """Put a verified backup in place of the data folder's database. Refuses while the app has
    the folder open, refuses to replace a database unless `replace`, and keeps the replaced one
    beside it as kapsession.sqlite3.replaced-<UTC stamp>. A kill at any moment leaves the old or
    the restored database in place, never none.

    Encryption: `key` is the data key. A folder with a key file needs it (and a backup made
    with that key, or a plaintext one, which is encrypted with it on the way in); a folder
    without one takes an encrypted backup only with `key_file` (the key file it was made with,
    e.g. the one beside the backups), which is installed in the folder before the database."""
    if not backup.is_file():
        raise RestoreError(f"There is no backup file at {backup}.")
    folder_keyed = keys.has_key_file(data_dir)
    if folder_keyed:
        if key is None:
            raise NeedsKey(f"The data in {data_dir} is encrypted; its passphrase is needed.")
        if keys.key_id(key) != keys.read_key_file(data_dir).key_id:
            raise RestoreError("That key is not this data folder's key; nothing was restored.")
    elif key is not None and not is_plaintext(backup):
        if key_file is None or keys.read_key_file(key_file.parent).key_id != keys.key_id(key):
            raise RestoreError(
                "The backup is encrypted and the data folder has no key file: the key file it "
                "was made with (kapsession.key, kept beside the backups) is needed."
            )
    elif not is_plaintext(backup):
        raise RestoreError(
            f"{backup.name} is encrypted (or not a database): its passphrase is needed, with the "
            "key file kept beside it or in the data folder."
        )
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
    # Into a plaintext folder, a plaintext backup stays plaintext; anything keyed is keyed.
    target_key = key if (folder_keyed or not is_plaintext(backup)) else None
    if verified.problems:
        raise RestoreError(
            f"{backup.name} did not verify, so it was not restored: {verified.problems[0]}"
        )
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
        _sweep_partials(data_dir, RESTORE_PREFIX)
        fd, tmp_name = tempfile.mkstemp(prefix=RESTORE_PREFIX, suffix=PARTIAL_SUFFIX, dir=data_dir)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            if target_key is not None and not folder_keyed:
                # The key file first: a kill after it leaves a folder whose key opens the
                # restored database (or encrypts the old plaintext one at the next open).
                assert key_file is not None
                keys.write_private_atomically(keys.key_path(data_dir), key_file.read_bytes())
            _copy(backup, tmp, target_key)
            os.chmod(tmp, 0o600)
            _fsync_file(tmp)
            aside = None
            if db.exists():
                stamp = f"{DB_NAME}.replaced-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
                aside, n = db.with_name(stamp), 1
                while aside.exists():  # two restores in one second keep both
                    n += 1
                    aside = db.with_name(f"{stamp}-{n}")
                _set_aside(db, aside, key)
            _install_chain_key(backup, data_dir, aside.name[len(DB_NAME) :] if aside else "", key)
            os.replace(tmp, db)
            _fsync_dir(data_dir)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        # Brings an older backup's schema up to date (and encrypts an old plaintext database
        # left by a kill just after the key file was installed).
        store = Store.open(data_dir, create=False, key=target_key)
        try:
            detail = f"from {backup.name}" + (f"; replaced kept as {aside.name}" if aside else "")
            store.audit("restore", "database", at=now, detail=detail)
        finally:
            store.close()
        hygiene.tighten(data_dir)
        return RestoreResult(backup, aside, verified)
    finally:
        lock.release()
