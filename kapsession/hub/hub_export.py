"""A session read back from the clinic hub (its sealed text opened with the clinic key) into
the same records the laptop keeps, and so into the same kapsession.timeline/1 document its own
`kapsession export --format json` gives (exports/timeline_json.document)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kapsession.exports import timeline_json
from kapsession.hub import clinic_key
from kapsession.hub.connection import HubError
from kapsession.storage.records import Event, SessionRecord

if TYPE_CHECKING:
    import psycopg


def _pick(pg: psycopg.Connection[Any], room: str, which: str) -> dict[str, Any]:
    cur = pg.cursor(row_factory=_dict_rows())
    base = (
        "SELECT s.*, c.code AS client_code FROM sessions s JOIN clients c ON c.gid = s.client_gid "
        "WHERE s.room = %s"
    )
    if which == "latest":  # as the laptop picks it: the last started session, else the last
        found = cur.execute(
            base
            + " ORDER BY (s.state <> 'planned') DESC, s.local_id DESC, s.pushed_at DESC LIMIT 1",
            [room],
        ).fetchall()
        if not found:
            raise HubError(f"The clinic hub has no sessions of room {room!r}.")
        return dict(found[0])
    if not which.isascii() or not which.isdigit() or int(which) > 2**63 - 1:
        raise HubError(f"--session must be a session number or 'latest', not {which!r}.")
    found = cur.execute(base + " AND s.local_id = %s", [room, int(which)]).fetchall()
    if not found:
        raise HubError(f"The clinic hub has no session {which} of room {room!r}.")
    if len(found) > 1:
        raise HubError(
            f"Room {room!r} has sent a session {which} from {len(found)} different data folders."
        )
    return dict(found[0])


def _dict_rows() -> Any:
    from psycopg.rows import dict_row

    return dict_row


def _open(key: bytes, gid: str, blob: bytes) -> dict[str, Any]:
    value = json.loads(clinic_key.open_sealed(key, gid, bytes(blob)))
    if not isinstance(value, dict):
        raise HubError("A hub row's sealed text is not what kapsession seals.")
    return value


def session_document(
    pg: psycopg.Connection[Any], key: bytes, room: str, which: str, exported_at: datetime
) -> dict[str, Any]:
    row = _pick(pg, room, which)
    secret = _open(key, row["gid"], row["sealed"])
    record = SessionRecord(
        id=int(row["local_id"]),
        client_id=0,
        client_code=row["client_code"],
        protocol=row["protocol"],
        route=row["route"],
        dose_mg=row["dose_mg"],
        planned_minutes=row["planned_minutes"],
        intention=secret["intention"],
        rehearsal=bool(row["rehearsal"]),
        time_scale=row["time_scale"],
        clock_origin=row["clock_origin"],
        state=row["state"],
        created_at=row["created_at"],
        dose_at=row["dose_at"],
        dose_tz=row["dose_tz"],
        anchor=None,
        ended_at=row["ended_at"],
        ended_t=row["ended_t"],
        arc=row["arc"],
    )
    events = []
    cur = pg.cursor(row_factory=_dict_rows())
    for e in cur.execute(
        "SELECT * FROM events WHERE session_gid = %s ORDER BY local_seq", [row["gid"]]
    ):
        sealed = _open(key, e["gid"], e["sealed"])
        events.append(
            Event(
                seq=int(e["local_seq"]),
                session_id=record.id,
                kind=e["kind"],
                at=e["at"],
                tz=e["tz"],
                t=e["t"],
                author=sealed["author"],
                amends=e["amends"],
                reason=sealed["reason"],
                data=sealed["data"],
                author_role=e["author_role"],
            )
        )
    return timeline_json.document(record, events, exported_at)
