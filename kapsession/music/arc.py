"""Music arcs as data: a readable TOML file (``playlists/*.arc.toml``) that shapes a session's
music into phases timed from the dose, each with its tracks, fades and intentional silences.

An arc is written by a clinic, so every refusal names the file, the line and the field, e.g.
``im-45.arc.toml line 31, phases[3].tracks[2].volume: must be a whole number from 0 to 100``
(blocks are numbered from 1, as a reader counts them). Things that are allowed but worth a look
(the same file twice, a track tagged ``lyrics``) are kept in ``Arc.warnings`` in the same shape.

The format::

    [arc]
    id = "im-45"                       # lowercase letters, digits, dashes
    name = "Intramuscular, 45 minutes"
    description = "..."                # optional
    routes = ["intramuscular"]         # optional: the routes it was made for (empty: any)
    planned_minutes = 45               # optional: the session length it was made for (45-120)
    target_lufs = -23                  # optional: every track plays at this loudness (-40 to -10)

    [[phases]]                         # in time order, not overlapping (gaps are allowed)
    name = "settling"                  # settling, onset, building, peak, return, reflection,
                                       # or a clinic's own
    start_minutes = 0                  # from the dose, 0-240
    minutes = 5                        # target length, > 0; the phase ends by minute 240
    fade_in_s = 3                      # optional defaults for its tracks, 0-60 (3 and 5)
    fade_out_s = 5

    [[phases.tracks]]
    path = "audio/settling-drone.ogg"  # relative to the arc file, or absolute
    title = "Settling drone"           # optional: the file name without its extension
    tags = ["no_lyrics"]               # optional: no_lyrics, familiar, lyrics
    volume = 70                        # optional, 0-100
    gapless_next = true                # optional: no crossfade into the next track
    fade_in_s = 8                      # optional: overrides the phase's default

    [[phases.tracks]]
    silence_s = 30                     # an intentional silence of 30 seconds

    [[phases.alternates]]              # optional: what Alt+[ (softer) or Alt+] (deeper) plays
    kind = "softer"                    # softer or deeper
    path = "audio/peak-soft.ogg"       # and any other key of a track but gapless_next

Tracks can also be written inline: ``tracks = [{path = "a.ogg"}, {silence_s = 30}]``. A phase
needs at least one item; a phase of silences only is a silent phase. Whether the files exist and
play is the pre-flight's job, not the parser's."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kapsession.errors import InvalidEntry
from kapsession.limits import PLANNED_MAX, PLANNED_MIN
from kapsession.music.levels import TARGET_LUFS
from kapsession.storage import safe_files
from kapsession.storage.schema import ROUTES
from kapsession.tomlfile import TomlProblem, load_toml, shown_field

ARC_SUFFIX = ".arc.toml"
SUGGESTED_PHASES: tuple[str, ...] = (
    "settling",
    "onset",
    "building",
    "peak",
    "return",
    "reflection",
)
TAGS: tuple[str, ...] = ("no_lyrics", "familiar", "lyrics")
ALTERNATE_KINDS: tuple[str, ...] = ("softer", "deeper")
MAX_MINUTES = 240
MAX_FADE_S = 60.0
MAX_TITLE_CHARS = 200
MAX_PATH_CHARS = 4096  # PATH_MAX on Linux: no longer name is a file
DEFAULT_FADE_IN_S = 3.0
DEFAULT_FADE_OUT_S = 5.0
# An arc holds at most 240 minutes: even of one-minute tracks with long paths that is about
# 60 KB. 1 MB leaves room for any real arc (and a 5,000-entry imported playlist) while keeping
# what the TOML parser is handed small enough to read in well under a second.
MAX_FILE_BYTES = 1024 * 1024

_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
_ROOT_KEYS = ("arc", "phases")
_ARC_KEYS = ("id", "name", "description", "routes", "planned_minutes", "target_lufs")
TARGET_RANGE_LUFS = (-40.0, -10.0)
_PHASE_KEYS = (
    "name",
    "start_minutes",
    "minutes",
    "fade_in_s",
    "fade_out_s",
    "tracks",
    "alternates",
)
_ALTERNATE_KEYS = ("kind", "path", "title", "tags", "volume", "fade_in_s", "fade_out_s")
_TRACK_KEYS = ("path", "title", "tags", "volume", "gapless_next", "fade_in_s", "fade_out_s")
_SILENCE_KEYS = ("silence_s",)


class ArcError(InvalidEntry):
    """An arc file that cannot be used. ``file`` is the file's name, ``line`` the 1-based line
    (None when there is none, e.g. an unreadable file), ``field`` the dotted field name (e.g.
    ``phases[2].tracks[1].volume``; None for the whole file) and ``problem`` what is wrong."""

    def __init__(self, file: str, line: int | None, field: str | None, problem: str) -> None:
        self.file, self.line, self.field, self.problem = file, line, field, problem
        super().__init__(_message(file, line, field, problem))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.file, self.line, self.field, self.problem))


def _message(file: str, line: int | None, field: str | None, problem: str) -> str:
    where = file if line is None else f"{file} line {line}"
    return f"{where}, {field}: {problem}" if field else f"{where}: {problem}"


@dataclass(frozen=True)
class Track:
    """A file to play. ``path`` is absolute if the arc's base folder was; ``location`` is the
    text as written. Fades are resolved: the track's own, else its phase's defaults."""

    path: Path
    title: str
    tags: tuple[str, ...] = ()
    gapless_next: bool = False
    volume: int | None = None
    fade_in_s: float = DEFAULT_FADE_IN_S
    fade_out_s: float = DEFAULT_FADE_OUT_S
    location: str = field(default="", compare=False)
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Silence:
    """An intentional silence between tracks, part of the arc."""

    seconds: float
    line: int | None = field(default=None, compare=False)


Item = Track | Silence


@dataclass(frozen=True)
class Alternate:
    """A track a phase holds in reserve: ``softer`` or ``deeper`` than its own, played at once
    on one key (Alt+[ / Alt+]) with a crossfade; the phase goes on with its next item after."""

    kind: str
    track: Track


@dataclass(frozen=True)
class Phase:
    name: str
    start_minutes: float  # from the dose
    minutes: float  # target length
    items: tuple[Item, ...]
    fade_in_s: float = DEFAULT_FADE_IN_S
    fade_out_s: float = DEFAULT_FADE_OUT_S
    line: int | None = field(default=None, compare=False)
    alternates: tuple[Alternate, ...] = ()

    @property
    def end_minutes(self) -> float:
        return self.start_minutes + self.minutes

    @property
    def start_s(self) -> float:
        return self.start_minutes * 60

    @property
    def end_s(self) -> float:
        return self.end_minutes * 60

    @property
    def silent(self) -> bool:
        """A phase of intentional silence only."""
        return all(isinstance(item, Silence) for item in self.items)


@dataclass(frozen=True)
class Arc:
    id: str
    name: str
    phases: tuple[Phase, ...]
    description: str = ""
    routes: tuple[str, ...] = ()
    planned_minutes: int | None = None
    path: str = field(default="", compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)
    # Every track plays at this integrated loudness (EBU R128), its true peak under -1 dBTP.
    target_lufs: float = TARGET_LUFS

    @property
    def total_minutes(self) -> float:
        """Minutes from the dose to the end of the last phase (gaps between phases count)."""
        return self.phases[-1].end_minutes if self.phases else 0.0

    def phase_at(self, t_seconds: float) -> Phase | None:
        """The phase planned at ``t_seconds`` after the dose: start inclusive, end exclusive.
        None before the first phase, in a gap between phases and after the last."""
        for phase in self.phases:
            if phase.start_s <= t_seconds < phase.end_s:
                return phase
        return None

    def items(self) -> Iterator[tuple[Phase, Item]]:
        """Every track and silence with its phase, in playing order."""
        for phase in self.phases:
            for item in phase.items:
                yield phase, item

    def tracks(self) -> list[Path]:
        """The path of every track in playing order (a file listed twice appears twice), each
        phase's alternates after its items: everything the pre-flight checks and measures."""
        paths = []
        for phase in self.phases:
            paths += [item.path for item in phase.items if isinstance(item, Track)]
            paths += [alternate.track.path for alternate in phase.alternates]
        return paths


