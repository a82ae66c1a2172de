"""`kapsession board --dsn DSN`: the login is checked once before any window (a wrong address,
login or password is one line and exit 2, as the other hub commands), then the window opens and
stays open whatever the hub does (the feed says "unreachable since" and reconnects). No data
folder is opened, so the data folder's lock does not apply."""

from __future__ import annotations

import sys

from kapsession.clock import SystemClock
from kapsession.errors import EXIT_USAGE, KapsessionError


def check_login(dsn: str) -> None:
    """Raises HubError for a login the board cannot use; the hub being away is left to the
    window (a board may start before the server)."""
    import psycopg

    from kapsession.hub.connection import HubError, HubUnavailable, connect, explain
    from kapsession.hub.server_schema import check_level

    try:
        conn = connect(dsn, autocommit=True)
    except HubUnavailable:
        return
    try:
        check_level(conn)
        row = conn.execute(
            "SELECT has_table_privilege('events', 'INSERT') OR "
            "has_table_privilege('sessions', 'UPDATE')"
        ).fetchone()
        if row and row[0]:
            raise HubError(
                "This login can write to the clinic hub: the board takes the read-only board "
                "login (the 'board:' line of hub init's logins file)."
            )
        conn.execute("SELECT 1 FROM room_sync LIMIT 1")
    except psycopg.errors.UndefinedTable:
        raise HubError(
            "The clinic hub's schema is older than this board: run `kapsession hub init` again "
            "(as the hub's owner) to update it."
        ) from None
    except psycopg.Error as exc:
        raise explain(exc, dsn) from None
    finally:
        conn.close()


def run_board(dsn: str) -> int:
    try:
        check_login(dsn)
    except KapsessionError as exc:
        print(f"kapsession: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from PySide6.QtWidgets import QApplication

    from kapsession.hub.board_feed import BoardFeed

    from .window import BoardWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("kapsession board")
    clock = SystemClock()
    window = BoardWindow(clock.now)
    feed = BoardFeed(dsn, window.bridge.snapshot.emit, window.bridge.status.emit, clock=clock)
    feed.start()
    window.show()
    try:
        return int(app.exec())
    finally:
        feed.stop()
