"""Reading and writing the playlists clinics already have (M3U, M3U8, XSPF) and turning them into
arcs and back.

Reading is forgiving about what real players write and strict about what is not a playlist:

- M3U/M3U8: ``#EXTM3U`` and ``#EXTINF:<seconds>,<title>`` (the title goes to the next entry;
  other ``#`` lines are comments), blank lines, CRLF/CR/LF, a UTF-8 (or UTF-16) byte-order mark.
  An entry is a path (relative to the playlist's folder, or absolute; Windows ``\\`` separators
  are turned into ``/`` when a line has no ``/``), a ``file:`` URI (percent-encoded, UTF-8 or
  else Latin-1 bytes), or another URL (``http://...``: kept, with ``url`` set and ``path`` None;
  such entries are *offline* in the session room). In a plain ``.m3u`` a line that is not UTF-8
  is read as Latin-1 and kept; in a ``.m3u8`` (UTF-8 by definition) it is refused with its line.
- XSPF: ``<track>`` with ``<location>`` (a URI: ``file://``, relative to the playlist's folder,
  or a URL), ``<title>`` and ``<duration>`` (milliseconds). Read with expat directly so each
  entry keeps its line; any DOCTYPE (and so any entity declaration: billion-laughs, external
  entities) is refused. A track without a location is left out (there is nothing to play).

Whether an entry's file exists or decodes is the pre-flight's job: a directory, a zero-length
file or a duplicate is simply an entry here. Anything that is not a playlist raises
PlaylistError (an InvalidEntry) naming the file and, where there is one, the line."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlsplit
from xml.etree import ElementTree as ET
from xml.parsers import expat

from kapsession.errors import InvalidEntry
from kapsession.music.arc import (
    ARC_SUFFIX,
    DEFAULT_FADE_IN_S,
    DEFAULT_FADE_OUT_S,
    MAX_MINUTES,
    MAX_PATH_CHARS,
    MAX_TITLE_CHARS,
    Arc,
    Phase,
    Track,
)
from kapsession.storage import safe_files

M3U_SUFFIXES = (".m3u", ".m3u8")
XSPF_SUFFIX = ".xspf"
XSPF_NS = "http://xspf.org/ns/0/"
# 10,000 entries with long paths are ~2 MB (a whole music library exported as one list; a
# session plays a few dozen). 8 MB holds four times that and reads in about a second; a bigger
# file is not a playlist and is not read.
MAX_FILE_BYTES = 8 * 1024 * 1024
# XSPF nests four deep (playlist, trackList, track, location); extensions add a few levels.
# Deeper is refused as it is read: expat keeps every open element (4 million cost 590 MB).
MAX_XSPF_DEPTH = 64
DEFAULT_ARC_MINUTES = 60

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
# Characters XML 1.0 cannot carry at all (they are dropped from titles when writing).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class PlaylistError(InvalidEntry):
    """A file that cannot be read as a playlist. ``file`` is its name, ``line`` the 1-based line
    (None for the whole file) and ``problem`` what is wrong."""

    def __init__(self, file: str, line: int | None, problem: str) -> None:
        self.file, self.line, self.problem = file, line, problem
        where = file if line is None else f"{file} line {line}"
        super().__init__(f"{where}: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.file, self.line, self.problem))


@dataclass(frozen=True)
class PlaylistEntry:
    """One entry as read. ``location`` is the text as written (decoded); exactly one of ``path``
    (a local file or folder) and ``url`` (anything with a scheme other than file:) is set.
    ``line`` is where the entry was written (None for entries made in code)."""

    location: str
    path: Path | None
    url: str | None
    title: str | None = None
    duration_s: float | None = None
    line: int | None = None

    @property
    def offline(self) -> bool:
        """A network URL: it cannot play in an offline session room."""
        return self.url is not None

    @staticmethod
    def for_path(
        path: Path, title: str | None = None, duration_s: float | None = None
    ) -> PlaylistEntry:
        return PlaylistEntry(str(path), path, None, title, duration_s)


# --- reading ---------------------------------------------------------------------------------


def read_playlist(path: Path | str) -> list[PlaylistEntry]:
    """The entries of an M3U, M3U8 or XSPF file, in order. The format comes from the suffix;
    an unknown suffix is sniffed (XML is XSPF, anything else M3U). Raises PlaylistError."""
    path = Path(path)
    try:
        raw = safe_files.read_handed_in(path, MAX_FILE_BYTES, "a playlist")
    except safe_files.UnreadableFile as exc:
        raise PlaylistError(path.name, None, exc.problem) from None
    suffix = path.suffix.lower()
    base = path.parent.absolute()
    if suffix == XSPF_SUFFIX or (
        suffix not in M3U_SUFFIXES and raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")
    ):
        return parse_xspf(raw, path.name, base)
    return parse_m3u(raw, path.name, base, utf8_only=suffix == ".m3u8")


def _decode_text(raw: bytes, name: str) -> tuple[bytes, str | None]:
    """(bytes, None) for UTF-8 or unknown 8-bit text without its BOM; (b"", text) for UTF-16."""
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if raw.startswith(bom):
            try:
                return b"", raw[len(bom) :].decode(codec)
            except UnicodeDecodeError:
                raise PlaylistError(name, None, "is not valid UTF-16 text") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise PlaylistError(name, line, "contains NUL bytes; not a text playlist")
    return raw, None


def parse_m3u(
    raw: bytes, name: str, base_dir: Path | None = None, utf8_only: bool = False
) -> list[PlaylistEntry]:
    """Entries of an M3U/M3U8 file's bytes; relative paths are joined to ``base_dir``."""
    raw, text = _decode_text(raw, name)
    if text is not None:
        if "\x00" in text:
            raise PlaylistError(name, None, "contains NUL characters; not a text playlist")
        # str.splitlines would also break at \x0b, \x1c, \u2028...; lines end at \n, \r, \r\n.
        lines: Sequence[str | bytes] = re.split(r"\r\n|\r|\n", text)
    else:
        lines = raw.splitlines()  # bytes: only \n, \r and \r\n
    entries: list[PlaylistEntry] = []
    title: str | None = None
    duration: float | None = None
    for number, line in enumerate(lines, 1):
        if isinstance(line, bytes):
            try:
                decoded = line.decode("utf-8")
            except UnicodeDecodeError:
                if utf8_only:
                    raise PlaylistError(
                        name, number, "is not UTF-8 (an .m3u8 must be; rename it .m3u)"
                    ) from None
                decoded = line.decode("latin-1")
        else:
            decoded = line
        stripped = decoded.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            if stripped[:8].upper() == "#EXTINF:":
                duration, title = _extinf(stripped[8:])
            continue
        entry = _entry(stripped, base_dir, title, duration, number)
        if isinstance(line, bytes) and entry.path is not None:
            entry = _prefer_raw_name(entry, line.strip(), base_dir)
        entries.append(entry)
        title, duration = None, None
    return entries