# --- finding lines ---------------------------------------------------------------------------

_HEADER = re.compile(r"(\[\[?)\s*([A-Za-z0-9_\-.\"' ]+?)\s*(\]\]?)\s*(?:#.*)?$")
_KEY = re.compile(r"\s*(\"[^\"\n]*\"|'[^'\n]*'|[A-Za-z0-9_\-.]+)\s*=")


class _Lines:
    """Finds the line a field was written on by reading the text the way a person would: the
    Nth ``[[phases]]`` header, the Nth track inside it (a ``[[phases.tracks]]`` header or the Nth
    ``{...}`` in an inline ``tracks = [...]``), then the key. Anything it cannot find falls back
    to the enclosing block, then to line 1. Only built when a message needs a line."""

    def __init__(self, text: str) -> None:
        self.root: dict[str, int] = {}
        self.arc: dict[str | None, int] = {}
        self.phase: dict[tuple[int, str | None], int] = {}
        self.track: dict[tuple[int, int, str | None], int] = {}
        self._scan(text)

    def _record(self, table: dict[Any, int], key: Any, line: int) -> None:
        table.setdefault(key, line)

    def _scan(self, text: str) -> None:
        section, p, t = "root", 0, 0
        line, i, n = 1, 0, len(text)
        depth = 0  # [ and { nesting inside a value
        inline_tracks = False  # inside `tracks = [ ... ]` of a phase
        line_start = True
        while i < n:
            c = text[i]
            if c == "\n":
                line += 1
                i += 1
                if depth == 0:
                    line_start, inline_tracks = True, False
                continue
            if line_start and depth == 0:
                end = text.find("\n", i)
                rest = text[i : n if end < 0 else end]
                stripped = rest.lstrip()
                line_start = False
                header = _HEADER.match(stripped)
                if stripped.startswith("[") and header:
                    name = re.sub(r"[\s\"']", "", header.group(2))
                    array = header.group(1) == "[["
                    if name == "arc" and not array:
                        section = "arc"
                        self._record(self.arc, None, line)
                    elif name == "phases" and array:
                        section, p, t = "phase", p + 1, 0
                        self._record(self.phase, (p, None), line)
                    elif name == "phases.tracks" and array and p:
                        section, t = "track", t + 1
                        self._record(self.track, (p, t, None), line)
                    else:
                        section = "other"
                        self._record(self.root, name.split(".")[0], line)
                    i = n if end < 0 else end
                    continue
                key = _KEY.match(rest)
                if key:
                    name = key.group(1).strip("\"'")
                    if section == "root":
                        self._record(self.root, name.split(".")[0], line)
                    elif section == "arc":
                        self._record(self.arc, name, line)
                    elif section == "phase":
                        self._record(self.phase, (p, name), line)
                        inline_tracks = name == "tracks"
                    elif section == "track":
                        self._record(self.track, (p, t, name), line)
                    i += key.end()
                    continue
            if c == "#":
                end = text.find("\n", i)
                i = n if end < 0 else end
                continue
            if c in "\"'":
                i, line = self._skip_string(text, i, line)
                continue
            if c in "[{":
                depth += 1
                if c == "{" and inline_tracks and depth == 2:
                    t += 1
                    self._record(self.track, (p, t, None), line)
                i += 1
                if inline_tracks and depth == 2:
                    i = self._inline_key(text, i, line, p, t)
                continue
            if c in "]}":
                depth = max(0, depth - 1)
            elif c == "," and inline_tracks and depth == 2:
                i = self._inline_key(text, i + 1, line, p, t)
                continue
            i += 1

    def _inline_key(self, text: str, i: int, line: int, p: int, t: int) -> int:
        key = _KEY.match(text, i)
        if key and "\n" not in key.group(0):
            self._record(self.track, (p, t, key.group(1).strip("\"'")), line)
        return i

    @staticmethod
    def _skip_string(text: str, i: int, line: int) -> tuple[int, int]:
        quote = text[i]
        triple = text.startswith(quote * 3, i)
        closing = quote * 3 if triple else quote
        j = i + len(closing)
        while j < len(text):
            c = text[j]
            if c == "\\" and quote == '"':
                j += 2
                continue
            if c == "\n":
                if not triple:
                    return j, line  # unterminated: the TOML parser has already complained
                line += 1
            if text.startswith(closing, j):
                return j + len(closing), line
            j += 1
        return j, line

    def find(self, p: int | None = None, t: int | None = None, key: str | None = None) -> int:
        if p is None:
            return self.arc.get(key, self.arc.get(None, self.root.get("arc", 1)))
        if t is None:
            return self.phase.get((p, key), self.phase.get((p, None), self.root.get("phases", 1)))
        for candidate in (
            self.track.get((p, t, key)),
            self.track.get((p, t, None)),
            self.phase.get((p, "tracks")),
            self.phase.get((p, None)),
        ):
            if candidate is not None:
                return candidate
        return 1


