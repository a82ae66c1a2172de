"""The client's view of the music (issue 17): three ratings, 0-10 whole numbers, asked after the
session in the integration worksheet or the home screen's quick form.

- ``liking``: how much the client liked the music;
- ``resonance``: how well the music fitted what the client was going through;
- ``openness``: how open the client felt to the music.

They follow the dimensions of the music experience Kaelen et al. (2018) linked to outcomes
(liking, resonance, openness) in spirit; they are not a validated instrument. A rating names the
arc the session played (its id and name, as they were when it was rated), so the course view can
say how each arc was found across sessions.

Stored inside the ``worksheet`` entry's data as ``music_rating`` (kapsession.integration.worksheet):
the worksheet is the kind an ended session still receives, so the ratings need no schema change.
Qt-free; the validation here is the one every caller goes through: every value is checked before
anything is stored, and a refusal names the field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kapsession.errors import InvalidEntry
from kapsession.textcheck import clean_line

# (key, the question as the client hears it, the low anchor, the high anchor); the order shown.
SCALES: tuple[tuple[str, str, str, str], ...] = (
    ("liking", "How much did you like the music?", "not at all", "very much"),
    (
        "resonance",
        "How much did the music fit what you were going through?",
        "not at all",
        "completely",
    ),
    ("openness", "How open did you feel to the music?", "closed", "completely open"),
)
KEYS: tuple[str, ...] = tuple(key for key, *_ in SCALES)
QUESTION_OF: dict[str, str] = {key: question for key, question, *_ in SCALES}
LOWEST, HIGHEST = 0, 10
MAX_ARC_TEXT = 200


@dataclass(frozen=True)
class MusicRating:
    liking: int
    resonance: int
    openness: int
    arc_id: str = ""  # the arc file's id ("" for a session without an arc)
    arc_name: str = ""

    def value(self, key: str) -> int:
        return int(getattr(self, key))

    def to_data(self) -> dict[str, Any]:
        return {
            "liking": self.liking,
            "resonance": self.resonance,
            "openness": self.openness,
            "arc_id": self.arc_id,
            "arc_name": self.arc_name,
        }


def _whole(key: str, value: object) -> int:
    name = key.capitalize()
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise InvalidEntry(f"{name}: give a whole number from {LOWEST} to {HIGHEST}.")
        if not text.removeprefix("-").isdecimal():
            raise InvalidEntry(
                f"{name}: {text[:20]!r} is not a whole number from {LOWEST} to {HIGHEST}."
            )
        value = int(text)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidEntry(f"{name}: give a whole number from {LOWEST} to {HIGHEST}.")
    if not LOWEST <= value <= HIGHEST:
        raise InvalidEntry(f"{name}: {value} is outside {LOWEST} to {HIGHEST}.")
    return value


def validate_rating(raw: Mapping[str, object]) -> MusicRating:
    """A checked rating from a mapping of the three values (ints, or the digits typed) and
    optionally ``arc_id``/``arc_name``; raises InvalidEntry naming the first bad field."""
    if not isinstance(raw, Mapping):
        raise InvalidEntry("The music ratings are three values: liking, resonance, openness.")
    unknown = [k for k in raw if k not in (*KEYS, "arc_id", "arc_name")]
    if unknown:
        raise InvalidEntry(f"Unknown music rating: {str(unknown[0])[:40]!r}.")
    missing = [k for k in KEYS if k not in raw]
    if missing:
        raise InvalidEntry(
            f"{missing[0].capitalize()}: give a whole number from {LOWEST} to {HIGHEST}."
        )
    values = {key: _whole(key, raw[key]) for key in KEYS}
    arc_id = clean_line(_text(raw.get("arc_id")), "Arc id", MAX_ARC_TEXT)
    arc_name = clean_line(_text(raw.get("arc_name")), "Arc name", MAX_ARC_TEXT)
    return MusicRating(arc_id=arc_id, arc_name=arc_name, **values)


def _text(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidEntry("An arc's id and name are text.")
    return value


def read_rating(data: object) -> MusicRating | None:
    """A stored rating read back, or None when there is none (or it is not whole: an old or
    foreign document never breaks a summary)."""
    if not isinstance(data, Mapping):
        return None
    try:
        return validate_rating(data)
    except InvalidEntry:
        return None


def arc_label(rating: MusicRating) -> str:
    """How the arc is named beside a rating: its name, else its id, else "no arc"."""
    return rating.arc_name or rating.arc_id or "no arc"


def rating_line(rating: MusicRating, with_arc: bool = True) -> str:
    """'Music: liking 7, resonance 8, openness 6 (arc Gentle descent)': one wording everywhere."""
    values = ", ".join(f"{key} {rating.value(key)}" for key in KEYS)
    arc = f" (arc {arc_label(rating)})" if with_arc and (rating.arc_name or rating.arc_id) else ""
    return f"Music: {values}{arc}"
