"""The JSON timeline export ("kapsession.timeline/1", documented in DESIGN.md and the README)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from kapsession.exports import signature_entries as signing
from kapsession.storage.records import shown_author
from kapsession.storage.store import Event, SessionRecord, Store, iso

FORMAT = "kapsession.timeline/1"
_RESERVED = {"seq", "kind", "at", "t", "tz", "author", "author_role", "amends", "reason"}


def event_dict(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"seq": event.seq, "kind": event.kind, "at": event.at, "t": event.t}
    out["tz"] = event.tz
    # Entries charted by no clinician (before clinicians existed): "unassigned (account X)".
    out["author"] = shown_author(event.author, event.author_role)
    if event.author_role is not None:
        out["author_role"] = event.author_role
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
    doc = document(record, store.events(session_id), exported_at)
    # The client's rating scales over the series (issue 18), when there are any: the PDF
    # summary charts them and the FHIR bundle carries them as QuestionnaireResponses.
    from kapsession.integration.measures import course_document, data_folder

    course = course_document(store, data_folder(store), record.client_code)
    if course is not None:
        doc["measures"] = course
    return doc


def document(record: SessionRecord, events: list[Event], exported_at: datetime) -> dict[str, Any]:
    """The document from a session's record and entries, wherever they were read from (the
    data folder, or the clinic hub: kapsession/hub/hub_export.py)."""
    events = list(events)
    # Ordered by time since dose; seq breaks ties and orders entries made before the dose.
    events.sort(key=lambda e: (e.t if e.t is not None else float("-inf"), e.seq))
    doc: dict[str, Any] = {"format": FORMAT, "exported_at": iso(exported_at)}
    if record.rehearsal:
        doc["notice"] = "REHEARSAL - training data, not a clinical record"
    doc["session"] = session_dict(record)
    doc["session"]["signatures"] = [s.as_json() for s in signing.signatures(events)]
    late = signing.amended_after_signing(events)
    doc["events"] = []
    for e in events:
        if e.kind == signing.KIND:  # in session.signatures
            continue
        entry = event_dict(e)
        if e.seq in late:
            entry["after_signing"] = True
        doc["events"].append(entry)
    return doc


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