# --- reading values --------------------------------------------------------------------------


def _field(p: int | None, t: int | None, key: str | None, items: str = "tracks") -> str:
    where = "arc" if p is None else f"phases[{p}]"
    if t is not None:
        where += f".{items}[{t}]"
    return f"{where}.{shown_field(key)}" if key else where


class _Reader:
    def __init__(self, name: str, text: str) -> None:
        self.name, self.source = name, text
        self._lines: _Lines | None = None
        self.items = "tracks"  # which list of a phase is being read: tracks or alternates

    @property
    def lines(self) -> _Lines:
        if self._lines is None:
            self._lines = _Lines(self.source)
        return self._lines

    def line(self, p: int | None = None, t: int | None = None, key: str | None = None) -> int:
        if self.items == "alternates" and t is not None:  # its phase's "alternates" line
            return self.lines.find(p, None, "alternates")
        return self.lines.find(p, t, key)

    def fail(
        self, problem: str, p: int | None = None, t: int | None = None, key: str | None = None
    ) -> ArcError:
        return ArcError(self.name, self.line(p, t, key), _field(p, t, key, self.items), problem)

    def warn(
        self, problem: str, p: int | None = None, t: int | None = None, key: str | None = None
    ) -> str:
        return _message(self.name, self.line(p, t, key), _field(p, t, key, self.items), problem)

    def table(
        self,
        value: object,
        allowed: Sequence[str],
        p: int | None = None,
        t: int | None = None,
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail("must be a table", p, t)
        for key in value:
            if key not in allowed:
                raise self.fail(f"unknown field; expected one of: {', '.join(allowed)}", p, t, key)
        return value

    def text(
        self,
        block: Mapping[str, Any],
        key: str,
        p: int | None = None,
        t: int | None = None,
        limit: int = 100,
        required: bool = True,
        strip: bool = True,
    ) -> str:
        if key not in block:
            if required:
                raise self.fail("is required", p, t, key)
            return ""
        value = block[key]
        if not isinstance(value, str):
            raise self.fail("must be text in quotes", p, t, key)
        if not value.strip() and required:
            raise self.fail("must not be empty", p, t, key)
        if len(value) > limit:
            raise self.fail(f"can be at most {limit} characters", p, t, key)
        if any(unicodedata.category(c).startswith("C") for c in value):
            raise self.fail("contains control characters", p, t, key)
        return value.strip() if strip else value

    def number(
        self,
        block: Mapping[str, Any],
        key: str,
        what: str,
        low: float,
        high: float,
        p: int | None = None,
        t: int | None = None,
        above_low: bool = False,
    ) -> float:
        """A finite number in [low, high] (or (low, high] if ``above_low``)."""
        value = block[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"must be {what}", p, t, key)
        try:
            number = float(value)
        except OverflowError:  # an integer with hundreds of digits
            raise self.fail(f"must be {what}", p, t, key) from None
        if not math.isfinite(number):
            raise self.fail(f"must be {what}, not NaN or infinity", p, t, key)
        if number < low or number > high or (above_low and number == low):
            raise self.fail(f"must be {what}", p, t, key)
        return number

    def whole(
        self,
        block: Mapping[str, Any],
        key: str,
        what: str,
        low: int,
        high: int,
        p: int | None = None,
        t: int | None = None,
    ) -> int:
        number = self.number(block, key, what, low, high, p, t)
        if not number.is_integer():
            raise self.fail(f"must be {what}", p, t, key)
        return int(number)

    def words(
        self,
        block: Mapping[str, Any],
        key: str,
        allowed: Sequence[str],
        p: int | None = None,
        t: int | None = None,
    ) -> tuple[str, ...]:
        value = block.get(key, [])
        choices = ", ".join(allowed)
        if not isinstance(value, list):
            raise self.fail(f"must be a list from: {choices}", p, t, key)
        for word in value:
            if not isinstance(word, str) or word not in allowed:
                shown = f'"{word}"' if isinstance(word, str) and len(word) <= 30 else "an entry"
                raise self.fail(f"{shown} is not one of: {choices}", p, t, key)
        if len(set(value)) != len(value):
            raise self.fail("lists the same value twice", p, t, key)
        return tuple(value)


# --- parsing ---------------------------------------------------------------------------------


def parse_arc(text: str, name: str, base_dir: Path | str | None = None) -> Arc:
    """Parse and check an arc file's text. ``name`` (the file name) is used in messages; relative
    track paths are joined to ``base_dir`` (default: left relative). Raises ArcError."""
    base = Path(base_dir) if base_dir is not None else None
    try:
        data = load_toml(text)
    except TomlProblem as exc:
        raise ArcError(name, exc.line, "TOML syntax", exc.problem) from None
    return _build(data, _Reader(name, text), base, name)


def load_arc(path: Path | str) -> Arc:
    """Read and check one arc file; relative track paths are taken from the file's folder.
    Raises ArcError (also for an unreadable or non-UTF-8 file)."""
    path = Path(path)
    try:
        raw = safe_files.read_handed_in(path, MAX_FILE_BYTES, "an arc file")
    except safe_files.UnreadableFile as exc:
        raise ArcError(path.name, None, None, exc.problem) from None
    try:
        text = raw.decode("utf-8-sig")  # tolerate the byte-order mark some editors write
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ArcError(
            path.name, line, None, "is not UTF-8 text (save the file as UTF-8)"
        ) from None
    arc = parse_arc(text, path.name, path.parent)
    return Arc(
        arc.id,
        arc.name,
        arc.phases,
        arc.description,
        arc.routes,
        arc.planned_minutes,
        str(path),
        arc.warnings,
        arc.target_lufs,
    )


def load_arcs(folder: Path) -> tuple[dict[str, Arc], list[ArcError]]:
    """Every ``*.arc.toml`` in ``folder`` by id, and the problems with files that could not be
    used. A bad file never hides the others; the first file (by name) with an id keeps it."""
    arcs: dict[str, Arc] = {}
    errors: list[ArcError] = []
    try:
        paths = sorted(
            p for p in folder.iterdir() if p.name.endswith(ARC_SUFFIX) and p.name[0] != "."
        )
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            return arcs, errors
        errors.append(
            ArcError(folder.name, None, None, f"the folder cannot be read ({exc.strerror})")
        )
        return arcs, errors
    for path in paths:
        try:
            arc = load_arc(path)
        except ArcError as exc:
            errors.append(exc)
            continue
        if arc.id in arcs:
            other = Path(arcs[arc.id].path).name
            errors.append(
                ArcError(path.name, None, "arc.id", f'"{arc.id}" is already used by {other}')
            )
            continue
        arcs[arc.id] = arc
    return arcs, errors


def available_arcs(folders: Sequence[Path]) -> tuple[dict[str, Arc], list[ArcError]]:
    """The arcs of several folders (the shipped ``playlists/`` and the clinic's own
    ``<data folder>/arcs``), by id; a later folder's arc replaces an earlier one's with the
    same id, so a clinic can adapt a shipped arc under its id."""
    arcs: dict[str, Arc] = {}
    errors: list[ArcError] = []
    for folder in folders:
        found, problems = load_arcs(folder)
        arcs.update(found)
        errors += problems
    return arcs, errors


def _build(data: dict[str, Any], r: _Reader, base: Path | None, name: str) -> Arc:
    for key in data:
        if key not in _ROOT_KEYS:
            problem = "unknown field; an arc file has [arc] and [[phases]]"
            raise ArcError(name, r.lines.root.get(key, 1), shown_field(key), problem)
    if "arc" not in data:
        raise ArcError(name, 1, "arc", "is required (an [arc] table)")
    head = r.table(data["arc"], _ARC_KEYS)
    ident = r.text(head, "id", limit=40)
    if not _ID.match(ident):
        raise r.fail('must be lowercase letters, digits and dashes, e.g. "im-45"', key="id")
    title = r.text(head, "name")
    description = r.text(head, "description", limit=500, required=False)
    routes = r.words(head, "routes", ROUTES)
    planned: int | None = None
    if "planned_minutes" in head:
        what = f"a whole number of minutes from {PLANNED_MIN} to {PLANNED_MAX}"
        planned = r.whole(head, "planned_minutes", what, PLANNED_MIN, PLANNED_MAX)
    target = TARGET_LUFS
    if "target_lufs" in head:
        low, high = TARGET_RANGE_LUFS
        target = r.number(head, "target_lufs", f"LUFS from {low:g} to {high:g}", low, high)

    raw_phases = data.get("phases")
    if not isinstance(raw_phases, list) or not raw_phases:
        raise ArcError(
            name, r.lines.root.get("phases", 1), "phases", "must be one or more [[phases]] blocks"
        )
    warnings: list[str] = []
    phases = tuple(_phase(raw, p, r, base, warnings) for p, raw in enumerate(raw_phases, 1))
    _check_order(phases, r)
    _check_items(phases, r, warnings)
    return Arc(ident, title, phases, description, routes, planned, name, tuple(warnings), target)


def _phase(raw: object, p: int, r: _Reader, base: Path | None, warnings: list[str]) -> Phase:
    block = r.table(raw, _PHASE_KEYS, p)
    name = r.text(block, "name", p, limit=40)
    for key in ("start_minutes", "minutes"):
        if key not in block:
            raise r.fail("is required", p, key=key)
    start = r.number(block, "start_minutes", f"minutes from 0 to {MAX_MINUTES}", 0, MAX_MINUTES, p)
    minutes = r.number(
        block, "minutes", "a number of minutes greater than 0", 0, math.inf, p, above_low=True
    )
    if start + minutes > MAX_MINUTES:
        raise r.fail(
            f"ends at {start + minutes:g} min, after minute {MAX_MINUTES}", p, key="minutes"
        )
    fades = _fades(block, r, p, None, (DEFAULT_FADE_IN_S, DEFAULT_FADE_OUT_S))
    raw_items = block.get("tracks", [])
    if not isinstance(raw_items, list):
        raise r.fail("must be a list of tracks and silences ([[phases.tracks]])", p, key="tracks")
    if not raw_items:
        raise r.fail(
            "has no tracks; add [[phases.tracks]] with a path, or a silence (silence_s = 30) "
            "for a silent phase",
            p,
            key="tracks" if "tracks" in block else "name",
        )
    items = tuple(_item(raw, p, t, r, base, fades) for t, raw in enumerate(raw_items, 1))
    alternates = _alternates(block, p, r, base, fades)
    return Phase(name, start, minutes, items, fades[0], fades[1], r.line(p), alternates)


def _alternates(
    block: Mapping[str, Any], p: int, r: _Reader, base: Path | None, fades: tuple[float, float]
) -> tuple[Alternate, ...]:
    raw = block.get("alternates", [])
    if not isinstance(raw, list):
        raise r.fail("must be a list of tracks ([[phases.alternates]])", p, key="alternates")
    found = []
    r.items = "alternates"
    try:
        for a, entry in enumerate(raw, 1):
            r.table(entry, _ALTERNATE_KEYS, p, a)
            if "kind" not in entry:
                raise r.fail(f"is required: {' or '.join(ALTERNATE_KINDS)}", p, a, "kind")
            kind = entry["kind"]
            if kind not in ALTERNATE_KINDS:
                raise r.fail(f"must be {' or '.join(ALTERNATE_KINDS)}", p, a, "kind")
            track = _item({k: v for k, v in entry.items() if k != "kind"}, p, a, r, base, fades)
            assert isinstance(track, Track)  # a table with a path and no silence_s
            found.append(Alternate(kind, track))
    finally:
        r.items = "tracks"
    return tuple(found)


def _fades(
    block: Mapping[str, Any], r: _Reader, p: int, t: int | None, default: tuple[float, float]
) -> tuple[float, float]:
    what = f"seconds from 0 to {MAX_FADE_S:g}"
    fade_in, fade_out = default
    if "fade_in_s" in block:
        fade_in = r.number(block, "fade_in_s", what, 0, MAX_FADE_S, p, t)
    if "fade_out_s" in block:
        fade_out = r.number(block, "fade_out_s", what, 0, MAX_FADE_S, p, t)
    return fade_in, fade_out


def _item(
    raw: object, p: int, t: int, r: _Reader, base: Path | None, fades: tuple[float, float]
) -> Item:
    if isinstance(raw, dict) and "silence_s" in raw:
        r.table(raw, _SILENCE_KEYS, p, t)
        what = f"seconds greater than 0, at most {MAX_MINUTES * 60}"
        seconds = r.number(raw, "silence_s", what, 0, MAX_MINUTES * 60, p, t, above_low=True)
        return Silence(seconds, r.line(p, t))
    if not isinstance(raw, dict):
        raise r.fail('must be a track {path = "..."} or a silence {silence_s = 30}', p, t)
    block = r.table(raw, _TRACK_KEYS, p, t)
    # Not stripped: a file name may really begin or end with a space.
    location = r.text(block, "path", p, t, limit=MAX_PATH_CHARS, strip=False)
    written = Path(location)
    path = base / written if base is not None and not written.is_absolute() else written
    title = r.text(block, "title", p, t, limit=MAX_TITLE_CHARS, required=False) or _stem(written)
    tags = r.words(block, "tags", TAGS, p, t)
    if "lyrics" in tags and "no_lyrics" in tags:
        raise r.fail("cannot be both lyrics and no_lyrics", p, t, "tags")
    gapless = block.get("gapless_next", False)
    if not isinstance(gapless, bool):
        raise r.fail("must be true or false", p, t, "gapless_next")
    volume = None
    if "volume" in block:
        volume = r.whole(block, "volume", "a whole number from 0 to 100", 0, 100, p, t)
    fade_in, fade_out = _fades(block, r, p, t, fades)
    return Track(path, title, tags, gapless, volume, fade_in, fade_out, location, r.line(p, t))


def _stem(path: Path) -> str:
    return path.stem or path.name or str(path)


def _check_order(phases: Sequence[Phase], r: _Reader) -> None:
    for p in range(2, len(phases) + 1):
        before, phase = phases[p - 2], phases[p - 1]
        if phase.start_minutes < before.end_minutes:
            raise r.fail(
                f"starts at {phase.start_minutes:g} min, before phases[{p - 1}] "
                f'("{before.name}") ends at {before.end_minutes:g} min; list phases in time '
                "order without overlap",
                p,
                key="start_minutes",
            )


def _check_items(phases: Sequence[Phase], r: _Reader, warnings: list[str]) -> None:
    """Gapless links, duplicates and tags, across the whole arc in playing order."""
    flat = [
        (p, t, item) for p, phase in enumerate(phases, 1) for t, item in enumerate(phase.items, 1)
    ]
    seen: dict[Path, tuple[int, int]] = {}
    names: dict[str, int] = {}
    for p, phase in enumerate(phases, 1):
        if phase.name in names:
            warnings.append(
                r.warn(f"has the same name as phases[{names[phase.name]}]", p, key="name")
            )
        names.setdefault(phase.name, p)
    for position, (p, t, item) in enumerate(flat):
        if not isinstance(item, Track):
            continue
        if item.gapless_next:
            following = flat[position + 1][2] if position + 1 < len(flat) else None
            if not isinstance(following, Track):
                what = "the arc ends" if following is None else "a silence follows"
                raise r.fail(
                    f"is true but {what}; gapless needs a next track", p, t, "gapless_next"
                )
        earlier = seen.get(item.path)
        if earlier is not None:
            warnings.append(
                r.warn(
                    f"the same file as phases[{earlier[0]}].tracks[{earlier[1]}] (it plays twice)",
                    p,
                    t,
                    "path",
                )
            )
        else:
            seen[item.path] = (p, t)
        if "lyrics" in item.tags:
            warnings.append(
                r.warn("lyrics: the client may follow words in a language they know", p, t, "tags")
            )
        if "familiar" in item.tags:
            warnings.append(r.warn("familiar: may pull the client into memories", p, t, "tags"))


# --- writing ---------------------------------------------------------------------------------


def _toml_str(text: str) -> str:
    # The parser refuses control characters (and lone surrogates, from undecodable file names),
    # so the writer never writes a file it cannot read back.
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise InvalidEntry(f"{json.dumps(text)[:200]} has characters an arc file cannot hold")
    # JSON string escapes are valid in TOML basic strings.
    return json.dumps(text, ensure_ascii=False)


def _toml_num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _written_path(path: Path, folder: Path | None) -> str:
    """Relative to the arc file's folder (with "/") when inside it, else as it is."""
    if folder is not None and path.is_absolute():
        try:
            return path.relative_to(folder).as_posix()
        except ValueError:
            return str(path)
    return path.as_posix() if not path.is_absolute() else str(path)


def arc_to_toml(arc: Arc, folder: Path | None = None) -> str:
    """The arc as the text of an arc file that will sit in ``folder`` (track paths under it are
    written relative). Parsing the text gives an equal arc; a fade equal to its phase's default
    is left out. Raises InvalidEntry for a name that cannot be written as UTF-8."""
    out = ["[arc]", f"id = {_toml_str(arc.id)}", f"name = {_toml_str(arc.name)}"]
    if arc.description:
        out.append(f"description = {_toml_str(arc.description)}")
    if arc.routes:
        out.append(f"routes = [{', '.join(_toml_str(r) for r in arc.routes)}]")
    if arc.planned_minutes is not None:
        out.append(f"planned_minutes = {arc.planned_minutes}")
    if arc.target_lufs != TARGET_LUFS:
        out.append(f"target_lufs = {_toml_num(arc.target_lufs)}")
    for phase in arc.phases:
        out += [
            "",
            "[[phases]]",
            f"name = {_toml_str(phase.name)}",
            f"start_minutes = {_toml_num(phase.start_minutes)}",
            f"minutes = {_toml_num(phase.minutes)}",
            f"fade_in_s = {_toml_num(phase.fade_in_s)}",
            f"fade_out_s = {_toml_num(phase.fade_out_s)}",
        ]
        for item in phase.items:
            out += ["", "[[phases.tracks]]"]
            if isinstance(item, Silence):
                out.append(f"silence_s = {_toml_num(item.seconds)}")
                continue
            out += _track_lines(item, phase, folder)
        for alternate in phase.alternates:
            out += ["", "[[phases.alternates]]", f"kind = {_toml_str(alternate.kind)}"]
            out += _track_lines(alternate.track, phase, folder)
    return "\n".join(out) + "\n"


def _track_lines(item: Track, phase: Phase, folder: Path | None) -> list[str]:
    out = [
        f"path = {_toml_str(_written_path(item.path, folder))}",
        f"title = {_toml_str(item.title)}",
    ]
    if item.tags:
        out.append(f"tags = [{', '.join(_toml_str(t) for t in item.tags)}]")
    if item.volume is not None:
        out.append(f"volume = {item.volume}")
    if item.gapless_next:
        out.append("gapless_next = true")
    if item.fade_in_s != phase.fade_in_s:
        out.append(f"fade_in_s = {_toml_num(item.fade_in_s)}")
    if item.fade_out_s != phase.fade_out_s:
        out.append(f"fade_out_s = {_toml_num(item.fade_out_s)}")
    return out


def write_arc(arc: Arc, path: Path) -> None:
    """Write ``arc`` as an arc file at ``path`` (replacing it whole, never half-written)."""
    safe_files.write_atomically(path, arc_to_toml(arc, path.parent.absolute()).encode("utf-8"))
