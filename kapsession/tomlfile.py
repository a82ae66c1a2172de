"""What the clinic-editable TOML formats (protocols, arcs) share: reading the text with a
line-numbered problem instead of tomllib's exception, and quoting field names for messages.

tomllib takes time that grows with the cube of a dotted key's depth (``a.a.a...`` 4,000 deep:
2 s; 20,000 deep: minutes), so before the text reaches it a cheap scan refuses keys deeper or
longer than any real protocol or arc has. The scan reads strings and comments the way TOML
does, so a dot or a long text inside a string is never taken for a key."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

# Real files use two parts (``phases.tracks``) and names of under 30 characters.
MAX_KEY_PARTS = 8
MAX_KEY_CHARS = 200

# Every pattern here succeeds once it has started (an unclosed string runs to the end of its
# line, or of the text) and never backtracks into a part, so the scan stays linear whatever the
# text; tomllib refuses the unclosed string afterwards.
_PART = r"""(?>[A-Za-z0-9_-]++|"(?:[^"\\\n]|\\.?)*+"?|'[^'\n]*+'?)"""
_CHAIN = rf"{_PART}(?:[ \t]*+\.[ \t]*+{_PART})*+"
# Multi-line strings and comments are taken whole (their text is never a key); every other
# run that looks like a key is a chain of parts, and it is a key when a header or "=" frames it.
_TOKENS = re.compile(
    r'"""(?:[^\\]|\\[\s\S]?)*?(?:"""|\Z)'
    r"|'''[\s\S]*?(?:'''|\Z)"
    r"|#[^\n]*+"
    rf"|^[ \t]*+\[\[?[ \t]*+(?P<header>{_CHAIN})[ \t]*+\]"
    rf"|(?P<chain>{_CHAIN})(?P<equals>[ \t]*+=)?",
    re.MULTILINE,
)
_KEY_PART = re.compile(_PART)

_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$|\s*\(at end of document\)$")


class TomlProblem(Exception):
    """The text is not TOML: `line` (1-based) and `problem` are ready for a format's own error."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line, self.problem = line, problem


def check_keys(text: str) -> None:
    """Raise TomlProblem at the first key deeper than MAX_KEY_PARTS or with a part longer than
    MAX_KEY_CHARS. Values are chains too (``1.5``) but never deep, so the depth is checked on
    every chain and the length only on keys."""
    for token in _TOKENS.finditer(text):
        group = "header" if token.group("header") else "chain"
        chain = token.group(group)
        if not chain:
            continue  # a string or a comment
        is_key = group == "header" or token.group("equals") is not None
        if chain.count(".") < MAX_KEY_PARTS and not (is_key and len(chain) > MAX_KEY_CHARS):
            continue  # the common case, without splitting the chain into parts
        line = text.count("\n", 0, token.start(group)) + 1
        parts = _KEY_PART.findall(chain)
        if len(parts) > MAX_KEY_PARTS:
            raise TomlProblem(line, f"a key of more than {MAX_KEY_PARTS} dotted parts")
        if is_key and any(len(part) > MAX_KEY_CHARS for part in parts):
            raise TomlProblem(line, f"a key longer than {MAX_KEY_CHARS} characters")


def load_toml(text: str) -> dict[str, Any]:
    check_keys(text)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_WHERE.search(message)
        problem = _TOML_WHERE.sub("", message) or "invalid TOML"
        if match and match.group(1):
            line = int(match.group(1))
            problem = f"{problem} (column {match.group(2)})"
        else:
            line = text.rstrip("\n").count("\n") + 1
        raise TomlProblem(line, problem) from None
    except (ValueError, RecursionError):  # e.g. deeply nested arrays
        raise TomlProblem(1, "cannot be read as TOML") from None


def shown_field(name: str) -> str:
    """A field name fit for a message: as written if plain, else quoted and escaped (a stray
    key may hold control characters or be very long)."""
    if re.fullmatch(r"[A-Za-z0-9_-]{1,40}", name):
        return name
    return json.dumps(name[:40])
