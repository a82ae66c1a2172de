"""Durable storage: the one connection factory, and the store that opens a data folder's database
(and its audit trail) for the records kapsession keeps (kapsession.storage.records).

Every write returns only after SQLite's COMMIT returned with synchronous=FULL in WAL mode, so
whatever the caller shows as saved survives a crash, a kill or a power cut."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from kapsession.clock import Clock, SystemClock
from kapsession.errors import DataFolderError, NewerSchemaError

# Re-exported: what Store.open raises for an encrypted folder.
from kapsession.errors import NeedsKey as NeedsKey
from kapsession.errors import WrongKey as WrongKey
from kapsession.storage import audit as audit_trail
from kapsession.storage import chain_key, datakey, privacy, schema
from kapsession.storage.chain_key import ChainKey
from kapsession.storage.paths import DB_NAME

# Re-exported: the records and the timestamp format, where callers have always found them.
from kapsession.storage.records import Client as Client
from kapsession.storage.records import Event as Event
from kapsession.storage.records import Records, sqlite_utils_database
from kapsession.storage.records import SessionRecord as SessionRecord
from kapsession.storage.records import iso as iso
from kapsession.storage.records import parse_iso as parse_iso

if TYPE_CHECKING:
    from sqlite_utils import Database

BUSY_TIMEOUT_MS = 5000


def connect(path: Path | str, key: bytes | None = None) -> Database:
    """`open_connection` as a sqlite-utils Database (imported now: see `open_connection`)."""
    return sqlite_utils_database(open_connection(path, key))


def open_connection(path: Path | str, key: bytes | None = None) -> sqlite3.Connection:
    """The one way to open the database: WAL, synchronous=FULL, foreign keys, recursive
    triggers (as sqlite-utils sets them), a busy timeout and, on macOS, F_FULLFSYNC (plain
    fsync there does not reach the platter).

    A plain sqlite3 connection: sqlite-utils (and click, dateutil and pluggy, which it
    imports: ~100 ms) is imported only when something first writes through `Store.db` or a
    migration is pending, never on the way to the app's first paint. No plugin discovery
    either: no plugin may hook the clinical database.

    With a key, the database is SQLCipher's (sqlcipher3): the key is set before anything else
    is read, then checked by reading the schema; a key that does not open it raises WrongKey,
    and nothing ever falls back to plaintext."""
    memory = str(path) == ":memory:"
    conn: sqlite3.Connection
    if key is None:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    else:
        conn = cast(sqlite3.Connection, _CipherConnection(_open_encrypted(path, key)))
    try:
        conn.execute("PRAGMA recursive_triggers = ON")  # what sqlite-utils' Database sets
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")
        if sys.platform == "darwin":
            conn.execute("PRAGMA fullfsync = ON")
            conn.execute("PRAGMA checkpoint_fullfsync = ON")
        _refuse_newer_schema(conn)
        if not memory:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                mode = conn.execute("PRAGMA journal_mode = wal").fetchone()[0]
            if mode != "wal":
                raise DataFolderError(
                    f"The data folder's file system does not support SQLite's WAL mode ({mode})."
                )
    except BaseException:
        # A refused database must be let go at once: an open connection keeps -wal/-shm
        # files beside a database we promised to leave untouched, and holds the file open.
        conn.close()
        raise
    return conn


# --- encryption at rest (SQLCipher) --------------------------------------------------------------

SQLITE_HEADER = b"SQLite format 3\x00"
ENCRYPTING_SUFFIX = ".encrypting"


def _sqlcipher() -> Any:
    try:
        import sqlcipher3
    except ImportError:
        raise DataFolderError(datakey.UNAVAILABLE) from None
    return sqlcipher3


def _hex_key(key: bytes) -> str:
    """A raw key (x'...'): SQLCipher uses it as is, with no second key derivation."""
    if len(key) != datakey.KEY_BYTES:
        raise ValueError("a data key is 32 bytes")
    return f"x'{key.hex()}'"


def _open_encrypted(path: Path | str, key: bytes, uri: bool = False) -> Any:
    """A keyed sqlcipher3 connection (`path` may be a file: URI, e.g. mode=ro). The key is set
    before anything reads the file and checked by reading the schema."""
    sqlcipher3 = _sqlcipher()
    _cipher_errors()  # known before any _CipherConnection's execute needs it
    raw = sqlcipher3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, uri=uri)
    try:
        raw.execute(f'PRAGMA key = "{_hex_key(key)}"')  # first, before anything reads the file
        raw.execute("PRAGMA cipher_log_level = NONE")  # its log goes to stderr: keep it quiet
        raw.execute("SELECT count(*) FROM sqlite_master").fetchone()
        raw.execute("PRAGMA temp_store = MEMORY")  # sorts and temp tables never reach a file
    except sqlcipher3.DatabaseError as exc:
        raw.close()
        if "not a database" in str(exc):  # what SQLCipher says when page 1 fails to decrypt
            raise WrongKey(
                "The key does not open this database (a wrong key, or a damaged file). "
                "Nothing was opened."
            ) from None
        raise _translated(exc) from None  # unreadable, locked, ...: said as for any database
    except BaseException:
        raw.close()
        raise
    return raw


def is_plaintext(path: Path) -> bool:
    """True for an unencrypted SQLite database file (SQLCipher files start with random salt)."""
    try:
        with path.open("rb") as handle:
            return handle.read(16) == SQLITE_HEADER
    except FileNotFoundError:
        return False


def encrypt_in_place(path: Path, key: bytes) -> None:
    """Turn a plaintext database into an encrypted one at the same path, safely.

    sqlcipher_export copies it into `<name>.encrypting` beside it; that copy is checked
    (integrity_check, and every table's row count against the original), fsynced, and only
    then renamed over the original; the original's -wal/-shm are gone before the rename (a
    stale WAL must never be applied to the new file). A crash at any point leaves either the
    untouched plaintext database (the next open encrypts it again) or the complete encrypted
    one. The caller holds the data folder's instance lock."""
    sqlcipher3 = _sqlcipher()
    target = path.with_name(path.name + ENCRYPTING_SUFFIX)
    for leftover in (target, Path(f"{target}-journal")):
        leftover.unlink(missing_ok=True)  # an interrupted earlier attempt: never complete
    # Fold the WAL into the main file; closing the last connection removes -wal and -shm.
    plain = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        counts = _row_counts(plain)
        version = plain.execute("PRAGMA user_version").fetchone()[0]
    finally:
        plain.close()
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise DataFolderError(
            f"The database in {path.parent} is still in use; close other programs using it "
            "and start again. Nothing was changed."
        )
    try:
        source = sqlcipher3.connect(str(path), isolation_level=None)
        try:
            source.execute("PRAGMA cipher_log_level = NONE")
            source.execute("ATTACH DATABASE ? AS encrypted KEY ?", [str(target), _hex_key(key)])
            source.execute("SELECT sqlcipher_export('encrypted')")
            source.execute(f"PRAGMA encrypted.user_version = {int(version)}")
            source.execute("DETACH DATABASE encrypted")
        finally:
            source.close()
        check = _open_encrypted(target, key)
        try:
            problems = check.execute("PRAGMA integrity_check").fetchall()
            copied = _row_counts(check)
        finally:
            check.close()
    except BaseException as exc:
        target.unlink(missing_ok=True)  # the original is untouched; no half copy is left
        if isinstance(exc, sqlcipher3.Error):
            raise _translated(exc) from None
        raise
    if problems != [("ok",)] or copied != counts:
        target.unlink(missing_ok=True)
        raise DataFolderError(
            "The encrypted copy of the database did not match the original, so the original "
            "was kept unencrypted and unchanged."
        )
    with open(target, "rb+") as handle:
        os.fsync(handle.fileno())
    for side in ("-wal", "-shm"):
        Path(f"{path}{side}").unlink(missing_ok=True)
    os.replace(target, path)
    datakey.fsync_folder(path.parent)
    with contextlib.suppress(OSError):
        path.chmod(0o600)