def _prefer_raw_name(entry: PlaylistEntry, raw: bytes, base: Path | None) -> PlaylistEntry:
    """A non-UTF-8 line was read as Latin-1 ("café.ogg"). On Linux the file may carry those
    very bytes as its name (b"caf\xe9.ogg"), which the Latin-1 text does not reach: use the
    raw name when only it exists."""
    try:
        raw.decode("utf-8")
        return entry  # a UTF-8 line needs no second reading
    except UnicodeDecodeError:
        pass
    if os.name == "nt" or entry.path is None or _exists(entry.path):
        return entry
    raw_path = Path(os.fsdecode(raw))
    if base is not None and not raw_path.is_absolute():
        raw_path = base / raw_path
    if _exists(raw_path):
        return PlaylistEntry(
            entry.location, raw_path, None, entry.title, entry.duration_s, entry.line
        )
    return entry


def _exists(path: Path) -> bool:
    """Path.exists() that says False, not raises, for a name too long for the file system or
    a folder that cannot be entered: the pre-flight names those tracks, reading never fails."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _extinf(rest: str) -> tuple[float | None, str | None]:
    """``123 attr="x",Title`` -> (123.0, "Title"); an unknown or negative length is None."""
    head, comma, title = rest.partition(",")
    duration: float | None = None
    token = head.strip().split(" ", 1)[0] if head.strip() else ""
    try:
        value = float(token)
    except ValueError:
        value = -1.0
    if math.isfinite(value) and value > 0:
        duration = value
    shown = title.strip() if comma else ""
    return duration, shown or None


def _entry(
    location: str, base: Path | None, title: str | None, duration: float | None, line: int | None
) -> PlaylistEntry:
    scheme = _SCHEME.match(location)
    if scheme and not _WINDOWS_DRIVE.match(location):
        if scheme.group(1).lower() == "file":
            return PlaylistEntry(location, _file_uri_path(location), None, title, duration, line)
        return PlaylistEntry(location, None, location, title, duration, line)
    written = location
    if _WINDOWS_DRIVE.match(written) or ("\\" in written and "/" not in written):
        written = written.replace("\\", "/")
    path = Path(written)
    if base is not None and not path.is_absolute():
        path = base / path
    return PlaylistEntry(location, path, None, title, duration, line)


def _unquote(text: str) -> str:
    """Percent-decoding that keeps Latin-1 bytes (%E9) instead of turning them into U+FFFD."""
    data = unquote_to_bytes(text)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _file_uri_path(uri: str) -> Path:
    """``file:///a/b%20c``, ``file://localhost/a``, ``file:/a``, ``file:///C:/x`` and UNC
    ``file://server/share/x`` (as ``//server/share/x``) to a path."""
    parts = urlsplit(uri)
    path = _unquote(parts.path)
    host = parts.netloc
    if host and host.lower() != "localhost":
        return Path(f"//{_unquote(host)}{path}")
    if os.name == "nt" and re.match(r"^/[A-Za-z]:", path):
        path = path[1:]
    return Path(path or "/")


