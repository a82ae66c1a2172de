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

What the chain cannot see on its own: someone who drops the triggers, edits, and then rebuilds
every later entry with this very algorithm (it is unkeyed), or who cuts off the newest entries
together with their rows. Encryption at rest keeps both out of reach of anyone without the key;
a backup's chain head (checked by `verify`) pins the older part."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

GENESIS = "0" * 64
# The clinical tables and their key column. heartbeat is liveness only, never audited.
AUDITED: dict[str, str] = {"clients": "id", "sessions": "id", "events": "seq"}
# Row-writing actions (the trigger's); anything else goes through Store.audit.
ROW_ACTIONS = ("baseline", "create", "amend", "start", "end", "update")
ACTION_RE = re.compile(r"^[a-z][a-z_]{0,31}$")


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


def chain_hash(prev_hash: str, body: Iterable[Any]) -> str:
    text = json.dumps(list(body), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + text).encode()).hexdigest()


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


def register_functions(
    conn: sqlite3.Connection, now: Callable[[], str], actor: Callable[[], str]
) -> None:
    """The SQL functions the audit triggers call. Digests are deterministic; the time and the
    actor come from the Store (its Clock, the signed-in user)."""
    conn.create_function("kap_row_record", -1, _sql_row_record, deterministic=True)
    conn.create_function("kap_chain", -1, _sql_chain, deterministic=True)
    conn.create_function("kap_now", 0, now)
    conn.create_function("kap_actor", 0, actor)


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
) -> str:
    """One INSERT that numbers, links and hashes the entry from SQL expressions (the trigger's
    NEW.* columns, or named parameters for Store.audit)."""
    return f"""
        INSERT INTO audit (id, at, author, action, target, target_id, digest, fields, detail,
                           prev_hash, hash)
        SELECT n, a, w, act, tg, ti, {digest}, {fields}, det, p,
               kap_chain(p, n, a, w, act, tg, ti, {digest}, {fields}, det)
        FROM (SELECT (SELECT coalesce(max(id), 0) + 1 FROM audit) AS n, {at} AS a,
                     {author} AS w, {action} AS act, {target} AS tg, {target_id} AS ti,
                     {record} AS r, coalesce({detail}, '') AS det,
                     coalesce((SELECT hash FROM audit ORDER BY id DESC LIMIT 1),
                              '{GENESIS}') AS p)"""


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")]


def trigger_sql(conn: sqlite3.Connection) -> str:
    """AFTER INSERT/UPDATE triggers on every audited table, generated from its current columns.
    A migration that adds a column to an audited table must run this again."""
    out = []
    for table, key in AUDITED.items():
        cols = columns(conn, table)
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
        ins = insert_sql(
            "kap_now()", author, action, f"'{table}'", f"NEW.{key}", digest, hints, detail, record
        )
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
            "kap_now()",
            author,
            action,
            f"'{table}'",
            f"NEW.{key}",
            digest,
            hints,
            f"rtrim({changed}, ',')",
            record,
        )
        out.append(f"DROP TRIGGER IF EXISTS {table}_audit_update;")
        if table != "events":  # events refuse UPDATE outright (m001)
            out.append(
                f"CREATE TRIGGER {table}_audit_update AFTER UPDATE ON {table} BEGIN {upd}; END;"
            )
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
) -> int:
    """One entry from Python (non-row actions, and the m003 baseline); returns its id. The
    caller owns the transaction."""
    if not ACTION_RE.match(action):
        raise ValueError(f"not an audit action name: {action!r}")
    values: dict[str, Any] = {"at": at, "author": author, "action": action, "target": target}
    values |= {"target_id": target_id, "digest": digest, "fields": fields, "detail": detail}
    conn.execute(insert_sql(), values)
    row = conn.execute("SELECT max(id) FROM audit").fetchone()
    return int(row[0])


def baseline(conn: sqlite3.Connection, author: str, at: str) -> int:
    """Entries for the rows that existed before the audit trail (m003 on an older database)."""
    n = 0
    for table, key in AUDITED.items():
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
            )
            n += 1
    return n


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


def _changed_columns(recorded: str | None, now: str) -> str:
    before, after = _parse_hints(recorded), _parse_hints(now)
    cols = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return "column(s) " + ", ".join(cols) if cols else "no single column (whole-row digest)"


def check_database(conn: sqlite3.Connection, report: Report) -> None:
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    if [r[0] for r in rows] != ["ok"]:
        for r in rows[:20]:
            report.problems.append(Problem("integrity_check", str(r[0])))
    for table, rowid, parent, _fk in conn.execute("PRAGMA foreign_key_check").fetchall()[:20]:
        report.problems.append(
            Problem("foreign_key_check", f"{table} row {rowid} refers to a missing {parent} row")
        )


def check_chain(conn: sqlite3.Connection, report: Report) -> None:
    """Recompute every link; then hold every clinical row against its latest entry."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit'"
    ).fetchone()
    if not exists:
        report.problems.append(Problem("audit", "this database has no audit trail"))
        return
    problems = report.problems
    prev, expected = GENESIS, 1
    latest: dict[tuple[str, int], Entry] = {}
    for entry in _entries(conn):
        report.entries += 1
        if entry.id != expected:
            gap = (
                f"entry #{expected} is"
                if entry.id == expected + 1
                else f"entries #{expected}..#{entry.id - 1} are"
            )
            problems.append(Problem(entry.where(), f"audit {gap} missing before it (deleted)"))
        elif entry.prev_hash != prev:
            problems.append(
                Problem(entry.where(), "does not link to the entry before it (an entry changed)")
            )
        if chain_hash(entry.prev_hash, entry.body()) != entry.hash:
            problems.append(
                Problem(entry.where(), "the audit entry itself was altered or forged (hash)")
            )
        if entry.target in AUDITED and entry.target_id is not None and entry.digest:
            latest[(entry.target, entry.target_id)] = entry
        prev, expected = entry.hash, entry.id + 1
    report.head, report.head_id = prev, expected - 1
    for table, key in AUDITED.items():
        cur = conn.execute(f"SELECT * FROM {table} ORDER BY {key}")
        names = [d[0] for d in cur.description]
        count = 0
        for values in cur:
            count += 1
            row = dict(zip(names, values, strict=True))
            where = describe(table, int(row[key]))
            found = latest.pop((table, int(row[key])), None)
            if found is None:
                problems.append(
                    Problem(where, "has no audit entry (written with the audit bypassed)")
                )
            elif row_digest(table, row) != found.digest:
                changed = _changed_columns(found.fields, field_hints(row))
                problems.append(
                    Problem(
                        where,
                        f"changed since {found.where()} recorded it: {changed}",
                    )
                )
        report.rows[table] = count
    for (table, target_id), entry in sorted(latest.items()):
        problems.append(
            Problem(
                describe(table, target_id),
                f"recorded by {entry.where()} but no longer in the database (deleted)",
            )
        )


def verify(conn: sqlite3.Connection) -> Report:
    report = Report()
    check_database(conn, report)
    check_chain(conn, report)
    return report


def chain_contains(conn: sqlite3.Connection, entry_id: int, entry_hash: str) -> bool:
    """Whether this database's trail still holds an entry another copy (a backup) recorded."""
    row = conn.execute("SELECT hash FROM audit WHERE id = ?", [entry_id]).fetchone()
    return row is not None and row[0] == entry_hash
