"""The arc player's two decks and what each is doing: the track it holds, its crossfade gain,
the volume last set on it (``Deck.set_volume`` is called only when that whole number changes)
and how far it has played."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kapsession.music.arc import Track


class Deck(Protocol):
    """One libVLC media player; two make a crossfade."""

    def load(self, path: Path) -> None: ...
    def play(self) -> None: ...
    def pause(self) -> None: ...
    def stop(self) -> None: ...
    def set_volume(self, volume: int) -> None: ...  # 0-200, applied at once (ramps are ours)
    def position_s(self) -> float: ...
    def length_s(self) -> float | None: ...


@dataclass
class Slot:
    """What one deck is doing."""

    track: Track | None = None  # loaded and live (playing, or held by pause/silence)
    gain: float = 0.0  # crossfade gain
    level_gain_db: float = 0.0  # brings the track to the arc's loudness (kapsession.music.r128)
    volume: int | None = None  # the last volume set on the deck
    last_pos: float = 0.0
    started_now: float = 0.0
    moved_now: float = 0.0  # when the position last moved (or the track started or resumed)
    ended: bool = False  # the deck reported its end


class DeckPair:
    """Two decks, 0 and 1, each with its slot."""

    def __init__(self, decks: tuple[Deck, Deck]) -> None:
        self.decks = decks
        self.slots = (Slot(), Slot())

    def __getitem__(self, deck: int) -> Slot:
        return self.slots[deck]

    def live(self) -> list[int]:
        """The decks holding a track."""
        return [deck for deck in (0, 1) if self.slots[deck].track is not None]

    def position(self, deck: int) -> float:
        return max(0.0, self.decks[deck].position_s())

    def played(self, deck: int) -> float:
        """How far the deck has played its track, in seconds."""
        return max(self.slots[deck].last_pos, self.position(deck))

    def length(self, deck: int) -> float | None:
        return self.decks[deck].length_s()

    def load(
        self, deck: int, track: Track, now: float, gain: float, level_gain_db: float = 0.0
    ) -> None:
        """Load ``track`` on the deck (stopping what it held), not yet playing."""
        if self.slots[deck].track is not None:
            self.stop(deck)
        slot = self.slots[deck]
        self.decks[deck].load(track.path)
        slot.track, slot.ended, slot.last_pos, slot.started_now = track, False, 0.0, now
        slot.moved_now = now
        slot.gain, slot.level_gain_db = gain, level_gain_db

    def play(self, deck: int) -> None:
        self.decks[deck].play()

    def set_volume(self, deck: int, volume: int) -> None:
        slot = self.slots[deck]
        if slot.volume != volume:
            slot.volume = volume
            self.decks[deck].set_volume(volume)

    def stop(self, deck: int) -> None:
        slot = self.slots[deck]
        if slot.track is not None:
            self.decks[deck].stop()
        slot.track, slot.gain, slot.ended = None, 0.0, False

    def stop_all(self) -> None:
        for deck in (0, 1):
            self.stop(deck)

    def hold(self) -> None:
        """Pause every live deck (pause or silence has faded out)."""
        for deck in self.live():
            self.decks[deck].pause()

    def release(self, now: float) -> None:
        """Play every live deck again; their stall watch starts afresh at ``now``."""
        for deck in self.live():
            self.slots[deck].moved_now = now
            self.decks[deck].play()
