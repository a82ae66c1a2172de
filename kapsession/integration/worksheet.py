"""The integration worksheet: five questions for the integration appointment, pre-filled from
the notes the therapist tagged during the session, plus follow-up items.

Every save is a whole new ``worksheet`` entry (the newest is current; each later version
``amends`` the one before, with an optional reason), so what was written when stays visible."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from kapsession.errors import InvalidEntry, StateError
from kapsession.music.arc import ArcError, load_arc
from kapsession.music.rating import MusicRating, read_rating, validate_rating
from kapsession.session.dose_clock import t_plus
from kapsession.session.live import current_notes
from kapsession.storage.store import Event, Store
from kapsession.textcheck import clean_line, clean_text, without_controls

KIND = "worksheet"

# (key, the question as the therapist and the client read it). The order is the order shown.
QUESTIONS: tuple[tuple[str, str], ...] = (
    ("experienced", "What did you experience or notice?"),
    ("different", "What felt different?"),
    ("insight", "What insight emerged?"),
    ("meaning", "What might it mean for your life?"),
    ("next_step", "What small next step will you take?"),
)
ANSWER_KEYS = tuple(key for key, _ in QUESTIONS)
QUESTION_OF = dict(QUESTIONS)

# An answer may gather many long notes; this still keeps a paste accident out of the record.
MAX_ANSWER = 100_000
MAX_FOLLOW_UP_ITEMS = 50
MAX_FOLLOW_UP_CHARS = 500
MAX_REASON = 500

# Note tag -> label used when the note is copied into an answer.
_EXPERIENCE_TAGS: tuple[tuple[str, str], ...] = (
    ("quote", "Quote"),
    ("image", "Image"),
    ("body", "Body"),
    ("emotion", "Emotion"),
)

# A note for integration that starts "follow-up:" / "todo:" is a task for the therapist; one that
# starts "next step:" is the client's own next step. Anything else is about what it means.
_FOLLOW_UP = re.compile(r"(?:follow[ -]?up|to[ -]?do)\s*[:–-]\s*", re.IGNORECASE)
_NEXT_STEP = re.compile(r"next[ -]step\s*[:–-]\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Worksheet:
    answers: Mapping[str, str] = field(default_factory=dict)
    follow_up: tuple[str, ...] = ()
    shared: tuple[str, ...] = ()
    from_notes: tuple[int, ...] = ()
    # The client's three ratings of the music (issue 17), when they were asked.
    music: MusicRating | None = None

    def answer(self, key: str) -> str:
        return self.answers.get(key, "")

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "answers": {key: self.answer(key) for key in ANSWER_KEYS},
            "follow_up": list(self.follow_up),
            "shared": list(self.shared),
            "from_notes": list(self.from_notes),
        }
        if self.music is not None:  # only then: a worksheet without ratings reads as before
            data["music_rating"] = self.music.to_data()
        return data

    def has_answers(self) -> bool:
        """Whether anything but the music ratings was written (a quick form's version has not)."""
        return any(self.answers.get(k) for k in ANSWER_KEYS) or bool(self.follow_up)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Worksheet:
        answers = data.get("answers")
        answers = answers if isinstance(answers, Mapping) else {}
        return cls(
            answers={k: v for k in ANSWER_KEYS if isinstance(v := answers.get(k), str)},
            follow_up=tuple(x for x in _list(data.get("follow_up")) if isinstance(x, str)),
            shared=tuple(k for k in ANSWER_KEYS if k in _list(data.get("shared"))),
            from_notes=tuple(
                x
                for x in _list(data.get("from_notes"))
                if isinstance(x, int) and not isinstance(x, bool)
            ),
            music=read_rating(data.get("music_rating")),
        )


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def validate_worksheet(ws: Worksheet) -> Worksheet:
    """Return a cleaned worksheet or raise InvalidEntry naming the field."""
    unknown = [k for k in ws.answers if k not in ANSWER_KEYS]
    if unknown:
        raise InvalidEntry(f"Unknown worksheet question: {unknown[0]!r}.")
    answers = {key: clean_text(ws.answer(key), QUESTION_OF[key], MAX_ANSWER) for key in ANSWER_KEYS}
    items = list(ws.follow_up)
    if len(items) > MAX_FOLLOW_UP_ITEMS:
        raise InvalidEntry(f"A worksheet can hold at most {MAX_FOLLOW_UP_ITEMS} follow-up items.")
    follow_up = []
    for n, item in enumerate(items, 1):
        text = clean_line(item, f"Follow-up item {n}", MAX_FOLLOW_UP_CHARS)
        if not text:
            raise InvalidEntry(f"Follow-up item {n} is empty; write it or remove it.")
        follow_up.append(text)
    bad = [k for k in ws.shared if k not in ANSWER_KEYS]
    if bad:
        raise InvalidEntry(f"Only the worksheet's answers can be shared, not {bad[0]!r}.")
    notes = list(ws.from_notes)
    if any(isinstance(n, bool) or not isinstance(n, int) for n in notes):
        raise InvalidEntry("The notes a worksheet was filled from are given by their numbers.")
    music = None if ws.music is None else validate_rating(ws.music.to_data())
    return Worksheet(
        answers=answers,
        follow_up=tuple(follow_up),
        shared=tuple(k for k in ANSWER_KEYS if k in ws.shared),
        from_notes=tuple(sorted(set(notes))),
        music=music,
    )


# --- pre-filling from the notes -----------------------------------------------------------------


def t_mark(t: float | None) -> str:
    """T+mm:ss (T+h:mm:ss past an hour), as on the live screen; "" before the dose."""
    return "" if t is None else t_plus(t)


def _line(t: float | None, label: str, text: str) -> str:
    mark = t_mark(t)
    body = f"“{text}”" if label == "Quote" else text
    lead = f"{mark}  " if mark else ""
    return f"{lead}{label}: {body}" if label else f"{lead}{body}"


def _fits_follow_up(text: str) -> bool:
    try:
        return bool(clean_line(text, "Follow-up item", MAX_FOLLOW_UP_CHARS))
    except InvalidEntry:
        return False


def prefill(events: Sequence[Event]) -> Worksheet:
    """A first draft from the session's notes, as last amended: quotes, images, body and emotion
    notes under what was experienced; insights under insight; notes flagged only "for
    integration" under what it means, or, when they start "next step:", under the next step, and
    when they start "follow-up:" or "todo:" (one line), as a follow-up item. Each note goes to one
    place, with its T+mm:ss."""
    gathered: dict[str, list[str]] = {key: [] for key in ANSWER_KEYS}
    follow_up: list[str] = []
    used: list[int] = []
    for note, amendment in current_notes(list(events)):
        latest = amendment if amendment is not None else note
        raw = latest.data.get("text")
        tags = _list(latest.data.get("tags"))
        if not isinstance(raw, str) or not raw.strip():
            continue
        text = without_controls(raw)
        experience = [label for tag, label in _EXPERIENCE_TAGS if tag in tags]
        if "insight" in tags:
            gathered["insight"].append(_line(note.t, "", text))
        elif experience:
            gathered["experienced"].append(_line(note.t, " · ".join(experience), text))
        elif "integration" in tags:
            text = text.strip()
            task = _FOLLOW_UP.match(text)
            step = _NEXT_STEP.match(text)
            rest = text[task.end() :] if task else ""
            if task and _fits_follow_up(rest) and len(follow_up) < MAX_FOLLOW_UP_ITEMS:
                follow_up.append(rest)
            elif step and text[step.end() :]:
                gathered["next_step"].append(_line(note.t, "", text[step.end() :]))
            else:
                gathered["meaning"].append(_line(note.t, "", text))
        else:
            continue
        used.append(note.seq)
    return Worksheet(
        answers={key: "\n".join(lines) for key, lines in gathered.items() if lines},
        follow_up=tuple(follow_up),
        from_notes=tuple(used),
    )


# --- storage ------------------------------------------------------------------------------------


def save_worksheet(
    store: Store,
    session_id: int,
    ws: Worksheet,
    at: datetime,
    tz: str,
    author: str,
    t: float | None = None,
    reason: str | None = None,
) -> Event:
    """Add a new version; returns after its COMMIT returned."""
    ws = validate_worksheet(ws)
    why = clean_line(reason or "", "Reason for the change", MAX_REASON) or None
    record = store.session(session_id)  # StateError when there is no such session
    if record.state == "planned":
        raise StateError("The worksheet follows the session: give the dose first.")
    if is_signed(store, session_id):
        what = "music ratings" if ws.music is not None else "worksheet"
        raise StateError(
            f"The session is signed, so its record is closed: the {what} can no longer be "
            "saved (a signed session takes only amendments)."
        )
    with store.db.atomic():
        previous = current_worksheet(store, session_id)
        return store.append(
            session_id,
            KIND,
            at,
            tz,
            t if record.state == "running" else None,
            ws.to_data(),
            author,
            amends=previous[1].seq if previous else None,
            reason=why,
        )


def is_signed(store: Store, session_id: int) -> bool:
    return any(e.kind == "signature" for e in store.events(session_id))


def session_arc(store: Store, session_id: int) -> tuple[str, str]:
    """(id, name) of the arc the session played, as its file says now; the file's stem and ""
    when it cannot be read any more; ("", "") for a session without music."""
    path = store.session(session_id).arc
    if not path:
        return "", ""
    try:
        arc = load_arc(path)
    except (ArcError, OSError, ValueError):
        return Path(path).stem, ""
    return arc.id, arc.name


def save_music_rating(
    store: Store,
    session_id: int,
    values: Mapping[str, object],
    at: datetime,
    tz: str,
    author: str,
    reason: str | None = None,
) -> Event:
    """The client's three music ratings (kapsession.music.rating) as a new worksheet version:
    the current worksheet's answers kept, the ratings (with the session's arc) set. Checked
    whole before anything is written."""
    raw = dict(values)
    if "arc_id" not in raw and "arc_name" not in raw:
        raw["arc_id"], raw["arc_name"] = session_arc(store, session_id)
    rating = validate_rating(raw)
    current = current_worksheet(store, session_id)
    base = current[0] if current else Worksheet()
    return save_worksheet(
        store, session_id, replace(base, music=rating), at, tz, author, reason=reason
    )


def worksheet_history(store: Store, session_id: int) -> list[tuple[Worksheet, Event]]:
    """Every saved version, oldest first."""
    return [(Worksheet.from_data(e.data), e) for e in store.events(session_id) if e.kind == KIND]


def current_worksheet(store: Store, session_id: int) -> tuple[Worksheet, Event] | None:
    history = worksheet_history(store, session_id)
    return history[-1] if history else None


def changes(before: Worksheet | None, after: Worksheet) -> list[str]:
    """What a version changed, in words for the history list (never the text itself)."""
    if before is None:
        return ["first version"]
    what = [QUESTION_OF[key] for key in ANSWER_KEYS if before.answer(key) != after.answer(key)]
    if before.follow_up != after.follow_up:
        what.append("follow-up items")
    if before.shared != after.shared:
        what.append("what is shared on the take-home sheet")
    if before.music != after.music:
        what.append("music ratings")
    return what or ["no change"]
