"""The live screen's keys, as one table: each line is what F1 (and the README) lists, the keys
as shown, what they do, and the keys bound to which of the screen's actions. `KEYS` and
`bind_keys` connect the table to a screen's actions; the F1 list is built from the same lines,
so what the screen binds and what it says it binds cannot differ (tests/qt/test_live_shortcuts.py
holds the README to the same table)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget

from kapsession.session.notes import TAGS


@dataclass(frozen=True)
class Shortcut:
    """One line of the list: `shown` as the therapist reads it, `what` it does, and `binds`,
    each key of the line with the screen action it runs (none: typing, not a key)."""

    shown: str
    what: str
    binds: tuple[tuple[str, str], ...] = ()


def _one(keys: str, action: str) -> tuple[tuple[str, str], ...]:
    return ((keys, action),)


LIVE_SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("Type, then Enter", "Save a note (the note field always has the focus)"),
    Shortcut(
        " ".join(f"{letter}:" for _tag, letter, _label in TAGS),
        "Tag a note as you type: quote, emotion, body, image, insight, for integration (combine: qf:)",
    ),
    Shortcut(
        f"Alt+1 … Alt+{len(TAGS)}",
        "Toggle a tag for the next note",
        tuple((f"Alt+{i}", f"tag:{tag}") for i, (tag, _letter, _label) in enumerate(TAGS, start=1)),
    ),
    Shortcut(
        "Esc", "Back to the note field; clear the selection and any message", _one("Esc", "escape")
    ),
    Shortcut(
        "Alt+Up / Alt+Down",
        "Select the previous / next note in the stream",
        (("Alt+Up", "previous_note"), ("Alt+Down", "next_note")),
    ),
    Shortcut("Ctrl+E", "Amend the selected note (or the latest one)", _one("Ctrl+E", "amend")),
    Shortcut(
        "Alt+V",
        "Vitals on one line: 128/82 76 98 [RR] [°C], Enter saves, Esc cancels",
        _one("Alt+V", "vitals_line"),
    ),
    Shortcut(
        "Alt+Shift+V",
        "Vitals as a form (every field starts empty)",
        _one("Alt+Shift+V", "vitals_form"),
    ),
    Shortcut(
        "Alt+D",
        "Medication on one line: ondansetron 4 mg SL lot A12, Enter saves, Esc cancels",
        _one("Alt+D", "medication_line"),
    ),
    Shortcut(
        "Alt+O",
        "Observation: the scales the due check asks (MOAA/S, RASS, …), one key per answer",
        _one("Alt+O", "observe"),
    ),
    Shortcut(
        "Alt+Q",
        "Quick event: booster dose, vomiting, emergence reaction, touch, client spoke",
        _one("Alt+Q", "quick_event"),
    ),
    Shortcut(
        "Alt+X",
        "Record an adverse event (World SIVA tier suggested from the vitals), pre-filled from "
        "the waiting offer",
        _one("Alt+X", "adverse_event"),
    ),
    Shortcut(
        "Alt+S / Alt+K",
        "Snooze / skip the check that is due (with a reason)",
        (("Alt+S", "snooze"), ("Alt+K", "skip")),
    ),
    Shortcut("Alt+A", "Acknowledge the oldest open alert", _one("Alt+A", "acknowledge")),
    Shortcut(
        "Alt+C",
        "Soft chime when a check comes due: on / off (off by default)",
        _one("Alt+C", "chime"),
    ),
    Shortcut(
        "Alt+M", "Music: fade to silence / bring it back (4 s fades)", _one("Alt+M", "silence")
    ),
    Shortcut("Alt+P", "Music: pause / resume (2 s fades)", _one("Alt+P", "pause")),
    Shortcut("Alt+N", "Music: next track (a crossfade, at once)", _one("Alt+N", "next_track")),
    Shortcut(
        "Alt+[ / Alt+]",
        "Music: a softer / deeper track the arc holds for this phase (a crossfade)",
        (("Alt+[", "softer_track"), ("Alt+]", "deeper_track")),
    ),
    Shortcut(
        "Alt+= or Alt++ / Alt+-",
        "Music: volume up / down by 5 (a gentle ramp)",
        (("Alt+=", "louder"), ("Alt++", "louder"), ("Alt+-", "softer")),
    ),
    Shortcut(
        "Ctrl+Shift+E",
        "End the session: discharge check, ride home, time ready…",
        _one("Ctrl+Shift+E", "end"),
    ),
    Shortcut(
        "Ctrl+U",
        "Switch who is charting: another clinician and their PIN",
        _one("Ctrl+U", "switch_clinician"),
    ),
    Shortcut("F1", "This list of shortcuts", _one("F1", "help")),
)

KEYS: tuple[tuple[str, str], ...] = tuple(bind for line in LIVE_SHORTCUTS for bind in line.binds)


def bind_keys(widget: QWidget, actions: Mapping[str, Callable[[], object]]) -> None:
    """Every key of the table, active while the focus is anywhere in `widget`."""
    for keys, name in KEYS:
        shortcut = QShortcut(QKeySequence(keys), widget)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(actions[name])
