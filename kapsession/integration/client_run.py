"""One questionnaire answered by the client on the laptop (client mode, issue 18), item by item.
The screen shows `item`, hands every key or click to `key` / `answer`, and when the run ends,
`save` stores it: complete with its score, or (stopped early) as incomplete, never scored.

The model decides what a key means: a number key answers an item with options (0-3); on a
0-100 item digits are typed and Enter answers; Backspace on an empty entry goes back an item;
Escape twice stops (the first only asks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kapsession.clock import Clock
from kapsession.integration.instrument import Instrument, Item
from kapsession.integration.measures import Measure, add_measure
from kapsession.storage.store import Store


@dataclass
class ClientRun:
    instrument: Instrument
    client_code: str
    answers: list[int | None] = field(default_factory=list)
    index: int = 0  # the item on screen (0-based); == len(items) when every item is answered
    typed: str = ""  # digits typed on a 0-100 item
    stopping: bool = False  # Escape pressed once
    stopped: bool = False
    saved: Measure | None = None

    def __post_init__(self) -> None:
        self.answers = [None] * len(self.instrument.items)

    @property
    def item(self) -> Item | None:
        items = self.instrument.items
        return items[self.index] if self.index < len(items) else None

    @property
    def done(self) -> bool:
        return self.index >= len(self.instrument.items)

    @property
    def ended(self) -> bool:
        return self.done or self.stopped

    @property
    def progress(self) -> str:
        n = len(self.instrument.items)
        return f"{min(self.index + 1, n)} of {n}"

    @property
    def uses_options(self) -> bool:
        return bool(self.instrument.options) and self.instrument.high <= 9

    def answer(self, value: int) -> bool:
        """Answer the item on screen and go to the next; False (nothing changes) when the
        value is not one of its answers."""
        if self.ended or not self.instrument.low <= value <= self.instrument.high:
            return False
        self.answers[self.index] = value
        self.index += 1
        self.typed, self.stopping = "", False
        return True

    def back(self) -> None:
        if self.index > 0 and not self.stopped:
            self.index -= 1
            self.typed, self.stopping = "", False

    def key(self, text: str) -> None:
        """A key the client pressed: a digit, "enter", "backspace" or "escape"."""
        if self.ended:
            return
        if text == "escape":
            self.stopped, self.stopping = self.stopping, True
            return
        self.stopping = False
        if text.isdigit() and len(text) == 1:
            if self.uses_options:
                self.answer(int(text))
            elif len(self.typed) < len(str(self.instrument.high)):
                self.typed += text
        elif text == "enter" and self.typed and not self.uses_options:
            if not self.answer(int(self.typed)):
                self.typed = ""
        elif text == "backspace":
            if self.typed:
                self.typed = self.typed[:-1]
            else:
                self.back()

    def stop(self) -> None:
        """The clinician (or the lock) ends the run before it is done."""
        if not self.done:
            self.stopped = True

    def save(self, store: Store, data_dir: Path | None, clock: Clock) -> Measure | None:
        """Store the run once: complete and scored, or incomplete (nothing answered: nothing
        to keep, None)."""
        if self.saved is not None:
            return self.saved
        if not self.done and not any(a is not None for a in self.answers):
            return None
        self.saved = add_measure(
            store,
            data_dir,
            self.client_code,
            self.instrument.id,
            self.answers,
            clock,
            source="client",
            complete=self.done,
            timed=True,
        )
        return self.saved
