"""The JSON timeline export ("kapsession.timeline/1", documented in DESIGN.md and the README)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from kapsession.storage.store import Event, SessionRecord, Store, iso

FORMAT = "kapsession.timeline/1"
_RESERVED = {"seq", "kind", "at", "t", "tz", "author", "amends", "reason"}


def event_dict(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"seq": event.seq, "kind": event.kind, "at": event.at, "t": event.t}
    out["tz"] = event.tz
    if event.author:
        out["author"] = event.author
    if event.amends is not None:
        out["amends"] = event.amends
    if event.reason is not None:
        out["reason"] = event.reason
    for key, value in event.data.items():
        out[f"data_{key}" if key in _RESERVED else key] = value
    return out


def session_dict(record: SessionRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "client": record.client_code,
        "protocol": record.protocol,
        "route": record.route,
        "dose_mg": record.dose_mg,
        "rehearsal": record.rehearsal,
        "state": record.state,
        "intention": record.intention,
        "planned_minutes": record.planned_minutes,
        "arc": record.arc,
        "dose_at": record.dose_at,
        "dose_tz": record.dose_tz,
        "ended_at": record.ended_at,
    }


def timeline(store: Store, session_id: int, exported_at: datetime) -> dict[str, Any]:
    record = store.session(session_id)
    events = store.events(session_id)
    # Ordered by time since dose; seq breaks ties and orders entries made before the dose.
    events.sort(key=lambda e: (e.t if e.t is not None else float("-inf"), e.seq))
    doc: dict[str, Any] = {"format": FORMAT, "exported_at": iso(exported_at)}
    if record.rehearsal:
        doc["notice"] = "REHEARSAL - training data, not a clinical record"
    doc["session"] = session_dict(record)
    doc["events"] = [event_dict(e) for e in events]
    return doc


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
