"""Checks for the free text a therapist types into forms (preparation, worksheet): lengths,
control characters and broken characters, with a message that names the field."""

from __future__ import annotations

import re

from kapsession.errors import InvalidEntry

# Line breaks and tabs belong in free text; other control characters (and lone surrogates,
# which cannot be stored as UTF-8) never come from typing and are refused.
_BAD_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BAD_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def without_controls(text: str) -> str:
    """Text copied from elsewhere (e.g. a note into the worksheet) minus the invisible control
    characters a form would refuse."""
    return _BAD_IN_TEXT.sub("", text)


def clean_text(value: object, field: str, limit: int) -> str:
    """Multi-line free text, possibly empty: stripped at both ends, otherwise kept intact."""
    text = _checked(value, field, limit)
    if _BAD_IN_TEXT.search(text):
        raise InvalidEntry(f"{field} contains control characters.")
    return text


def clean_line(value: object, field: str, limit: int) -> str:
    """One line of text, possibly empty."""
    text = _checked(value, field, limit)
    if _BAD_IN_LINE.search(text):
        raise InvalidEntry(f"{field} must be one line without control characters.")
    return text


def _checked(value: object, field: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidEntry(f"{field} must be text.")
    text = value.strip()
    if len(text) > limit:
        raise InvalidEntry(f"{field} can be at most {limit:,} characters.")
    if _SURROGATE.search(text):
        raise InvalidEntry(f"{field} contains broken characters (lone surrogates).")
    return text
