from __future__ import annotations

import psycopg
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