def _row_counts(conn: Any) -> dict[str, int]:
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {
        name: int(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
        for name in sorted(names)
    }


def _translated(exc: Exception) -> Exception:
    """sqlcipher3 raises its own copies of the DB-API exceptions; the rest of kapsession (and
    sqlite-utils) catch sqlite3's. The same class by name, the same message and error code."""
    cls = getattr(sqlite3, type(exc).__name__, None)
    if not (isinstance(cls, type) and issubclass(cls, sqlite3.Error)):
        cls = sqlite3.DatabaseError
    new = cls(*exc.args)
    for attr in ("sqlite_errorcode", "sqlite_errorname"):
        if hasattr(exc, attr):
            setattr(new, attr, getattr(exc, attr))
    return new


class _CipherCursor:
    __slots__ = ("_cursor",)

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._cursor, name)
        return _guard(value) if callable(value) else value

    def __iter__(self) -> Iterator[Any]:
        it = iter(self._cursor)
        while True:
            try:
                row = next(it)
            except StopIteration:
                return
            except _cipher_errors() as exc:
                raise _translated(exc) from None
            yield row


class _CipherConnection:
    """A sqlcipher3 connection that raises sqlite3's exceptions, so every `except
    sqlite3.Error` in kapsession and in sqlite-utils behaves the same on an encrypted store.
    `raw` is the sqlcipher3 connection itself (e.g. as a backup target)."""

    def __init__(self, raw: Any) -> None:
        object.__setattr__(self, "raw", raw)

    # What every save calls, defined here rather than found through __getattr__ (which builds
    # a guard per call): the same translation of errors, a few microseconds less per save.
    def execute(self, sql: str, parameters: Any = ()) -> Any:
        try:
            return _CipherCursor(self.raw.execute(sql, parameters))
        except _CIPHER_ERROR[0] as exc:  # set by _open_encrypted before any connection exists
            raise _translated(exc) from None

    @property
    def in_transaction(self) -> bool:
        return bool(self.raw.in_transaction)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.raw, name)
        return _guard(value) if callable(value) else value

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.raw, name, value)


