"""The hub tests' PostgreSQL: one cluster per test session (tests/helpers/postgres.py), a fresh
database per test. Skipped, with the reason, only where PostgreSQL is not installed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers import postgres


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[postgres.Cluster]:
    if postgres.server_bin() is None:
        pytest.skip(postgres.SKIP_REASON)
    with postgres.cluster() as c:
        yield c


@pytest.fixture
def pg_db(pg_cluster: postgres.Cluster) -> str:
    """A new, empty database's name on the session's cluster."""
    return pg_cluster.create_database()
