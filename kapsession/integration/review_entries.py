"""A review's entries and markers kept as light columns, each whole entry or marker made when
first asked for: a 4-hour session holds 10,000 entries (9,000 of them notes), a screen shows a
few dozen, and making an object per entry up front was half the review's opening time.

- ``Entries``: every entry in reading order. Each one's seq, kind and time since the dose are at
  hand (the list's time column and colours need no more); the whole entry (author, stamps, data)
  comes from a loader, a screenful at a time, and is kept once read.
- ``Markers``: the timeline's markers by (t, seq) as columns, with the indices of each class of
  marker (lane, kind, check status, amended) for a plot that draws a class at a time."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import overload

from kapsession.storage.store import Event

# What a screenful asks for: entries are read around the one asked for, more of them ahead
# (lists scroll down) than behind.
READ_BEHIND = 32
READ_AHEAD = 96

Loader = Callable[[Sequence[int]], Iterable[Event]]  # seqs -> those entries, in any order
# A class of marker: (lane, kind, check status or "", amended note).
MarkerClass = tuple[str, str, str, bool]


class Entries(Sequence[Event]):
    """Every entry of a session in reading order (see review.entry_order)."""

    __slots__ = ("_cache", "_loader", "_position", "kinds", "seqs", "ts")

    def __init__(
        self,
        seqs: Sequence[int],
        kinds: Sequence[str],
        ts: Sequence[float | None],
        loader: Loader | None = None,
        known: Iterable[Event] = (),
    ) -> None:
        self.seqs, self.kinds, self.ts = seqs, kinds, ts
        self._loader = loader
        self._cache: dict[int, Event] = {e.seq: e for e in known}
        self._position: dict[int, int] | None = None

    def __len__(self) -> int:
        return len(self.seqs)

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Event]: ...

    def __getitem__(self, index: int | slice) -> Event | Sequence[Event]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        seq = self.seqs[index]  # IndexError past either end, as a tuple
        event = self._cache.get(seq)
        if event is None:
            at = index if index >= 0 else index + len(self)
            self._read(self.seqs[max(0, at - READ_BEHIND) : at + READ_AHEAD])
            event = self._cache[seq]
        return event

    def __iter__(self) -> Iterator[Event]:
        self._read(self.seqs)
        cache = self._cache
        return (cache[seq] for seq in self.seqs)

    def __eq__(self, other: object) -> bool:  # as the tuple it stands for
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    @property
    def positions(self) -> Mapping[int, int]:
        """Where each entry is in reading order, by seq."""
        if self._position is None:
            self._position = dict(zip(self.seqs, range(len(self.seqs)), strict=True))
        return self._position

    def position(self, seq: int) -> int | None:
        """Where the entry is in reading order (None: not in this session)."""
        return self.positions.get(seq)

    def event(self, seq: int) -> Event | None:
        at = self.position(seq)
        return None if at is None else self[at]

    def _read(self, seqs: Sequence[int]) -> None:
        missing = [s for s in seqs if s not in self._cache]
        if not missing:
            return
        if self._loader is None:
            raise KeyError(missing[0])
        for event in self._loader(missing):
            self._cache[event.seq] = event


class Marker:
    """One entry on the timeline. Its label (a note's current text on one line, or the entry in
    a few words) is made when first asked for."""

    __slots__ = ("_label", "_label_of", "amended", "kind", "lane", "seq", "status", "t")

    def __init__(
        self,
        seq: int,
        t: float,
        kind: str,
        lane: str,
        label: str | None = None,
        status: str = "",  # checks: due/late/missed/skipped/snoozed
        amended: bool = False,
        label_of: Callable[[int], str] | None = None,
    ) -> None:
        self.seq, self.t, self.kind, self.lane = seq, t, kind, lane
        self.status, self.amended = status, amended
        self._label, self._label_of = label, label_of

    @property
    def label(self) -> str:
        if self._label is None:
            self._label = self._label_of(self.seq) if self._label_of is not None else ""
        return self._label

    def __repr__(self) -> str:
        return f"Marker(seq={self.seq}, t={self.t}, kind={self.kind!r}, lane={self.lane!r})"


class Markers(Sequence[Marker]):
    """The timeline's markers ordered by (t, seq): `seqs` and `t` as columns, `classes` the
    indices of each class of marker (in that order), a Marker made when one is asked for."""

    __slots__ = ("_cache", "_class_of", "_index", "_label_of", "classes", "seqs", "t")

    def __init__(
        self,
        seqs: Sequence[int],
        t: Sequence[float],
        classes: Mapping[MarkerClass, Sequence[int]],
        label_of: Callable[[int], str],
    ) -> None:
        self.seqs, self.t, self.classes = seqs, t, classes
        self._label_of = label_of
        self._class_of: list[MarkerClass] | None = None
        self._cache: dict[int, Marker] = {}
        self._index: dict[int, int] | None = None

    def __len__(self) -> int:
        return len(self.seqs)

    @overload
    def __getitem__(self, index: int) -> Marker: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Marker]: ...

    def __getitem__(self, index: int | slice) -> Marker | Sequence[Marker]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        seq = self.seqs[index]
        marker = self._cache.get(seq)
        if marker is None:
            lane, kind, status, amended = self.class_at(index)
            marker = Marker(
                seq, self.t[index], kind, lane, None, status, amended, label_of=self._label_of
            )
            self._cache[seq] = marker
        return marker

    def __eq__(self, other: object) -> bool:  # as the tuple it stands for
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def class_at(self, index: int) -> MarkerClass:
        if self._class_of is None:
            self._class_of = [("", "", "", False)] * len(self.seqs)
            for c, at in self.classes.items():
                for i in at:
                    self._class_of[i] = c
        return self._class_of[index]

    def index_of(self, seq: int) -> int | None:
        """The marker of this entry (None: it has none)."""
        if self._index is None:
            self._index = dict(zip(self.seqs, range(len(self.seqs)), strict=True))
        return self._index.get(seq)

    def first_after(self, t: float) -> int | None:
        """The first marker later than `t` (None: none is)."""
        at = bisect_right(self.t, t)
        return at if at < len(self.t) else None

    def last_until(self, t: float) -> int | None:
        """The last marker at `t` or before (None: none is)."""
        at = bisect_right(self.t, t) - 1
        return at if at >= 0 else None

    def lane_counts(self) -> dict[str, int]:
        """How many markers each lane holds, in the order the lanes first appear."""
        lanes: dict[str, int] = {}
        for (lane, *_), at in sorted(self.classes.items(), key=lambda item: item[1][0]):
            lanes[lane] = lanes.get(lane, 0) + len(at)
        return lanes
