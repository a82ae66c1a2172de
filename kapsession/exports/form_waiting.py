"""Sessions whose monitoring form has not been exported yet (issue 15): ended clinical sessions
with no `export` entry of format "form" on their timeline, oldest first, with the days since
the session (clinics file the REMS form within days of each session)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kapsession.storage.store import SessionRecord, Store, parse_iso

FORM = "form"


@dataclass(frozen=True)
class FormWaiting:
    session: SessionRecord
    days: int  # whole days since the dose (or the end) to `now`


# One query for the whole folder: the sessions with a form export on their timeline.
_EXPORTED_SQL = """
SELECT DISTINCT session_id FROM events
WHERE kind = 'export' AND json_extract(data, '$.format') = ?
"""


def forms_waiting(store: Store, now: datetime) -> list[FormWaiting]:
    """Ended, non-rehearsal sessions without an exported form, oldest first."""
    done = {row[0] for row in store.db.execute(_EXPORTED_SQL, [FORM]).fetchall()}
    out: list[FormWaiting] = []
    for record in store.sessions():
        if record.state != "ended" or record.rehearsal or record.id in done:
            continue
        stamp = record.dose_at or record.ended_at
        days = max(0, (now - parse_iso(stamp)).days) if stamp else 0
        out.append(FormWaiting(record, days))
    out.sort(key=lambda w: (w.session.dose_at or w.session.ended_at or "", w.session.id))
    return out


def waiting_line(w: FormWaiting) -> str:
    day = "today" if w.days == 0 else "1 day ago" if w.days == 1 else f"{w.days} days ago"
    return f"#{w.session.id} · {w.session.client_code} · session {day} · form not exported"