def _location_path(location: str, base: Path | None) -> tuple[Path | None, str | None]:
    """An XSPF location (a URI reference) as (path, url)."""
    scheme = _SCHEME.match(location)
    if scheme and not _WINDOWS_DRIVE.match(location):
        if scheme.group(1).lower() == "file":
            return _file_uri_path(location), None
        return None, location
    # A relative URI reference; its path part is percent-encoded.
    path = Path(_unquote(location.split("#", 1)[0].split("?", 1)[0]))
    if base is not None and not path.is_absolute():
        path = base / path
    return path, None


class _Doctype(Exception):
    pass


class _TooDeep(Exception):
    pass


def parse_xspf(raw: bytes, name: str, base_dir: Path | None = None) -> list[PlaylistEntry]:
    """Entries of an XSPF file's bytes; relative locations are joined to ``base_dir``."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    entries: list[PlaylistEntry] = []
    stack: list[str] = []
    text: list[str] = []
    track: dict[str, str] = {}
    # Depth and line of the <track> being read (a direct child of <trackList>); 0: none.
    current = {"depth": 0, "line": 0}
    roots: list[str] = []

    def forbid(*_: object) -> None:
        raise _Doctype

    def start(tag: str, _attrs: dict[str, str]) -> None:
        tag = tag.rsplit(" ", 1)[-1]
        if len(stack) >= MAX_XSPF_DEPTH:
            raise _TooDeep
        if not stack:
            roots.append(tag)
        if tag == "track" and stack[-1:] == ["trackList"] and not current["depth"]:
            track.clear()
            current["depth"], current["line"] = len(stack) + 1, parser.CurrentLineNumber
        stack.append(tag)
        text.clear()

    def end(_tag: str) -> None:
        tag = stack.pop()
        depth = current["depth"]
        if depth and len(stack) == depth and tag in ("location", "title", "duration"):
            value = "".join(text).strip()
            if value and tag not in track:  # XSPF allows several locations: take the first
                track[tag] = value
        elif depth and len(stack) == depth - 1:
            _xspf_track(track, base_dir, current["line"], entries)
            current["depth"] = 0
        text.clear()

    def data(chunk: str) -> None:
        text.append(chunk)

    parser.StartDoctypeDeclHandler = forbid
    parser.EntityDeclHandler = forbid
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    try:
        parser.Parse(raw, True)
    except _Doctype:
        raise PlaylistError(
            name, parser.CurrentLineNumber, "has a DOCTYPE or entities; not accepted in XSPF"
        ) from None
    except _TooDeep:
        raise PlaylistError(
            name,
            parser.CurrentLineNumber,
            f"nests elements more than {MAX_XSPF_DEPTH} deep; not an XSPF playlist",
        ) from None
    except expat.ExpatError as exc:
        problem = expat.ErrorString(exc.code) if exc.code else "not well-formed"
        raise PlaylistError(name, exc.lineno, f"is not valid XML ({problem})") from None
    except (ValueError, RecursionError, MemoryError):
        raise PlaylistError(name, None, "cannot be read as XML") from None
    if roots != ["playlist"]:
        raise PlaylistError(name, 1, "is not an XSPF playlist (no <playlist> element)")
    return entries


def _xspf_track(
    track: dict[str, str], base: Path | None, line: int, entries: list[PlaylistEntry]
) -> None:
    location = track.get("location")
    if not location:
        return
    duration: float | None = None
    try:
        value = float(track.get("duration", ""))
        if math.isfinite(value) and value > 0:
            duration = value / 1000
    except ValueError:
        pass
    path, url = _location_path(location, base)
    entries.append(PlaylistEntry(location, path, url, track.get("title"), duration, line))


# --- writing ---------------------------------------------------------------------------------


def _file_uri(path: Path) -> str:
    data = os.fsencode(path.absolute())
    return "file://" + quote(data, safe="/:")


def _relative(path: Path, folder: Path) -> str | None:
    """``path`` relative to ``folder`` with "/" separators, if it lies inside it."""
    try:
        return path.absolute().relative_to(folder).as_posix()
    except ValueError:
        return None


def _clean(text: str | None) -> str:
    return " ".join(_XML_INVALID.sub(" ", text).split()) if text else ""


def _atomic_write(path: Path, data: bytes) -> None:
    safe_files.write_atomically(path, data)


def _m3u_location(entry: PlaylistEntry, folder: Path) -> str:
    if entry.path is None:
        return _clean(entry.url or entry.location)
    written = _relative(entry.path, folder) or str(entry.path.absolute())
    # A name M3U cannot carry as a plain line (a newline, a leading "#" or space, a name
    # that would read as a URL, surrogate bytes) goes as a file URI, which carries anything.
    plain = (
        written == written.strip()
        and not written.startswith("#")
        and not _SCHEME.match(written)
        and not any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in written)
    )
    return written if plain else _file_uri(entry.path)


def write_m3u8(entries: Sequence[PlaylistEntry], path: Path | str) -> None:
    """Write an extended M3U8 (UTF-8, no BOM, LF). Paths inside the playlist's folder are
    written relative to it, others absolute; URLs as they are."""
    path = Path(path)
    folder = path.parent.absolute()
    out = ["#EXTM3U"]
    for entry in entries:
        if entry.title is not None or entry.duration_s is not None:
            seconds = -1 if entry.duration_s is None else max(1, round(entry.duration_s))
            out.append(f"#EXTINF:{seconds},{_clean(entry.title)}")
        out.append(_m3u_location(entry, folder))
    _atomic_write(path, ("\n".join(out) + "\n").encode("utf-8"))


def write_xspf(entries: Sequence[PlaylistEntry], path: Path | str, title: str = "") -> None:
    """Write an XSPF playlist (UTF-8). Paths inside the playlist's folder are written as
    relative URI references, others as ``file://`` URIs; durations in milliseconds."""
    path = Path(path)
    folder = path.parent.absolute()
    ET.register_namespace("", XSPF_NS)
    root = ET.Element(f"{{{XSPF_NS}}}playlist", {"version": "1"})
    if title:
        ET.SubElement(root, f"{{{XSPF_NS}}}title").text = _clean(title)
    track_list = ET.SubElement(root, f"{{{XSPF_NS}}}trackList")
    for entry in entries:
        track = ET.SubElement(track_list, f"{{{XSPF_NS}}}track")
        if entry.path is None:
            location = _clean(entry.url or entry.location)
        else:
            inside = _relative(entry.path, folder)
            if inside is not None and not any(0xD800 <= ord(c) <= 0xDFFF for c in inside):
                location = quote(inside, safe="/")
            else:
                location = _file_uri(entry.path)
        ET.SubElement(track, f"{{{XSPF_NS}}}location").text = location
        if entry.title:
            ET.SubElement(track, f"{{{XSPF_NS}}}title").text = _clean(entry.title)
        if entry.duration_s is not None:
            milliseconds = str(round(entry.duration_s * 1000))
            ET.SubElement(track, f"{{{XSPF_NS}}}duration").text = milliseconds
    ET.indent(root)
    data = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    _atomic_write(path, data + b"\n")


