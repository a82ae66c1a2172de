"""What the clinic-editable TOML formats (protocols, arcs) share: reading the text with a
line-numbered problem instead of tomllib's exception, and quoting field names for messages."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$|\s*\(at end of document\)$")


class TomlProblem(Exception):
    """The text is not TOML: `line` (1-based) and `problem` are ready for a format's own error."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line, self.problem = line, problem


def load_toml(text: str) -> dict[str, Any]:
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
