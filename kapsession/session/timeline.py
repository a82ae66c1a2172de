"""A running session's timeline: entries written through the store and kept in memory in step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kapsession.clock import Clock
from kapsession.errors import StateError
from kapsession.session.dose_clock import DoseClock
from kapsession.signals import Signal
from kapsession.storage.store import Event, SessionRecord, Store


class SessionTimeline:
    """What a running session appends, each entry announced only after its COMMIT returned.

    What the session decides from (checks, baseline, open alerts) is read once here and kept in
    step as entries are appended: one read per action, none for most. The database stays the
    truth: a resumed session rebuilds this from it."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        record: SessionRecord,
        dose_clock: DoseClock,
        tz: str,
        author: str,
    ) -> None:
        self.store, self.clock, self.record = store, clock, record
        self.dose_clock, self.tz, self.author = dose_clock, tz, author
        self.entry_added: Signal[Event] = Signal()
        self.events: list[Event] = store.events(record.id)

    def elapsed(self) -> float:
        return self.dose_clock.elapsed()

    @property
    def ended(self) -> bool:
        return self.record.state == "ended"

    def append(
        self,
        kind: str,
        data: dict[str, Any],
        t: float | None = None,
        amends: int | None = None,
        reason: str | None = None,
    ) -> Event:
        if self.ended and kind != "amendment":
            # The database refuses it too; this says so in the user's words, not SQLite's.
            raise StateError("The session has ended; only amendments can be added.")
        event = self.store.append(
            self.record.id,
            kind,
            self.clock.now(),
            self.tz,
            round(self.elapsed() if t is None else t, 3),
            data,
            author=self.author,
            amends=amends,
            reason=reason,
        )
        self.events.append(event)
        # Only after the commit returned may anyone show it as saved.
        self.entry_added.emit(event)
        return event

    def append_many(self, items: Sequence[tuple[str, dict[str, Any], str | None]]) -> list[Event]:
        """Several entries in one transaction (e.g. vitals and the alerts they raise): all are
        committed before any is announced."""
        if self.ended:
            raise StateError("The session has ended; only amendments can be added.")
        t = round(self.elapsed(), 3)
        at = self.clock.now()
        with self.store.db.atomic():
            events = [
                self.store.append(
                    self.record.id, kind, at, self.tz, t, data, self.author, reason=reason
                )
                for kind, data, reason in items
            ]
        self.committed(events)
        return events

    def committed(self, events: Sequence[Event]) -> None:
        """Entries the caller wrote in its own transaction, after it committed: kept, then
        announced in order."""
        self.events.extend(events)
        for event in events:
            self.entry_added.emit(event)
