"""The review screen's one call to the wording of an entry: the list's line and the side
panel's title. Everything on this screen that turns an entry into words comes through here, so
it follows the shared formatter wherever that lives."""

from __future__ import annotations

from kapsession.integration.review import Review
from kapsession.storage.store import Event
from ui.format import describe_event

_TITLES = {
    "note": "Note",
    "vitals": "Vitals",
    "alert": "Alert",
    "observation": "Observation",
    "dose": "Dose",
    "session_ended": "End of session",
    "discharge": "Discharge check",
    "phase": "Music phase",
    "track_started": "Track",
    "playback_fault": "Playback fault",
    "gap": "Gap",
    "suspend": "Laptop asleep",
    "clock_jump": "Clock change",
}


def entry_line(review: Review, event: Event) -> str:
    if event.kind == "note":
        detail = review.detail(event.seq)
        text = detail.current_text if detail and detail.current_text is not None else ""
        current = detail.amendments[-1] if detail and detail.amendments else event
        tags = current.data.get("tags") or []
        mark = " (amended)" if detail and detail.amendments else ""
        prefix = f"[{', '.join(tags)}] " if tags else ""
        return f"Note: {prefix}{' '.join(text.split())[:300]}{mark}"
    if event.kind == "amendment":
        return f"Amendment of #{event.amends} ({event.reason}): {' '.join(str(event.data.get('text', '')).split())[:300]}"
    if event.kind == "track_started":
        return f"♪ {event.data.get('title') or event.data.get('path')} started"
    if event.kind == "track_ended":
        return f"♪ {event.data.get('title') or event.data.get('path')} ended"
    if event.kind == "playback_fault":
        return f"Playback fault: {event.data.get('detail', '')} ({event.data.get('path', '')})"
    if event.kind == "worksheet":
        return "Integration worksheet saved"
    if event.kind == "preparation":
        return "Preparation saved"
    try:
        return describe_event(event)
    except (KeyError, TypeError, ValueError):
        return event.kind.replace("_", " ")


def kind_title(event: Event) -> str:
    if event.kind.startswith("check_"):
        return "Check " + event.kind.removeprefix("check_")
    return _TITLES.get(event.kind, event.kind.replace("_", " ").capitalize())
