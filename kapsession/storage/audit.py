"""The tamper-evident audit trail: what every entry holds, how it is chained, and how it is checked.

Each write to a clinical row (clients, sessions, events) adds one `audit` entry in the SAME
statement, by an AFTER trigger (schema m003): who, when, the action, the target row, a SHA-256
digest of the row's content (never the content itself) and short per-column digests that let
`verify` name the column a raw edit changed. Entries are chained: hash = sha256(prev_hash +
canonical entry). Triggers were chosen over Python-side inserts so that no write path — a new
Store method, another helper's code, a migration, a hand-run SQL statement on our connection —
can reach a clinical table without landing on the trail, and the trail cannot drift out of the
transaction that wrote the row. SQLite has no SHA-256, so the digests come from deterministic
Python functions registered on every connection the Store wraps (`register_functions`); a plain
sqlite3 shell has none, so it cannot even insert a row without first dropping our triggers —
which `verify` then detects (a row with no entry, or a row that no longer matches its entry).
From schema m006 the triggers make each entry with one function call (audit_row) instead of
three; the entries are the same bytes, so the chain and verify are unchanged by it.

The chain is keyed (schema m004): from a `chain_keyed` entry on, hash = HMAC-SHA256(chain key,
prev_hash + canonical entry), with the key from kapsession/chain_key.py (derived from the data
key, or a plain folder's key file). Entries written before that migration stay plain SHA-256
and are checked as such; the marker's HMAC covers the hash before it, so neither part can be
rewritten, nor the marker moved, without the key. `verify` knows the chain must be keyed from
the schema level (m004 applied) and from the plain folder's key file (which records where the
keyed part starts): it cannot be turned back into an unkeyed chain.

What the chain cannot see on its own: someone holding the chain key (the whole plain folder, or
the passphrase) who drops the triggers, edits, and rebuilds every later entry, or anyone who
cuts off the newest entries together with their rows. A backup's chain head (checked by
`verify` against the folder's backups) pins the older part."""

from __future__ import annotations

import hashlib
import hmac
import json
import operator
import re
import sqlite3
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from itertools import compress
from typing import Any, NamedTuple

from kapsession.errors import DataFolderError
from kapsession.storage import chain_key
from kapsession.storage.chain_key import ChainKey

GENESIS = "0" * 64
# The clinical tables and their key column. heartbeat is liveness only, never audited. A table
# a later migration creates (measures, m009) is skipped wherever it does not exist yet: the
# earlier migrations, and a database (or backup) from before it, look as they always did.
AUDITED: dict[str, str] = {
    "clients": "id",
    "sessions": "id",
    "events": "seq",
    "measures": "id",
    "measure_acks": "id",
}
# Row-writing actions (the trigger's); anything else goes through Store.audit.
ROW_ACTIONS = ("baseline", "create", "amend", "start", "end", "update")
ACTION_RE = re.compile(r"^[a-z][a-z_]{0,31}$")
# The entry that starts the keyed chain, and the migration that writes it (schema.py).
MARKER = "chain_keyed"
KEYED_MIGRATION = "m004_keyed_audit_chain"


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$hex": bytes(value).hex()}
    return value


