"""The review screen's one call to the wording of an entry: the list's line and the side
panel's title, from the core's one way to say an entry (kapsession.session.entry_text)."""

from __future__ import annotations

from kapsession.integration.review import Review
from kapsession.session.entry_text import amendment_line, describe, note_line
from kapsession.session.entry_text import kind_title as _kind_title
from kapsession.storage.store import Event


def entry_line(review: Review, event: Event) -> str:
    if event.kind == "note":
        detail = review.detail(event.seq)
        text = detail.current_text if detail and detail.current_text is not None else ""
        current = detail.amendments[-1] if detail and detail.amendments else event
        tags = current.data.get("tags") or []
        return note_line(text, tags, "review", amended=bool(detail and detail.amendments))
    if event.kind == "amendment":
        return amendment_line(event.amends, event.reason, str(event.data.get("text", "")))
    return describe(event.kind, event.data, event.reason, style="review")


def kind_title(event: Event) -> str:
    return _kind_title(event.kind)
