"""The hub tests' PostgreSQL: one cluster per test session (tests/helpers/postgres.py), a fresh
database per test. Skipped, with the reason, only where PostgreSQL is not installed; failed
there instead under CI (KAPSESSION_REQUIRE_POSTGRES, set by .ci/run, or CI)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import postgres

from kapsession.cli import commands


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[postgres.Cluster]:
    postgres.server_or_skip()
    with postgres.cluster() as c:
        yield c


@pytest.fixture
def pg_db(pg_cluster: postgres.Cluster) -> str:
    """A new, empty database's name on the session's cluster."""
    return pg_cluster.create_database()


class Hub:
    """A hub made by `kapsession hub init` on a fresh database: rooms a and b."""

    def __init__(self, cluster: postgres.Cluster, dbname: str, folder: Path) -> None:
        self.cluster, self.dbname = cluster, dbname
        self.admin_dsn = cluster.admin_dsn(dbname)
        self.key_file = folder / "clinic.key"
        self.logins_file = folder / "clinic.key.logins"

    def logins(self) -> dict[str, str]:
        """'board' and 'room NAME' -> the login's connection string (over TCP, with password)."""
        out = {}
        for line in self.logins_file.read_text().splitlines():
            who, _, dsn = line.partition(": ")
            out[who] = dsn
        return out

    def room_dsn(self, room: str) -> str:
        return self.logins()[f"room {room}"]


@pytest.fixture
def hub(pg_cluster: postgres.Cluster, pg_db: str, tmp_path: Path) -> Hub:
    made = Hub(pg_cluster, pg_db, tmp_path)
    code = commands.main(
        ["hub", "init", "--dsn", made.admin_dsn, "--clinic-key", str(made.key_file),
         "--room", "a", "--room", "b"]
    )  # fmt: skip
    assert code == 0
    # The logins name the loopback address the tests' cluster listens on.
    lines = made.logins_file.read_text().replace(f"host={pg_cluster.sockets}", "host=127.0.0.1")
    made.logins_file.write_text(lines)
    return made
