"""What the review's side panel says, decided without Qt: an entry's paragraphs in order (a
note with its amendments and the original kept, an alert with its threshold and who
acknowledged it), and before any selection how many markers each lane holds. The screen only
draws them."""

from __future__ import annotations

from dataclasses import dataclass

from kapsession.integration.review import Review
from kapsession.storage.store import Event


def lane_counts(review: Review) -> dict[str, int]:
    """How many markers each lane holds, in the order the lanes first appear (the session's
    own start and end are not counted)."""
    counts = review.markers.lane_counts()
    counts.pop("session", None)
    return counts


@dataclass(frozen=True)
class DetailPart:
    """One paragraph of the side panel. `role` says what it is, the screen how it looks:
    tags (a note's current tags), text (a note's current text), original (the text as first
    written, shown once a note was amended), amendment (`event`, numbered from 1), line (the
    entry in words), threshold (an alert's source), reason, check, unacknowledged (an alert no
    one acknowledged), acknowledged (`event`, with what was said)."""

    role: str
    text: str = ""
    event: Event | None = None
    number: int = 0


def detail_parts(review: Review, seq: int) -> tuple[Event, tuple[DetailPart, ...]] | None:
    """What the side panel says about an entry (an amendment shows the note it amends), after
    its title and time: the entry and its parts, in order. None for an unknown entry."""
    detail = review.detail(seq)
    if detail is None:
        return None
    event = detail.event
    parts: list[DetailPart] = []
    if event.kind == "note":
        # The tags as they are now: an amendment may have changed them.
        current = detail.amendments[-1] if detail.amendments else event
        tags = current.data.get("tags") or []
        if tags:
            parts.append(DetailPart("tags", ", ".join(tags)))
        parts.append(DetailPart("text", detail.current_text or ""))
        if detail.amendments:
            parts.append(DetailPart("original", str(event.data.get("text", ""))))
            for n, amendment in enumerate(detail.amendments, 1):
                text = str(amendment.data.get("text", ""))
                parts.append(DetailPart("amendment", text, amendment, n))
        return event, tuple(parts)
    parts.append(DetailPart("line", event=event))
    if event.kind == "alert" and event.data.get("source"):
        parts.append(DetailPart("threshold", str(event.data["source"])))
    if event.reason:
        parts.append(DetailPart("reason", event.reason))
    if event.data.get("check"):
        parts.append(DetailPart("check", str(event.data["check"])))
    if event.kind == "alert" and not detail.acknowledgements:
        parts.append(DetailPart("unacknowledged"))
    for ack in detail.acknowledgements:
        parts.append(DetailPart("acknowledged", str(ack.data.get("text") or ""), ack))
    return event, tuple(parts)
