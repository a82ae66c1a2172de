"""`kapsession hub init|join|sync|export` (DESIGN.md, "A clinic of several rooms")."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from kapsession.cli.terminal_text import printable
from kapsession.clock import SystemClock
from kapsession.errors import KapsessionError
from kapsession.storage.store import Store

EXIT_HUB_AWAY = 1


def _say(text: object, file: TextIO) -> None:
    print(printable(text), file=file)


def add_parsers(sub: Any, common: argparse.ArgumentParser, parser_class: type) -> None:
    hub = sub.add_parser("hub", parents=[common], help="the clinic hub (PostgreSQL) rooms sync to")
    hub_sub = hub.add_subparsers(
        dest="hub_command", metavar="ACTION", parser_class=parser_class, required=True
    )
    init = hub_sub.add_parser(
        "init", parents=[common], help="create the hub's schema, roles and a new clinic key"
    )
    init.add_argument("--dsn", required=True, help="the hub database, as its owner")
    init.add_argument(
        "--clinic-key", required=True, metavar="FILE", help="the new clinic key file to write"
    )
    init.add_argument(
        "--room",
        action="append",
        default=[],
        metavar="NAME",
        help="a room to create a login for (repeat for several; again later to add rooms)",
    )
    init.add_argument(
        "--logins",
        metavar="FILE",
        help="where the new logins' connection strings go (0600; default: FILE.logins beside "
        "the clinic key)",
    )
    join = hub_sub.add_parser("join", parents=[common], help="make this data folder sync to a hub")
    join.add_argument("--dsn", required=True, help="the room's line from hub init's logins file")
    join.add_argument("--room", required=True, metavar="NAME")
    join.add_argument("--clinic-key", required=True, metavar="FILE")
    hub_sub.add_parser("sync", parents=[common], help="push everything pending to the hub now")
    export = hub_sub.add_parser(
        "export", parents=[common], help="a session as the hub holds it (timeline JSON)"
    )
    export.add_argument("--dsn", required=True)
    export.add_argument("--clinic-key", required=True, metavar="FILE")
    export.add_argument("--room", required=True, metavar="NAME")
    export.add_argument("--session", default="latest", metavar="ID|latest")
    export.add_argument("--format", required=True, choices=["json"])
    board = sub.add_parser(
        "board",
        parents=[common],
        help="the room board: every room of the clinic hub live, in one window",
    )
    board.add_argument(
        "--dsn", required=True, help="the hub, as its read-only board login (hub init's logins)"
    )


def run(
    args: argparse.Namespace,
    out: TextIO,
    folder: Path,
    open_store: Callable[[Path], Store],
) -> int:
    if args.hub_command == "init":
        return _init(args, out)
    if args.hub_command == "join":
        return _join(args, folder, out)
    if args.hub_command == "export":
        return _export(args, out)
    return _sync(folder, open_store, out)


def _init(args: argparse.Namespace, out: TextIO) -> int:
    from kapsession.hub import clinic_key, server_schema
    from kapsession.hub.connection import connect, explain, with_password

    key_path = Path(args.clinic_key)
    logins = Path(args.logins) if args.logins else key_path.with_name(key_path.name + ".logins")
    for name in args.room:
        server_schema.check_room_name(name)
    conn = connect(args.dsn, autocommit=True)
    try:
        import psycopg

        made_key = False
        if not server_schema.applied(conn):
            clinic_key.create(key_path)  # refuses an existing file, before the hub is touched
            made_key = True
        try:
            result = server_schema.init(conn, args.room)
        except BaseException:
            if made_key:  # never used: no sealed text opens with it
                key_path.unlink(missing_ok=True)
            raise
    except psycopg.Error as exc:
        raise explain(exc, args.dsn) from None
    finally:
        conn.close()
    lines = []
    if result.board_password is not None:
        lines.append(
            f"board: {with_password(_as(args.dsn, result.roles.board), result.board_password)}"
        )
    for name, password in result.rooms_added.items():
        lines.append(
            f"room {name}: {with_password(_as(args.dsn, result.roles.room(name)), password)}"
        )
    if lines:
        fd = os.open(logins, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, ("\n".join(lines) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    rooms = ", ".join(result.rooms_added) or "none new"
    if result.created:
        _say(
            f"Clinic hub ready (schema {len(result.migrated)} step(s); rooms: {rooms}); clinic key "
            f"written to {key_path}; logins in {logins} (give each laptop its room's line with "
            "`kapsession hub join`).",
            file=out,
        )
    elif result.migrated or result.rooms_added:
        _say(
            f"Clinic hub updated ({len(result.migrated)} schema step(s); rooms added: {rooms}); "
            f"new logins in {logins}.",
            file=out,
        )
    else:
        _say("The clinic hub is already set up; nothing was changed.", file=out)
    return 0


def _as(dsn: str, user: str) -> str:
    from psycopg import conninfo

    from kapsession.hub.connection import parse_dsn

    parts = parse_dsn(dsn)
    parts.pop("password", None)
    parts["user"] = user
    return conninfo.make_conninfo(**parts)


def _join(args: argparse.Namespace, folder: Path, out: TextIO) -> int:
    from kapsession.hub import settings
    from kapsession.storage.store import prepare_folder

    prepare_folder(folder)
    joined = settings.join(folder, args.dsn, args.room, Path(args.clinic_key))
    _say(
        f"This data folder syncs to the clinic hub ({joined.dsn}) as room {joined.room}.",
        file=out,
    )
    return 0


def _sync(folder: Path, open_store: Callable[[Path], Store], out: TextIO) -> int:
    from kapsession.hub import settings, sync
    from kapsession.hub.connection import HubUnavailable
    from kapsession.hub.status_text import waiting_text

    hub = settings.load(folder)
    if hub is None:
        raise KapsessionError(
            f"The data folder {folder} has not joined a clinic hub: run `kapsession hub join`."
        )
    store = open_store(folder)
    try:
        try:
            sent = sync.sync_now(store.conn, hub)
        except HubUnavailable as exc:
            left = sync.waiting(store.conn)
            _say(f"kapsession: {exc} {waiting_text(left)}.", file=sys.stderr)
            return EXIT_HUB_AWAY
        _say(
            f"Sent {sent.clients} client(s), {sent.sessions} session update(s), {sent.entries} "
            "entries; nothing is left to send.",
            file=out,
        )
        return 0
    finally:
        store.close()


def _export(args: argparse.Namespace, out: TextIO) -> int:
    import psycopg

    from kapsession.exports import timeline_json
    from kapsession.hub import clinic_key, hub_export, server_schema
    from kapsession.hub.connection import connect, explain

    key = clinic_key.read(Path(args.clinic_key))
    server_schema.check_room_name(args.room)
    conn = connect(args.dsn)
    try:
        server_schema.check_level(conn)
        doc = hub_export.session_document(conn, key, args.room, args.session, SystemClock().now())
    except psycopg.Error as exc:
        raise explain(exc, args.dsn) from None
    finally:
        conn.close()
    out.write(timeline_json.dumps(doc))
    return 0
