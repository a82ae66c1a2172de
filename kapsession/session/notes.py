"""Quick notes: the tags a therapist can put on them and the one-keystroke prefix syntax.

A note may start with tag letters and a colon, e.g. ``q: I can see the ocean`` (quote) or
``qf: ...`` (quote, for integration). The letters are lower-case only, so ordinary sentences
("I: ...") are never mistaken for tags."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kapsession.errors import InvalidEntry

# (tag, prefix letter, label) in the order they are shown.
TAGS: tuple[tuple[str, str, str], ...] = (
    ("quote", "q", "Quote"),
    ("emotion", "e", "Emotion"),
    ("body", "b", "Body"),
    ("image", "i", "Image"),
    ("insight", "n", "Insight"),
    ("integration", "f", "For integration"),
)
TAG_NAMES = tuple(t for t, _, _ in TAGS)
_BY_LETTER = {letter: tag for tag, letter, _ in TAGS}
_PREFIX = re.compile(r"^([" + "".join(_BY_LETTER) + r"]{1,6}):\s*")

# Far above anything typed in a session (100 kB notes are saved intact), low enough that a
# paste accident cannot bloat the record.
MAX_NOTE_CHARS = 1_000_000
# Lone surrogates cannot be stored as UTF-8; a regex finds them in 3 ms in a 1 MB note, where
# a per-character unicodedata check took 92 ms (measured in bench/).
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Note:
    text: str
    tags: tuple[str, ...]


def parse_note(raw: str, tags: tuple[str, ...] | list[str] = ()) -> Note:
    """Turn what was typed (plus tags chosen by click) into a note, or refuse with a reason."""
    chosen = list(tags)
    text = raw
    match = _PREFIX.match(text)
    if match and len(set(match.group(1))) == len(match.group(1)):
        chosen.extend(_BY_LETTER[c] for c in match.group(1))
        text = text[match.end() :]
    return make_note(text, chosen)


def make_note(text: str, tags: tuple[str, ...] | list[str] = ()) -> Note:
    # Every save passes here: no Python-level loop when there are no tags, and the tags put in
    # order by a C loop when there are (a note's save is measured against a raw commit).
    if tags:
        unknown = [t for t in tags if t not in TAG_NAMES]
        if unknown:
            raise InvalidEntry(f"Unknown note tag: {unknown[0]!r}.")
    stripped = text.strip()
    if not stripped:
        raise InvalidEntry("An empty note is not saved.")
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidEntry(f"A note can hold at most {MAX_NOTE_CHARS:,} characters.")
    if _SURROGATE.search(text):
        raise InvalidEntry("The note contains broken characters (lone surrogates).")
    ordered = tuple(filter(frozenset(tags).__contains__, TAG_NAMES)) if tags else ()
    return Note(text=stripped, tags=ordered)