# --- arcs ------------------------------------------------------------------------------------


def _slug(name: str) -> str:
    words = re.findall(r"[a-z0-9]+", name.lower())
    slug = "-".join(words)[:40].strip("-")
    return slug or "imported"


def arc_from_playlist(
    entries: Sequence[PlaylistEntry],
    name: str,
    phases: Sequence[str] = ("session",),
    minutes: float | None = None,
) -> Arc:
    """An arc from a playlist's local entries, in order.

    With the default one phase, every track goes to a phase "session" starting at the dose.
    With several phase names, the tracks are split evenly by count into consecutive phases
    (the first phases take one more when it does not divide). Phase lengths: when every track's
    duration is known, each phase lasts as long as its tracks (rounded up to a whole minute);
    otherwise ``minutes`` (default 60) is shared evenly. URL entries are left out (the session
    room is offline), each noted in ``warnings``. Raises InvalidEntry for no local entries,
    more phases than tracks, or a length beyond 240 minutes."""
    if not phases or any(not p.strip() for p in phases):
        raise InvalidEntry("An imported arc needs at least one phase name.")
    warnings: list[str] = []
    local: list[PlaylistEntry] = []
    for entry in entries:
        where = f"line {entry.line}: " if entry.line is not None else ""
        if entry.path is None:
            warnings.append(f"{where}{entry.location[:200]} is a URL and was left out (offline)")
        elif len(str(entry.path.absolute())) > MAX_PATH_CHARS:
            warnings.append(f"{where}a name too long to be a file was left out")
        else:
            local.append(entry)
    if not local:
        raise InvalidEntry("The playlist has no local files to make an arc from.")
    if len(phases) > len(local):
        raise InvalidEntry(f"{len(phases)} phases need at least {len(phases)} tracks.")
    size, extra = divmod(len(local), len(phases))
    groups: list[list[PlaylistEntry]] = []
    start = 0
    for index in range(len(phases)):
        stop = start + size + (1 if index < extra else 0)
        groups.append(local[start:stop])
        start = stop
    lengths: list[float]
    if all(e.duration_s is not None for e in local):
        lengths = [max(1, math.ceil(sum(e.duration_s or 0 for e in g) / 60)) for g in groups]
    else:
        total = DEFAULT_ARC_MINUTES if minutes is None else minutes
        lengths = [total / len(phases)] * len(phases)
    if not sum(lengths) <= MAX_MINUTES or not all(length > 0 for length in lengths):
        raise InvalidEntry(f"An arc must fit in {MAX_MINUTES} minutes after the dose.")
    built: list[Phase] = []
    at = 0.0
    for phase_name, group, length in zip(phases, groups, lengths, strict=True):
        tracks = tuple(
            Track(
                e.path,
                # A title the arc file could not hold (a 300-character file name) is shortened
                # here, or the written arc would not load.
                (e.title or e.path.stem or e.location)[:MAX_TITLE_CHARS],
                location=e.location,
                line=e.line,
            )
            for e in group
            if e.path is not None
        )
        built.append(
            Phase(phase_name.strip(), at, length, tracks, DEFAULT_FADE_IN_S, DEFAULT_FADE_OUT_S)
        )
        at += length
    return Arc(_slug(name), name.strip() or "Imported", tuple(built), warnings=tuple(warnings))


def playlist_from_arc(arc: Arc) -> list[PlaylistEntry]:
    """The arc's tracks as playlist entries, in playing order. Silences, phases, tags, fades
    and volumes have no place in M3U/XSPF and are left out."""
    return [
        PlaylistEntry(str(item.path), item.path, None, item.title, None, item.line)
        for _, item in arc.items()
        if isinstance(item, Track)
    ]


def is_playlist_file(path: Path) -> bool:
    """Whether ``path`` names a file this module reads (M3U, M3U8, XSPF), not an arc."""
    name = path.name.lower()
    return not name.endswith(ARC_SUFFIX) and path.suffix.lower() in (*M3U_SUFFIXES, XSPF_SUFFIX)