_CIPHER_ERROR: list[type[Exception]] = []


def _cipher_errors() -> type[Exception]:
    if not _CIPHER_ERROR:
        _CIPHER_ERROR.append(_sqlcipher().Error)
    return _CIPHER_ERROR[0]


def _guard(method: Any) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        args = tuple(a.raw if isinstance(a, _CipherConnection) else a for a in args)
        try:
            result = method(*args, **kwargs)
        except _cipher_errors() as exc:
            raise _translated(exc) from None
        if type(result).__name__ == "Cursor":
            return _CipherCursor(result)
        return result

    return call


def _refuse_newer_schema(conn: sqlite3.Connection) -> None:
    """Checked before anything is written (even the journal mode), so a newer database is
    left exactly as it was."""
    unknown = set(schema.applied_names(conn)) - schema.known_migrations()
    if unknown:
        raise NewerSchemaError(
            "This data folder was written by a newer version of kapsession "
            f"({len(unknown)} schema change(s) this version does not know). "
            "Nothing was changed; please update kapsession to open it."
        )


def prepare_folder(folder: Path) -> None:
    """Create the data folder (private to this user) or say clearly why it cannot be used."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise DataFolderError(
            f"Cannot create the data folder {folder}: {exc.strerror or exc}."
        ) from None
    if not folder.is_dir():
        raise DataFolderError(f"The data folder {folder} is not a folder.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DataFolderError(
            f"The data folder {folder} is read-only; kapsession needs to write there."
        )


class Store(Records):
    """A data folder's database opened safely (migrated, encrypted when it has a key, never
    half-opened) with its keyed audit trail; the records it holds are Records'."""

    encrypted = False
    # The data key this store was opened with (None: unencrypted). Kept so that what works on
    # the same data (backups, verify) uses it without asking for the passphrase again; never
    # logged or written anywhere.
    key: bytes | None = None

    def __init__(
        self,
        db: Database | sqlite3.Connection,
        clock: Clock | None = None,
        actor: str | None = None,
        migrate: bool = True,
        chain_keys: Sequence[ChainKey] | None = None,
    ) -> None:
        """`chain_keys`: the audit chain key candidates (None: the chain key file beside the
        database). A store that migrates (writes) needs the key its chain was keyed with; a
        new or older database without one gets the folder's file (made now) for its chain.

        `db`: a connection from `open_connection` (sqlite-utils' Database is then made on first
        use of `self.db`), or a Database from `connect`."""
        self._set_connection(db)
        # The audit trail's "when" is real time even in a rehearsal, and its "who" is the
        # signed-in user unless an entry names its author.
        self.clock: Clock = clock or SystemClock()
        self.actor = schema.os_user() if actor is None else actor
        conn = self.conn
        folder = chain_key.database_folder(conn)
        if chain_keys is None:
            chain_keys = (
                chain_key.candidates(folder) if migrate else chain_key.readable_candidates(folder)
            )
        self.chain = audit_trail.Chain(chain_keys)
        audit_trail.register_functions(
            conn, lambda: iso(self.clock.now()), lambda: self.actor, self.chain
        )
        if not migrate:
            self.chain.resolve(conn)
            return
        if not self.chain.candidates and not audit_trail.schema_is_keyed(conn):
            self.chain.candidates.append(chain_key.load_or_create(folder))
        self.chain.resolve(conn)
        if schema.needs_migrating(conn):  # a returning launch skips sqlite-utils here
            schema.migrations.apply(self.db)
        if self.chain.resolve(conn) is None:
            where = folder or "this database"
            raise DataFolderError(
                f"The audit trail's chain key ({chain_key.FILE_NAME}) is missing from {where}: "
                "copy it back from beside the backups. Nothing was changed."
            )
        self._record_anchor(folder)

    def _record_anchor(self, folder: Path | None) -> None:
        """A plain folder's key file learns where its keyed chain starts, once (so no copy of
        this database can later pass as unkeyed)."""
        own = next((c for c in self.chain.candidates if c.key == self.chain.key), None)
        if folder is None or own is None or own.anchor is not None:
            return
        marker = audit_trail.marker_of(self.conn)
        on_disk = chain_key.read(folder)
        if marker is None or on_disk is None or on_disk.key != own.key:
            return
        with contextlib.suppress(OSError):
            chain_key.write(folder, ChainKey(own.key, (int(marker.id), str(marker.prev_hash))))

    @classmethod
    def memory(cls) -> Store:
        return cls(open_connection(":memory:"))

    @classmethod
    def open(cls, folder: Path, create: bool = True, key: bytes | None = None) -> Store:
        """Open (and if asked, create) the database in a data folder, with a message a
        therapist can act on for every way that can fail.

        A folder with a key file is encrypted: it opens only with its key (else NeedsKey or
        WrongKey, never plaintext). Given a key, a still-plaintext database there (set-up or
        an interrupted migration) is encrypted in place first."""
        path = folder / DB_NAME
        if not create and not path.exists():
            raise DataFolderError(f"There is no kapsession data in {folder}.")
        if key is None and datakey.has_key_file(folder):
            raise NeedsKey(
                f"The data in {folder} is encrypted; its passphrase is needed to open it."
            )
        prepare_folder(folder)
        encrypted_now = None
        try:
            if key is not None and is_plaintext(path):
                encrypt_in_place(path, key)
                encrypted_now = "the existing database was encrypted in place"
            elif key is not None and not path.exists():
                encrypted_now = "a new database, encrypted from the start"
            db = open_connection(path, key)
        except sqlite3.DatabaseError as exc:
            raise DataFolderError(_explain(folder, exc)) from None
        except OSError as exc:
            raise DataFolderError(
                f"Cannot open the database in {folder}: {exc.strerror or exc}."
            ) from None
        with contextlib.suppress(OSError):
            path.chmod(0o600)
        try:
            store = cls(db, chain_keys=chain_key.candidates(folder, key))  # and migrates
        except sqlite3.DatabaseError as exc:
            db.close()
            raise DataFolderError(_explain(folder, exc)) from None
        except BaseException:
            db.close()
            raise
        privacy.tighten(folder)
        store.encrypted = key is not None
        store.key = key
        if encrypted_now:
            # Set-up or migration: on the audit trail (the trail itself was just encrypted).
            store.audit("encrypt", "database", detail=f"SQLCipher; {encrypted_now}")
        return store

    @classmethod
    def open_readonly(cls, path: Path, key: bytes | None = None) -> Store:
        """Open a data folder's database, or a backup file, without writing a byte (verify and
        restore work on read-only folders and media). No migrations run. An encrypted file
        needs its data key (WrongKey if it is not the one); a plaintext file opens without."""
        file = path / DB_NAME if path.is_dir() else path
        if not file.is_file():
            raise DataFolderError(f"There is no kapsession database at {path}.")
        try:
            conn = _connect_readonly(file, key)
        except sqlite3.DatabaseError as exc:
            raise DataFolderError(_explain(file.parent, exc)) from None
        encrypted = isinstance(conn, _CipherConnection)
        candidates = chain_key.readable_candidates(file.parent, key if encrypted else None)
        store = cls(conn, migrate=False, chain_keys=candidates)
        store.encrypted = encrypted
        store.key = key if store.encrypted else None
        return store

    def close(self) -> None:
        self.conn.close()

    # --- audit ---------------------------------------------------------------------------
    def audit(
        self,
        action: str,
        target: str,
        author: str | None = None,
        at: datetime | None = None,
        detail: str = "",
        target_id: int | None = None,
    ) -> int:
        """Put an action that writes no clinical row on the audit trail (export, lock, unlock,
        key_change, backup, restore, ...). `target` names what it acted on ("sessions" with a
        target_id, "database", a file name); `detail` must never carry clinical text. Returns
        the entry's id after its COMMIT returned."""
        with self.db.atomic():
            return audit_trail.append(
                self.db.conn,
                action,
                target,
                target_id,
                self.actor if author is None else author,
                iso(at or self.clock.now()),
                detail,
            )

    def audit_head(self) -> tuple[int, str]:
        """The newest entry's id and hash (0 and the genesis hash for an empty trail)."""
        row = self.conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        return (int(row[0]), str(row[1])) if row else (0, audit_trail.GENESIS)


