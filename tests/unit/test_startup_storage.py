"""The store's start-up path: a returning launch reads its database through sqlite3 alone
(sqlite-utils, with click, dateutil and pluggy, is imported on the first write or a pending
migration), and the migrations' scripts are split as sqlite-utils splits them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlite_utils.db import _iter_complete_sql_statements

from kapsession.storage import schema
from kapsession.storage.records import split_statements
from kapsession.storage.store import Store

SCRIPTS = [
    "CREATE TABLE a (x); -- a comment; with a semicolon\n"
    "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT ';'; SELECT 1; END; /* x; */ SELECT 2",
    "SELECT 'a;b'; SELECT \"c;\";",
    "SELECT 1",
    "",
    " ; ;",
]


def test_scripts_split_as_sqlite_utils_splits_them() -> None:
    for script in SCRIPTS:
        assert list(split_statements(script)) == list(_iter_complete_sql_statements(script))


def test_migration_names_are_the_sqlite_utils_sets(tmp_path: Path) -> None:
    assert schema.migration_names() == [m.name for m in schema.migrations._migrations]
    store = Store.open(tmp_path / "data")
    try:
        assert schema.applied_names(store.conn) == schema.migration_names()
        assert not schema.needs_migrating(store.conn)
    finally:
        store.close()


_PROBE = """
import json, sys
from pathlib import Path
from kapsession.storage.store import Store
store = Store.open(Path(sys.argv[1]))
store.sessions(); store.clients(); store.running_session(); store.audit_head()
before = "sqlite_utils" in sys.modules
store.audit("lock", "app")
from sqlite_utils import plugins
print(json.dumps([before, "sqlite_utils" in sys.modules, plugins._plugins_loaded]))
store.close()
"""


def test_a_returning_open_reads_without_sqlite_utils(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    Store.open(folder).close()  # the first launch: migrations (through sqlite-utils)
    env = dict(os.environ)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(folder)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    before, after_write, scanned = json.loads(done.stdout)
    assert not before, "sqlite-utils was imported on the way to reading the session list"
    assert after_write, "a write goes through sqlite-utils"
    assert not scanned, "sqlite-utils scanned the installed packages' entry points for plugins"
