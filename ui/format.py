"""How times and entries read on screen: the core's one way to say them (entry_text)."""

from __future__ import annotations

from kapsession.session.dose_clock import minutes_seconds as minutes_seconds  # re-exported
from kapsession.session.dose_clock import t_plus as t_plus  # re-exported: the screens' one format
from kapsession.session.entry_text import describe
from kapsession.storage.store import Event


def describe_event(event: Event) -> str:
    """One line for a non-note entry in the stream (no clinical free text is invented here)."""
    return describe(event.kind, event.data, event.reason, style="screen")