def row_record(table: str, values: Mapping[str, Any]) -> tuple[str, str]:
    """The row's SHA-256 digest and its per-column hints, in one pass (this runs on every save).

    The digest covers the row as one deterministic text: non-NULL columns only (so a column a
    later migration adds with a NULL default leaves earlier digests valid), keys sorted, floats
    by their exact repr. The hints are a CRC-32 per column: enough for `verify` to say which
    column changed, not a proof of anything (the digest is the proof)."""
    items = sorted((k, _plain(v)) for k, v in values.items() if v is not None)
    text = json.dumps(dict(items), separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(f"{table}\n{text}".encode()).hexdigest()
    hints = ",".join(f"{k}:{zlib.crc32(repr(v).encode()):08x}" for k, v in items)
    return digest, hints


def row_digest(table: str, values: Mapping[str, Any]) -> str:
    return row_record(table, values)[0]


def field_hints(values: Mapping[str, Any]) -> str:
    return row_record("", values)[1]


def _parse_hints(text: str | None) -> dict[str, str]:
    pairs = (item.partition(":") for item in (text or "").split(",") if item)
    return {k: v for k, _, v in pairs}


class Entry(NamedTuple):
    id: int
    at: str
    author: str
    action: str
    target: str
    target_id: int | None
    digest: str | None
    fields: str | None
    detail: str
    prev_hash: str
    hash: str

    def body(self) -> list[Any]:
        return [
            self.id,
            self.at,
            self.author,
            self.action,
            self.target,
            self.target_id,
            self.digest,
            self.fields,
            self.detail,
        ]

    def where(self) -> str:
        return f"audit #{self.id} ({describe(self.target, self.target_id)}, {self.action})"


def _chain_text(prev_hash: Any, body: Iterable[Any]) -> bytes:
    # A hostile row may hold blobs or other odd values: they get a canonical text too (a valid
    # entry never has one, so its text is unchanged).
    text = json.dumps([_plain(v) for v in body], separators=(",", ":"), ensure_ascii=False)
    return (str(prev_hash) + text).encode("utf-8", "surrogatepass")


def chain_hash(prev_hash: str, body: Iterable[Any]) -> str:
    """The unkeyed link (entries written before m004)."""
    return hashlib.sha256(_chain_text(prev_hash, body)).hexdigest()


def keyed_hash(key: bytes, prev_hash: str, body: Iterable[Any]) -> str:
    """The keyed link: HMAC-SHA256 with the chain key."""
    return hmac.new(key, _chain_text(prev_hash, body), hashlib.sha256).hexdigest()


class Chain:
    """The chain key of one connection: the candidates it was given, and the one its chain
    uses (`key`), chosen by `resolve` as the candidate whose HMAC the marker entry carries
    (before the marker exists: the first candidate, which the migration then uses)."""

    def __init__(self, candidates: Sequence[ChainKey] = ()) -> None:
        self.candidates = list(candidates)
        self.key: bytes | None = None

    def resolve(self, conn: sqlite3.Connection) -> bytes | None:
        self.key = _chosen(self.candidates, _marker(conn))
        return self.key


def marker_of(conn: sqlite3.Connection) -> Entry | None:
    """The chain_keyed entry, if the chain has one."""
    return _marker(conn)


def _marker(conn: sqlite3.Connection) -> Entry | None:
    try:
        row = conn.execute(
            "SELECT id, at, author, action, target, target_id, digest, fields, detail, "
            "prev_hash, hash FROM audit WHERE action = ? ORDER BY id LIMIT 1",
            [MARKER],
        ).fetchone()
    except sqlite3.OperationalError:  # no audit table (yet)
        return None
    return Entry(*row) if row else None


def key_of_marker(candidates: Sequence[ChainKey], marker: Entry) -> bytes | None:
    """The candidate whose HMAC the chain_keyed entry carries."""
    return _matching(candidates, marker)


def _matching(candidates: Sequence[ChainKey], marker: Entry) -> bytes | None:
    for candidate in candidates:
        if hmac.compare_digest(
            keyed_hash(candidate.key, marker.prev_hash, marker.body()), str(marker.hash)
        ):
            return candidate.key
    return None


def _chosen(candidates: Sequence[ChainKey], marker: Entry | None) -> bytes | None:
    """The key a chain uses: the one its marker was made with; when none was (the marker was
    altered, or the key is another folder's), the first one, so verify names what does not
    match it instead of checking nothing."""
    found = _matching(candidates, marker) if marker is not None else None
    return found or (candidates[0].key if candidates else None)


def describe(target: str, target_id: int | None) -> str:
    if target in AUDITED and target_id is not None:
        return f"{target} {AUDITED[target]} {target_id}"
    return target if target_id is None else f"{target} {target_id}"


# --- SQL side ------------------------------------------------------------------------------


def _sql_row_record(table: str, *pairs: Any) -> str:
    """digest, a space, hints: one call per audited write (the trigger splits it)."""
    digest, hints = row_record(table, dict(zip(pairs[::2], pairs[1::2], strict=True)))
    return f"{digest} {hints}"


def _sql_chain(prev_hash: str, *body: Any) -> str:
    return chain_hash(prev_hash, body)


# The canonical texts of row_record and _chain_text, by encoders built once (json.dumps with
# these options builds a new encoder on every call): the same bytes, so the same digests.
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_HINT = "{}:{:08x}".format  # f"{k}:{crc:08x}", as row_record writes it
_NOT_NULL = partial(operator.is_not, None)
_sha256 = hashlib.sha256
_crc32 = zlib.crc32


def audit_row(
    mac: hmac.HMAC,
    prev_hash: Any,
    entry_id: Any,
    at: str,
    author: Any,
    action: Any,
    target: Any,
    target_id: Any,
    detail: Any,
    pairs: Sequence[Any],
) -> tuple[str, str, str]:
    """One audited write's digest, column hints and keyed link, in one pass (schema m006's
    triggers call this once per row, where m003/m004's triggers called kap_row_record, kap_now
    and the link separately).

    The construction is exactly row_record's and keyed_hash's, so entries made either way are
    the same bytes and verify checks them alike; only the work is less, and done by C loops
    (map, compress) rather than Python ones: this runs inside every save, between SQLite's page
    writes, where each Python step costs several times what it does in a warm loop. `mac` is
    an HMAC-SHA256 already keyed with the chain key (copied per entry: hmac.digest would set
    the key up again each time, ~5 us of a save). `pairs` is
    the row as name, value, ... with the names in sorted order (trigger_sql_m006 generates them
    so), the order the digest's canonical text needs. A value JSON cannot carry (a blob written
    by hand) takes the general path."""
    names, values = pairs[::2], pairs[1::2]
    keep = list(map(_NOT_NULL, values))
    row = dict(zip(compress(names, keep), compress(values, keep), strict=True))
    try:
        digest = _sha256(f"{target}\n{_ENCODE(row)}".encode()).hexdigest()
        hints = ",".join(map(_HINT, row, map(_crc32, map(str.encode, map(repr, row.values())))))
        body = [entry_id, at, author, action, target, target_id, digest, hints, detail]
        text = (str(prev_hash) + _ENCODE(body)).encode("utf-8", "surrogatepass")
    except TypeError:  # a blob, or a value only _plain can encode
        digest, hints = row_record(str(target), dict(zip(names, values, strict=True)))
        body = [entry_id, at, author, action, target, target_id, digest, hints, detail]
        text = _chain_text(prev_hash, body)
    link = mac.copy()
    link.update(text)
    return digest, hints, link.hexdigest()


def register_functions(
    conn: sqlite3.Connection,
    now: Callable[[], str],
    actor: Callable[[], str],
    chain: Chain | None = None,
) -> Chain:
    """The SQL functions the audit triggers call. Digests are deterministic; the time and the
    actor come from the Store (its Clock, the signed-in user); the chain key from `chain`
    (None: the chain key file beside the database, if any). Without a chain key the keyed
    link refuses to compute, so nothing is written that could not be verified."""
    if chain is None:
        chain = Chain(chain_key.candidates(chain_key.database_folder(conn)))
        chain.resolve(conn)

    def keyed(prev_hash: str, *body: Any) -> str:
        if chain.key is None:
            raise sqlite3.OperationalError("the audit chain key is missing")
        return keyed_hash(chain.key, prev_hash, body)

    # m006's triggers: kap_audit_entry computes a whole entry and returns its digest; the
    # entry's other computed columns are then read once each by kap_audit_part (taken, so a
    # part read before its entry was computed fails the write instead of reusing the last).
    parts: dict[int, Any] = {}
    keyed_mac: list[tuple[bytes, hmac.HMAC]] = []  # the chain key's HMAC, set up once

    def entry(head: Any, last_id: Any, author: Any, action: Any, *rest: Any) -> int:
        if chain.key is None:
            raise sqlite3.OperationalError("the audit chain key is missing")
        if not keyed_mac or keyed_mac[0][0] != chain.key:
            keyed_mac[:] = [(chain.key, hmac.new(chain.key, digestmod=hashlib.sha256))]
        prev_hash = GENESIS if head is None else head
        entry_id = (0 if last_id is None else last_id) + 1
        target, target_id, detail = rest[0], rest[1], "" if rest[2] is None else rest[2]
        at = now()
        digest, hints, link = audit_row(
            keyed_mac[0][1],
            prev_hash,
            entry_id,
            at,
            author,
            action,
            target,
            target_id,
            detail,
            rest[3:],
        )
        parts.update(
            {
                1: entry_id,
                2: at,
                3: author,
                4: action,
                5: digest,
                6: hints,
                7: detail,
                8: prev_hash,
                9: link,
            }
        )
        return entry_id

    def part(index: int) -> Any:
        try:
            return parts.pop(index)
        except KeyError:
            raise sqlite3.OperationalError("an audit entry's part was read before it") from None

    conn.create_function("kap_audit_entry", -1, entry)
    conn.create_function("kap_audit_part", 1, part)
    conn.create_function("kap_row_record", -1, _sql_row_record, deterministic=True)
    conn.create_function("kap_chain", -1, _sql_chain, deterministic=True)
    conn.create_function("kap_hmac_chain", -1, keyed)
    conn.create_function("kap_chain_ready", 0, lambda: int(chain.key is not None))
    conn.create_function("kap_now", 0, now)
    conn.create_function("kap_actor", 0, actor)
    return chain


def chain_ready(conn: sqlite3.Connection) -> bool:
    """Whether this connection can compute keyed links (our functions, with a key)."""
    try:
        return bool(conn.execute("SELECT kap_chain_ready()").fetchone()[0])
    except sqlite3.OperationalError:
        return False


def has_functions(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT kap_now(), kap_actor()").fetchone()
    except sqlite3.OperationalError:
        return False
    return True


def insert_sql(
    at: str = ":at",
    author: str = ":author",
    action: str = ":action",
    target: str = ":target",
    target_id: str = ":target_id",
    digest: str = ":digest",
    fields: str = ":fields",
    detail: str = ":detail",
    record: str = "NULL",
    keyed: bool = True,
) -> str:
    """One INSERT that numbers, links and hashes the entry from SQL expressions (the trigger's
    NEW.* columns, or named parameters for Store.audit); keyed (HMAC) unless written for a
    schema before m004."""
    link = "kap_hmac_chain" if keyed else "kap_chain"
    return f"""
        INSERT INTO audit (id, at, author, action, target, target_id, digest, fields, detail,
                           prev_hash, hash)
        SELECT n, a, w, act, tg, ti, {digest}, {fields}, det, p,
               {link}(p, n, a, w, act, tg, ti, {digest}, {fields}, det)
        FROM (SELECT (SELECT coalesce(max(id), 0) + 1 FROM audit) AS n, {at} AS a,
                     {author} AS w, {action} AS act, {target} AS tg, {target_id} AS ti,
                     {record} AS r, coalesce({detail}, '') AS det,
                     coalesce((SELECT hash FROM audit ORDER BY id DESC LIMIT 1),
                              '{GENESIS}') AS p)"""


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")]


def trigger_sql(conn: sqlite3.Connection, keyed: bool = True) -> str:
    """AFTER INSERT/UPDATE triggers on every audited table, generated from its current columns.
    A migration that adds a column to an audited table must run this again."""
    out = []
    for table, key in AUDITED.items():
        cols = columns(conn, table)
        if not cols:  # created by a later migration
            continue
        pairs = ", ".join(f"'{c}', NEW.{c}" for c in cols)
        record = f"kap_row_record('{table}', {pairs})"
        digest, hints = "substr(r, 1, 64)", "substr(r, 66)"
        author = "kap_actor()"
        if "author" in cols:
            author = "CASE WHEN NEW.author != '' THEN NEW.author ELSE kap_actor() END"
        if table == "events":
            action = "CASE WHEN NEW.amends IS NOT NULL THEN 'amend' ELSE 'create' END"
            detail = "NEW.kind"
        elif table == "sessions":
            action, detail = "'create'", "NEW.state"
        else:
            action, detail = "'create'", "''"
        what = (f"'{table}'", f"NEW.{key}", digest, hints)  # target, target_id, digest, fields
        ins = insert_sql("kap_now()", author, action, *what, detail, record, keyed)
        out.append(f"DROP TRIGGER IF EXISTS {table}_audit_insert;")
        out.append(f"CREATE TRIGGER {table}_audit_insert AFTER INSERT ON {table} BEGIN {ins}; END;")
        changed = " || ".join(
            f"CASE WHEN NEW.{c} IS NOT OLD.{c} THEN '{c},' ELSE '' END" for c in cols
        )
        if table == "sessions":
            action = (
                "CASE WHEN OLD.state = 'planned' AND NEW.state = 'running' THEN 'start' "
                "WHEN OLD.state = 'running' AND NEW.state = 'ended' THEN 'end' ELSE 'update' END"
            )
        else:
            action = "'update'"
        upd = insert_sql(
            "kap_now()", author, action, *what, f"rtrim({changed}, ',')", record, keyed
        )
        out.append(f"DROP TRIGGER IF EXISTS {table}_audit_update;")
        if table != "events":  # events refuse UPDATE outright (m001)
            out.append(
                f"CREATE TRIGGER {table}_audit_update AFTER UPDATE ON {table} BEGIN {upd}; END;"
            )
    return "\n".join(out)


def _one_call_insert(
    author: str, action: str, target: str, target_id: str, detail: str, pairs: str
) -> str:
    """m006's trigger body: a SELECT that computes the whole entry from the head the SQL
    reads, then the INSERT that takes its parts (a trigger's statements run in order; were a
    part ever read without its entry, kap_audit_part would fail the write, never reuse one).
    No subqueries around the function: flattened, they made SQLite call it once per use."""
    return f"""
        SELECT kap_audit_entry((SELECT hash FROM audit ORDER BY id DESC LIMIT 1),
                               (SELECT max(id) FROM audit), {author}, {action},
                               {target}, {target_id}, {detail}, {pairs});
        INSERT INTO audit (id, at, author, action, target, target_id, digest, fields, detail,
                           prev_hash, hash)
        VALUES (kap_audit_part(1), kap_audit_part(2), kap_audit_part(3), kap_audit_part(4),
                {target}, {target_id}, kap_audit_part(5), kap_audit_part(6), kap_audit_part(7),
                kap_audit_part(8), kap_audit_part(9))"""


def trigger_sql_m006(conn: sqlite3.Connection) -> str:
    """The audit triggers from m006 on: the same entries as trigger_sql(keyed=True) writes
    (the same digest, hints and HMAC link, byte for byte), each made by one SQL function call
    per row instead of three. A migration that adds a column to an audited table must run
    this again (not trigger_sql, which is m003's and m004's)."""
    out = []
    for table, key in AUDITED.items():
        cols = columns(conn, table)
        if not cols:  # created by a later migration
            continue
        pairs = ", ".join(f"'{c}', NEW.{c}" for c in sorted(cols))
        author = "kap_actor()"
        if "author" in cols:
            author = "CASE WHEN NEW.author != '' THEN NEW.author ELSE kap_actor() END"
        if table == "events":
            action = "CASE WHEN NEW.amends IS NOT NULL THEN 'amend' ELSE 'create' END"
            detail = "NEW.kind"
        elif table == "sessions":
            action, detail = "'create'", "NEW.state"
        else:
            action, detail = "'create'", "''"
        what = (f"'{table}'", f"NEW.{key}")
        ins = _one_call_insert(author, action, *what, detail, pairs)
        out.append(f"DROP TRIGGER IF EXISTS {table}_audit_insert;")
        out.append(f"CREATE TRIGGER {table}_audit_insert AFTER INSERT ON {table} BEGIN {ins}; END;")
        out.append(f"DROP TRIGGER IF EXISTS {table}_audit_update;")
        if table == "events":  # events refuse UPDATE outright (m001)
            continue
        changed = " || ".join(
            f"CASE WHEN NEW.{c} IS NOT OLD.{c} THEN '{c},' ELSE '' END" for c in cols
        )
        if table == "sessions":
            action = (
                "CASE WHEN OLD.state = 'planned' AND NEW.state = 'running' THEN 'start' "
                "WHEN OLD.state = 'running' AND NEW.state = 'ended' THEN 'end' ELSE 'update' END"
            )
        else:
            action = "'update'"
        upd = _one_call_insert(author, action, *what, f"rtrim({changed}, ',')", pairs)
        out.append(f"CREATE TRIGGER {table}_audit_update AFTER UPDATE ON {table} BEGIN {upd}; END;")
    return "\n".join(out)


def append(
    conn: sqlite3.Connection,
    action: str,
    target: str,
    target_id: int | None,
    author: str,
    at: str,
    detail: str = "",
    digest: str | None = None,
    fields: str | None = None,
    keyed: bool = True,
) -> int:
    """One entry from Python (non-row actions, and the m003 baseline); returns its id. The
    caller owns the transaction."""
    if not ACTION_RE.match(action):
        raise ValueError(f"not an audit action name: {action!r}")
    values: dict[str, Any] = {"at": at, "author": author, "action": action, "target": target}
    values |= {"target_id": target_id, "digest": digest, "fields": fields, "detail": detail}
    conn.execute(insert_sql(keyed=keyed), values)
    row = conn.execute("SELECT max(id) FROM audit").fetchone()
    return int(row[0])


def baseline(conn: sqlite3.Connection, author: str, at: str) -> int:
    """Entries for the rows that existed before the audit trail (m003 on an older database)."""
    n = 0
    for table, key in AUDITED.items():
        if not columns(conn, table):  # created by a later migration
            continue
        cur = conn.execute(f"SELECT * FROM {table} ORDER BY {key}")
        names = [d[0] for d in cur.description]
        for values in cur.fetchall():
            row = dict(zip(names, values, strict=True))
            append(
                conn,
                "baseline",
                table,
                int(row[key]),
                author,
                at,
                "recorded when the audit trail was added",
                row_digest(table, row),
                field_hints(row),
                keyed=False,
            )
            n += 1
    return n


def start_keyed_chain(conn: sqlite3.Connection, author: str, at: str) -> int:
    """The marker entry (m004): the first keyed link. Its HMAC covers the unkeyed head before
    it, so the older part cannot change and the marker cannot move without the key."""
    return append(conn, MARKER, "audit", None, author, at, "HMAC-SHA256 from this entry on")


# --- verification ---------------------------------------------------------------------------


class Problem(NamedTuple):
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


class Report:
    """What verify found. (Plain classes here: dataclasses cost start-up, and this module is
    imported by the store at every launch.)"""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.entries = 0
        self.rows: dict[str, int] = {}
        self.head = GENESIS
        self.head_id = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        rows = ", ".join(f"{n} {t}" for t, n in self.rows.items())
        return f"{self.entries} audit entries chained, {rows} match their entries"


def _entries(conn: sqlite3.Connection) -> Iterable[Entry]:
    cur = conn.execute(
        "SELECT id, at, author, action, target, target_id, digest, fields, detail, prev_hash, "
        "hash FROM audit ORDER BY id"
    )
    for r in cur:
        yield Entry(*r)


_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HINTS_RE = re.compile(
    r"^([A-Za-z_][A-Za-z0-9_]*:[0-9a-f]{8})?(,[A-Za-z_][A-Za-z0-9_]*:[0-9a-f]{8})*$"
)
_MAX_TEXT = 100_000
_MAX_ID = 2**63 - 1


def _is_int(value: Any) -> bool:
    return type(value) is int and 0 < value <= _MAX_ID


def _is_text(value: Any, limit: int = _MAX_TEXT) -> bool:
    return isinstance(value, str) and len(value) <= limit


def _is_time(value: Any) -> bool:
    if not _is_text(value, 64):
        return False
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def _invalid_fields(entry: Entry) -> list[str]:
    """What is wrong with an entry's own values (each named), before anything relies on them."""
    bad = []
    if not _is_int(entry.id):
        bad.append("id is not a positive whole number")
    if not _is_time(entry.at):
        bad.append("at is not a time")
    if not _is_text(entry.author, 1000):
        bad.append("author is not text")
    if not (isinstance(entry.action, str) and ACTION_RE.match(entry.action)):
        bad.append("action is not an action name")
    if not _is_text(entry.target, 1000):
        bad.append("target is not text")
    if entry.target_id is not None and not _is_int(entry.target_id):
        bad.append("target_id is not a row id")
    if entry.digest is not None and not (
        isinstance(entry.digest, str) and _HEX64.match(entry.digest)
    ):
        bad.append("digest is not a SHA-256 hex digest")
    if entry.fields is not None and not (_is_text(entry.fields) and _HINTS_RE.match(entry.fields)):
        bad.append("fields is not a list of column hints")
    if not _is_text(entry.detail):
        bad.append("detail is not text")
    for name in ("prev_hash", "hash"):
        if not (isinstance(getattr(entry, name), str) and _HEX64.match(getattr(entry, name))):
            bad.append(f"{name} is not a 64-digit hex hash")
    return bad


def _short(value: Any, limit: int = 40) -> str:
    """A value from the database as it may be shown: printable, bounded."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(c if c.isprintable() else "?" for c in text[: limit + 1])
    return text if len(text) <= limit else text[:limit] + "..."


def _where(entry: Entry) -> str:
    if _is_int(entry.id) and not _invalid_fields(entry):
        return entry.where()
    return f"audit #{_short(entry.id, 24)}"


def _changed_columns(recorded: str | None, now: str) -> str:
    before, after = _parse_hints(recorded), _parse_hints(now)
    cols = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return "column(s) " + ", ".join(cols) if cols else "no single column (whole-row digest)"


def check_database(conn: sqlite3.Connection, report: Report) -> None:
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    if [r[0] for r in rows] != ["ok"]:
        for r in rows[:20]:
            report.problems.append(Problem("integrity_check", _short(r[0], 200)))
    for table, rowid, parent, _fk in conn.execute("PRAGMA foreign_key_check").fetchall()[:20]:
        report.problems.append(
            Problem(
                "foreign_key_check",
                f"{_short(table)} row {_short(rowid)} refers to a missing {_short(parent)} row",
            )
        )


def schema_is_keyed(conn: sqlite3.Connection) -> bool | None:
    """Whether the keyed-chain migration was applied (None: the migration record is unreadable)."""
    try:
        rows = conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = 'kapsession'"
        ).fetchall()
    except sqlite3.Error:
        return None
    return any(r[0] == KEYED_MIGRATION for r in rows)


Hasher = Callable[[str, list[Any]], str]


def _keys_beside(conn: sqlite3.Connection) -> list[ChainKey]:
    """The chain key file beside the database file; a damaged one counts as missing (verify
    then says the chain was not checked)."""
    try:
        return chain_key.candidates(chain_key.database_folder(conn))
    except (DataFolderError, sqlite3.Error):
        return []


def _sql_hasher(conn: sqlite3.Connection) -> Hasher | None:
    """The keyed link as this connection's own function computes it (a Store's connection holds
    its chain key there, never anywhere SQL could read it back)."""
    if not chain_ready(conn):
        return None

    def link(prev_hash: str, body: list[Any]) -> str:
        marks = ", ".join("?" for _ in range(len(body) + 1))
        row = conn.execute(f"SELECT kap_hmac_chain({marks})", [prev_hash, *body]).fetchone()
        return str(row[0])

    return link


def _hasher_for(
    conn: sqlite3.Connection, marker: Entry | None, keys: Sequence[ChainKey] | None
) -> Hasher | None:
    if keys is None:
        own = _sql_hasher(conn)
        if own is not None:
            return own
        keys = _keys_beside(conn)
    found = _chosen(keys, marker)
    if found is None:
        return None
    return lambda prev, body: keyed_hash(found, prev, body)


def check_chain(
    conn: sqlite3.Connection, report: Report, keys: Sequence[ChainKey] | None = None
) -> None:
    """Recompute every link (SHA-256 before the chain_keyed entry, HMAC from it on); then hold
    every clinical row against its latest entry. Every value read is checked first: a bad one
    is a named problem, never an exception, and never turns a check off."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit'"
    ).fetchone()
    if not exists:
        report.problems.append(Problem("audit", "this database has no audit trail"))
        return
    problems = report.problems
    keyed_schema = schema_is_keyed(conn)
    if keyed_schema is None:
        problems.append(Problem("schema", "the record of schema changes is missing or unreadable"))
    marker = _marker(conn)
    hasher = _hasher_for(conn, marker, keys)
    given = _keys_beside(conn) if keys is None else keys
    anchors = [k.anchor for k in given if k.anchor is not None]
    prev, expected = GENESIS, 1
    keyed, unchecked = False, False
    before: dict[int, Any] = {}
    latest: dict[tuple[str, int], Entry] = {}
    for entry in _entries(conn):
        report.entries += 1
        bad = _invalid_fields(entry)
        where = _where(entry)
        for what in bad:
            problems.append(Problem(where, what))
        if not _is_int(entry.id):
            prev = entry.hash
            continue
        before[entry.id] = entry.hash
        if entry.id != expected:
            gap = (
                f"entry #{expected} is"
                if entry.id == expected + 1
                else f"entries #{expected}..#{entry.id - 1} are"
            )
            if entry.id < expected:
                problems.append(Problem(where, "is out of order (ids must only grow)"))
            else:
                problems.append(Problem(where, f"audit {gap} missing before it (deleted)"))
        elif entry.prev_hash != prev:
            problems.append(
                Problem(where, "does not link to the entry before it (an entry changed)")
            )
        if entry.action == MARKER:
            if keyed:
                problems.append(Problem(where, "a second chain_keyed entry (forged)"))
            elif keyed_schema is False:
                problems.append(
                    Problem(where, "a chain_keyed entry in a database whose schema predates it")
                )
            keyed = True
        if keyed:
            if hasher is None:
                unchecked = True
            elif not hmac.compare_digest(hasher(entry.prev_hash, entry.body()), str(entry.hash)):
                problems.append(
                    Problem(where, "the audit entry itself was altered or forged (hash)")
                )
        elif chain_hash(entry.prev_hash, entry.body()) != entry.hash:
            problems.append(Problem(where, "the audit entry itself was altered or forged (hash)"))
        if not bad and entry.target in AUDITED and entry.target_id is not None and entry.digest:
            latest[(entry.target, entry.target_id)] = entry
        prev, expected = entry.hash, max(expected, entry.id + 1)
    report.head, report.head_id = str(prev), expected - 1
    if keyed_schema and not keyed:
        problems.append(
            Problem(
                "audit",
                "the schema says the chain is keyed but no chain_keyed entry starts it "
                "(the chain was rebuilt without its key)",
            )
        )
    for start, prev_hash in anchors:
        if start in before and marker is not None and marker.id != start:
            problems.append(
                Problem(f"audit #{start}", "should start the keyed chain but does not (rebuilt)")
            )
        elif start in before and marker is None:
            problems.append(
                Problem(
                    f"audit #{start}",
                    "should start the keyed chain (the chain key file says so) but the chain is "
                    "not keyed (rebuilt without its key)",
                )
            )
        elif start - 1 in before and before[start - 1] != prev_hash:
            problems.append(
                Problem(
                    f"audit #{start - 1}",
                    "is not the entry the keyed chain was started after (rebuilt)",
                )
            )
    if unchecked:
        problems.append(Problem(MISSING_KEY, "the chain key is missing"))
    _check_rows(conn, report, latest)


