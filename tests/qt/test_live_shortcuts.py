"""One truth for the live screen's keys: what the screen binds is what F1 lists and what the
README's "Keyboard shortcuts" table lists, and neither lists a key nobody binds."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QGridLayout, QLabel

from ui.dialogs import ELSEWHERE, ShortcutsDialog
from ui.live.screen import LiveView
from ui.live.shortcuts import KEYS, LIVE_SHORTCUTS

README = Path(__file__).resolve().parents[2] / "README.md"
_KEY = re.compile(r"(?:(?:Ctrl|Alt|Shift)\+)*(?:F\d{1,2}|Esc|Enter|Up|Down|Left|Right|\S)")
_RANGE = re.compile(r"(\S*?)(\d+) … \1(\d+)")


def portable(keys: str) -> str:
    return QKeySequence(keys).toString(QKeySequence.SequenceFormat.PortableText)


def keys_in(shown: str) -> set[str]:
    """The keys a "Keys" cell names: `Alt+S / Alt+K`, `Alt+= or Alt++`, `Alt+1 … Alt+6`,
    `Ctrl+E (or double-click)`; words such as "type, then Enter" name no key."""
    shown = re.sub(r"\([^)]*\)", "", shown.replace("`", ""))
    shown = _RANGE.sub(
        lambda m: " / ".join(f"{m[1]}{n}" for n in range(int(m[2]), int(m[3]) + 1)), shown
    )
    parts = (part.strip() for part in re.split(r" / |, | or ", shown))
    return {portable(part) for part in parts if _KEY.fullmatch(part)}


def readme_keys() -> set[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Keyboard shortcuts", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| Keys |"), "the section's table starts with its header"
    found: set[str] = set()
    for row in rows[1:]:
        found |= keys_in(row.split("|")[1])
    return found


def bound_on(view: LiveView) -> set[str]:
    return {
        shortcut.key().toString(QKeySequence.SequenceFormat.PortableText)
        for shortcut in view.findChildren(QShortcut)
    }


ELSEWHERE_KEYS = set().union(*(keys_in(shown) for shown, _what in ELSEWHERE))


def test_the_live_screen_binds_exactly_the_keys_of_its_table(view: LiveView) -> None:
    assert bound_on(view) == {portable(keys) for keys, _action in KEYS}
    assert len(KEYS) == len({portable(keys) for keys, _action in KEYS}), "no key bound twice"


def test_each_line_of_the_table_shows_exactly_the_keys_it_binds() -> None:
    for line in LIVE_SHORTCUTS:
        assert keys_in(line.shown) == {portable(keys) for keys, _action in line.binds}, line


def test_f1_lists_every_key_the_live_screen_binds_and_no_key_nobody_binds(
    qtbot, view: LiveView
) -> None:
    dialog = ShortcutsDialog()
    qtbot.addWidget(dialog)
    grid = dialog.findChild(QGridLayout)
    listed: set[str] = set()
    for row in range(grid.rowCount()):
        label = grid.itemAtPosition(row, 0).widget()
        assert isinstance(label, QLabel)
        listed |= keys_in(label.text())

    bound = bound_on(view)
    assert bound <= listed, f"bound on the live screen, missing from F1: {bound - listed}"
    assert listed - bound <= ELSEWHERE_KEYS, f"in F1, bound nowhere: {listed - bound}"


def test_the_readme_lists_every_key_the_live_screen_binds_and_no_key_nobody_binds(
    view: LiveView,
) -> None:
    listed = readme_keys()
    bound = bound_on(view)
    assert bound <= listed, f"bound on the live screen, missing from the README: {bound - listed}"
    assert listed - bound <= ELSEWHERE_KEYS, f"in the README, bound nowhere: {listed - bound}"
