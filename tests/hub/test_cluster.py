from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from helpers import postgres
from helpers.postgres import Cluster


def test_each_test_gets_a_fresh_database_on_the_private_cluster(
    pg_cluster: Cluster, pg_db: str
) -> None:
    with psycopg.connect(pg_cluster.admin_dsn(pg_db)) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
        where = conn.execute("SHOW unix_socket_directories").fetchone()
    assert tables == (0,)
    assert where is not None and str(pg_cluster.root) in where[0]


def test_a_missing_postgresql_fails_the_hub_tests_under_ci_and_skips_them_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(postgres, "server_bin", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv(postgres.REQUIRE_ENV, "1")  # what .ci/run sets
    with pytest.raises(pytest.fail.Exception, match="the hub tests must run here"):
        postgres.server_or_skip()
    monkeypatch.delenv(postgres.REQUIRE_ENV)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        postgres.server_or_skip()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
        postgres.server_or_skip()


def test_ci_run_requires_postgresql() -> None:
    ci = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert f"export {postgres.REQUIRE_ENV}=1" in ci
