"""Backups and restore: SQLite's online backup API to a folder the clinic chooses, verified before
the file gets its final name, with a retention rule.

A backup is one self-contained file, `kapsession-YYYYMMDDTHHMMSSZ.sqlite3` (UTC), in rollback
journal mode so it opens anywhere, even on read-only media. It is written as a hidden
`.kapsession-backup-*.partial` in the target folder, fsynced, checked (integrity_check and the
whole audit chain) and only then renamed; a crash or a kill at any moment leaves either no new
backup or a whole, verified one (plus at most a `.partial` the next backup sweeps away).

Retention (applied after each successful backup, only to files named like ours): every backup
of the last KEEP_ALL_DAYS days is kept; older ones keep the newest backup of each UTC day for the
KEEP_DAILY most recent such days; the rest are deleted. The newest backup is never deleted."""

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

from . import audit, hygiene
from .errors import DataFolderError, KapsessionError
from .instance import InstanceLock
from .paths import BACKUP_ENV_VAR, DB_NAME
from .store import Store, _connect_readonly

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


def verify_file(path: Path) -> Verified:
    """integrity_check, foreign keys and the whole audit chain of a database file, read-only."""
    conn = _connect_readonly(path)
    try:
        report = audit.verify(conn)
    finally:
        conn.close()
    return Verified(
        report.entries,
        sum(report.rows.values()),
        (report.head_id, report.head),
        [str(p) for p in report.problems],
    )


def cross_check(conn: sqlite3.Connection, folder: Path, newest: int = 3) -> list[audit.Problem]:
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
            other = _connect_readonly(made)
            try:
                head = other.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")
                found = head.fetchone()
            finally:
                other.close()
        except sqlite3.Error:
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


def _open_target(path: Path) -> sqlite3.Connection:
    """The backup file's connection. (With encryption at rest it must be keyed like the source,
    so the backup stays encrypted.)"""
    return sqlite3.connect(str(path))


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


def _copy(source: Path, dest: Path) -> None:
    """One consistent snapshot through the online backup API (writers in WAL mode go on)."""
    src = _connect_readonly(source)
    try:
        dst = _open_target(dest)
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


def create(data_dir: Path, target: Path, now: datetime) -> BackupResult:
    """Back up the data folder's database into `target`; returns after the verified file has
    its final name. Raises BackupError (with nothing left under a backup's name) otherwise."""
    source = data_dir / DB_NAME
    if not source.is_file():
        raise BackupError(f"There is no kapsession database in {data_dir} to back up.")
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
        _copy(source, tmp)
        os.chmod(tmp, 0o600)
        _fsync_file(tmp)
        verified = verify_file(tmp)
        if not _integrity_ok(verified.problems):
            raise BackupError(
                "The backup did not pass SQLite's integrity check and was discarded: "
                + verified.problems[0]
            )
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
    data_dir: Path, target: Path, now: datetime, after_session: bool = False
) -> BackupResult | None:
    """What the app calls after each session ends and periodically: a backup when one is due.
    Opens its own connections, so it can run on a worker thread; the caller records it on the
    audit trail (record()) from the thread that owns the Store."""
    if not due(target, now, after_session):
        return None
    return create(data_dir, target, now)


def record(store: Store, result: BackupResult) -> None:
    store.audit(
        "backup",
        "database",
        detail=f"{result.path.name}: {result.verified.entries} audit entries verified",
    )


def _set_aside(db: Path, aside: Path) -> None:
    """Keep the current database as `aside`, whole, such that a kill at any moment leaves a
    database in place: its WAL is checkpointed into it (we hold the folder's lock, so no app
    writes), a copy is written beside it under a temp name and renamed, and only the then-empty
    -wal/-shm are removed. A database too damaged for that is moved aside with its -wal instead."""
    tmp = aside.with_name(f"{RESTORE_PREFIX}aside-{os.getpid()}{PARTIAL_SUFFIX}")
    try:
        conn = sqlite3.connect(str(db), isolation_level=None)
        try:
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if busy:
                raise RestoreError(
                    "Another kapsession command is using the database; try again when it is done."
                )
            dst = _open_target(tmp)
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
    except sqlite3.DatabaseError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        for suffix in ("-wal", ""):  # the -wal first: a damaged db never meets a stale log
            part = db.with_name(db.name + suffix)
            if part.exists():
                os.replace(part, aside.with_name(aside.name + suffix))
        with contextlib.suppress(OSError):
            db.with_name(db.name + "-shm").unlink()


def restore(backup: Path, data_dir: Path, now: datetime, replace: bool = False) -> RestoreResult:
    """Put a verified backup in place of the data folder's database. Refuses while the app has
    the folder open, refuses to replace a database unless `replace`, and keeps the replaced one
    beside it as kapsession.sqlite3.replaced-<UTC stamp>. A kill at any moment leaves the old or
    the restored database in place, never none."""
    if not backup.is_file():
        raise RestoreError(f"There is no backup file at {backup}.")
    try:
        verified = verify_file(backup)
    except sqlite3.DatabaseError:
        raise RestoreError(f"{backup} is not a readable kapsession backup.") from None
    except DataFolderError as exc:
        raise RestoreError(str(exc)) from None
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
            _copy(backup, tmp)
            os.chmod(tmp, 0o600)
            _fsync_file(tmp)
            aside = None
            if db.exists():
                stamp = f"{DB_NAME}.replaced-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
                aside, n = db.with_name(stamp), 1
                while aside.exists():  # two restores in one second keep both
                    n += 1
                    aside = db.with_name(f"{stamp}-{n}")
                _set_aside(db, aside)
            os.replace(tmp, db)
            _fsync_dir(data_dir)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        store = Store.open(data_dir, create=False)  # brings an older backup's schema up to date
        try:
            detail = f"from {backup.name}" + (f"; replaced kept as {aside.name}" if aside else "")
            store.audit("restore", "database", at=now, detail=detail)
        finally:
            store.close()
        hygiene.tighten(data_dir)
        return RestoreResult(backup, aside, verified)
    finally:
        lock.release()
