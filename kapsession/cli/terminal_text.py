"""Text from files (titles, paths, playlist entries, messages that quote them) made safe to
print on a terminal: control characters (ESC sequences, carriage returns), bidi overrides and
other invisible formatting, line separators and undecodable bytes are shown escaped, the way
Python's repr() shows them (\\x1b, \\r, \\u202e), so a file can neither move the cursor, rewrite
what was printed before it, reorder a line nor crash the output's encoder."""

from __future__ import annotations

import unicodedata

# Cc: C0/C1 controls (ESC, CR, BEL, DEL...); Cf: format (bidi overrides and isolates, zero-width
# characters); Cs: lone surrogates (bytes of a non-UTF-8 file name); Zl/Zp: line/paragraph
# separators.
_ESCAPED = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: object) -> str:
    """TEXT with every character a terminal would act on (rather than show) escaped, line
    breaks included: what is printed as one line stays one line."""
    shown = str(text)
    if shown.isprintable():
        return shown
    return "".join(_escape(c) if unicodedata.category(c) in _ESCAPED else c for c in shown)
