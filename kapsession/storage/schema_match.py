"""Whether a database's schema is exactly the one this version of kapsession creates.

A database file carries its own schema: a backup (or a data folder edited by hand) can hold an
extra trigger that forges a note beside every real one or fails every save, a view, or a table
whose append-only triggers were dropped, and every row would still verify. So `verify` and
`restore` hold every sqlite_master row (tables, columns, indexes, triggers, views), normalised,
against a reference built here by running this version's own migrations (kapsession/schema.py)
in memory up to the candidate's migration level: the reference can never drift from the code.

The migration level is the list of migrations the file records as applied; it must be a
prefix of the ones this version knows, in order (a name we do not know means a newer
kapsession wrote it)."""

from __future__ import annotations

import re
import sqlite3
from functools import lru_cache
from typing import NamedTuple

from kapsession.storage import schema
from kapsession.storage.records import import_sqlite_utils

_SPACE = re.compile(r"\s+")


class SchemaObject(NamedTuple):
    type: str
    name: str
    table: str
    sql: str

    def label(self) -> str:
        return f"{self.type} {self.name}"


class NewerSchema(Exception):
    """The file records a migration this version does not know."""


def _normalised(sql: str | None) -> str:
    return _SPACE.sub(" ", sql or "").strip()


def objects(conn: sqlite3.Connection) -> dict[tuple[str, str], SchemaObject]:
    """Every schema object of the main database, keyed by (type, name)."""
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM main.sqlite_master").fetchall()
    return {
        (str(t), str(n)): SchemaObject(str(t), str(n), str(tbl), _normalised(sql))
        for t, n, tbl, sql in rows
    }


def level(conn: sqlite3.Connection) -> tuple[str, ...]:
    """The migrations the file records as applied, in the order they were applied. Raises
    NewerSchema for one this version does not know, or ValueError when the record is not a
    prefix of ours (edited, or not a kapsession database)."""
    exists = conn.execute(
        "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
    ).fetchone()
    if not exists:
        return ()
    try:
        rows = conn.execute(
            "SELECT migration_set, name FROM _sqlite_migrations ORDER BY rowid"
        ).fetchall()
    except sqlite3.OperationalError:
        raise ValueError("its record of schema changes is not kapsession's") from None
    known = schema.migration_names()
    names = []
    for migration_set, name in rows:
        if migration_set != schema.migrations.name:
            raise ValueError(f"it records schema changes of another program ({migration_set!r})")
        if name not in known:
            raise NewerSchema(str(name))
        names.append(str(name))
    if names != known[: len(names)]:
        raise ValueError("its record of schema changes is out of order or has gaps")
    return tuple(names)


@lru_cache(maxsize=8)
def reference(applied: tuple[str, ...]) -> dict[tuple[str, str], SchemaObject]:
    """The schema this version creates at a migration level, built in memory (once per level)."""
    import_sqlite_utils()
    from sqlite_utils import Database

    db = Database(memory=True, execute_plugins=False)
    try:
        known = schema.migration_names()
        stop = known[len(applied)] if len(applied) < len(known) else None
        if applied:
            schema.migrations.apply(db, stop_before=stop)
        return objects(db.conn)
    finally:
        db.close()


def differences(conn: sqlite3.Connection) -> list[str]:
    """How the file's schema differs from this version's at its level, first difference first
    (empty when identical). Each is one sentence naming the object."""
    try:
        applied = level(conn)
    except NewerSchema as exc:
        return [
            f"it was written by a newer version of kapsession (schema change {exc} is not "
            "known to this version)"
        ]
    except ValueError as exc:
        return [str(exc)]
    expected, found = reference(applied), objects(conn)
    if not applied and found:
        return [
            "it has tables but no record of kapsession's schema changes (not a kapsession "
            "database, or that record was removed)"
        ]
    out = []
    for key in sorted(found.keys() - expected.keys()):
        out.append(f"{found[key].label()} is not part of kapsession's schema")
    for key in sorted(expected.keys() - found.keys()):
        out.append(f"{expected[key].label()} is missing (kapsession's schema has it)")
    for key in sorted(found.keys() & expected.keys()):
        if found[key] != expected[key]:
            out.append(f"{found[key].label()} differs from the one kapsession creates")
    return out