MISSING_KEY = "audit chain not checked"


def _check_rows(
    conn: sqlite3.Connection, report: Report, latest: dict[tuple[str, int], Entry]
) -> None:
    problems = report.problems
    for table, key in AUDITED.items():
        if not columns(conn, table):  # a database from before the migration that made it
            continue
        cur = conn.execute(f"SELECT * FROM {table} ORDER BY {key}")
        names = [d[0] for d in cur.description]
        count = 0
        for values in cur:
            count += 1
            row = dict(zip(names, values, strict=True))
            row_id = row[key]
            where = describe(table, row_id)
            found = latest.pop((table, row_id), None)
            if found is None:
                problems.append(
                    Problem(where, "has no audit entry (written with the audit bypassed)")
                )
            elif row_digest(table, row) != found.digest:
                changed = _changed_columns(found.fields, field_hints(row))
                problems.append(
                    Problem(where, f"changed since {found.where()} recorded it: {changed}")
                )
        report.rows[table] = count
    for (table, target_id), entry in sorted(latest.items()):
        problems.append(
            Problem(
                describe(table, target_id),
                f"recorded by {entry.where()} but no longer in the database (deleted)",
            )
        )


def verify(conn: sqlite3.Connection, keys: Sequence[ChainKey] | None = None) -> Report:
    """Every check, on one snapshot: all reads in one read transaction, so rows written while
    it reads (a live session) are seen with their entries or not at all. `keys`: the chain
    key candidates (None: the connection's own, else the key file beside the database)."""
    report = Report()
    own_transaction = not conn.in_transaction
    if own_transaction:
        conn.execute("BEGIN")
    try:
        check_database(conn, report)
        check_chain(conn, report, keys)
    finally:
        if own_transaction:
            conn.execute("COMMIT")
    return report


def chain_contains(conn: sqlite3.Connection, entry_id: int, entry_hash: str) -> bool:
    """Whether this database's trail still holds an entry another copy (a backup) recorded."""
    row = conn.execute("SELECT hash FROM audit WHERE id = ?", [entry_id]).fetchone()
    return row is not None and row[0] == entry_hash