def _connect_readonly(file: Path, key: bytes | None = None) -> sqlite3.Connection:
    """mode=ro never writes; a WAL database in a read-only folder with no -wal beside it is
    opened as immutable (nothing can be pending, and no -shm can be created there).

    With a key, a file that is not plaintext SQLite is opened through SQLCipher with that key
    (WrongKey if it does not open it); a plaintext file (e.g. a backup from before the folder
    was encrypted) is read as it is. Without a key an encrypted file fails as any file that is
    not a database does."""
    from urllib.parse import quote

    uri = "file:" + quote(os.fsencode(file.resolve()))  # bytes: any file name, UTF-8 or not
    encrypted = key is not None and not is_plaintext(file)

    def open_(query: str, timeout: float) -> sqlite3.Connection:
        if encrypted:
            assert key is not None
            raw = _open_encrypted(uri + query, key, uri=True)
            return _probe(cast(sqlite3.Connection, _CipherConnection(raw)))
        return _probe(sqlite3.connect(uri + query, uri=True, timeout=timeout))

    try:
        return open_("?mode=ro", BUSY_TIMEOUT_MS / 1000)
    except sqlite3.OperationalError:
        wal = file.with_name(file.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise
        return open_("?mode=ro&immutable=1", 5.0)


def _probe(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Read the schema once (this is where a locked, missing or foreign file fails), closing
    the connection at once if it does: a leaked handle keeps a mount busy."""
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.execute("PRAGMA query_only = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _explain(folder: Path, exc: sqlite3.DatabaseError) -> str:
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return f"The data folder {folder} is read-only or unavailable; kapsession needs to write there."
    if "not a database" in text or "malformed" in text:
        return f"{folder / DB_NAME} is not a readable kapsession database; it was left untouched."
    if "disk is full" in text or "full" in text:
        return f"The disk holding {folder} is full."
    if "locked" in text or "busy" in text:
        return f"The database in {folder} is locked by another program."
    return f"Cannot open the database in {folder} ({type(exc).__name__})."
