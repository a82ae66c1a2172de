"""Monitoring protocols: readable TOML templates, checked when they are loaded (never mid-session),
and the pure plan of timed checks a protocol gives for a session of a planned length.

A protocol file is written by a clinic admin, so every refusal says the file, the line and the
field, e.g. ``sublingual.toml line 14, checks[2].every: must be a whole number of minutes greater
than 0``. Blocks are numbered from 1, as a reader counts them. The format is described in
``kapsession/protocols/README.md`` and in each shipped file's header."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from kapsession.errors import InvalidEntry
from kapsession.limits import PLANNED_MAX, PLANNED_MIN
from kapsession.monitoring import observations
from kapsession.monitoring.dose_rules import DoseRules, parse_dose_rules
from kapsession.monitoring.vitals import LIMITS
from kapsession.storage import safe_files
from kapsession.storage.schema import ROUTES
from kapsession.tomlfile import TomlProblem, load_toml, shown_field

SCALES: tuple[str, ...] = tuple(observations.SCALES)  # the scale ids a check may ask for
THRESHOLD_FIELDS: tuple[str, ...] = tuple(LIMITS)
# A threshold applies at every check, or only at the baseline (the check at minute 0), e.g. the
# REMS pre-dose blood pressure guide.
APPLIES_TO: tuple[str, ...] = ("all", "baseline")
END = "end"
# The same bounds as a session's planned length (schema.py, session.validate_plan).
MAX_TOLERANCE_MINUTES = 60
# Far more than any protocol needs; a bigger file is a mistake (or not a protocol) and is not read.
MAX_FILE_BYTES = 256 * 1024

_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
_ROOT_KEYS = ("protocol", "checks", "thresholds", "medication", "start_gate")
_PROTOCOL_KEYS = (
    "id",
    "name",
    "description",
    "route",
    "planned_minutes",
    "late_after_minutes",
    "missed_after_minutes",
    "cosignature_required",
    "discharge_sustained_minutes",
)
_CHECK_KEYS = ("label", "at", "every", "from", "until", "vitals", "scales")
_THRESHOLD_KEYS = ("field", "low", "high", "source", "applies_to")


class ProtocolError(InvalidEntry):
    """A protocol file that cannot be used. ``file`` is the file's name, ``line`` the 1-based
    line (None when there is none, e.g. an unreadable file), ``field`` the dotted field name
    (e.g. ``checks[2].every``; None for the whole file) and ``problem`` what is wrong."""

    def __init__(self, file: str, line: int | None, field: str | None, problem: str) -> None:
        self.file, self.line, self.field, self.problem = file, line, field, problem
        where = file if line is None else f"{file} line {line}"
        super().__init__(f"{where}, {field}: {problem}" if field else f"{where}: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.file, self.line, self.field, self.problem))


@dataclass(frozen=True)
class Threshold:
    """Values outside [low, high] raise an alert that shows ``source``; the edges are in range."""

    field: str
    low: float | None
    high: float | None
    source: str
    applies_to: str = "all"  # "all" checks, or only the "baseline" check (minute 0)


@dataclass(frozen=True)
class CheckSpec:
    """One timed check of a session's plan. ``key`` is stable for a protocol and planned length
    (``c15-monitoring``): answers, snoozes and due/late/missed entries name it, so they still
    belong to their check after a restart."""

    key: str
    offset_s: float  # seconds after the dose
    label: str
    vitals: bool
    scales: tuple[str, ...]

    @property
    def minute(self) -> int:
        return round(self.offset_s / 60)

    def to_data(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "offset_s": self.offset_s,
            "label": self.label,
            "vitals": self.vitals,
            "scales": list(self.scales),
        }


@dataclass(frozen=True)
class CheckRule:
    """One ``[[checks]]`` block as written: a single check (``at`` minutes, or ``at_end``) or a
    repeating one (``every`` minutes from ``start``, None meaning one interval after the dose,
    until ``until``, None meaning the planned end)."""

    label: str
    vitals: bool
    scales: tuple[str, ...]
    at: int | None = None
    at_end: bool = False
    every: int | None = None
    start: int | None = None
    until: int | None = None


@dataclass(frozen=True)
class Protocol:
    id: str
    name: str
    route: str
    planned_minutes: int
    late_after_s: float
    missed_after_s: float
    checks: tuple[CheckSpec, ...]  # the plan at planned_minutes
    thresholds: tuple[Threshold, ...]
    path: str
    description: str = ""
    rules: tuple[CheckRule, ...] = field(default=(), repr=False)
    # A second clinician (e.g. the prescriber) co-signs every session (exports/signing.py).
    cosignature_required: bool = False
    # Ready to leave (monitoring/ready.py): the discharge criteria held this long (issue 15).
    discharge_sustained_s: float = 15 * 60.0
    # The ketamine ceiling and the start gate (issue 15; monitoring/dose_rules.py).
    dose_rules: DoseRules = field(default_factory=DoseRules)

    def plan(self, planned_minutes: int | None = None) -> tuple[CheckSpec, ...]:
        """The checks of a session planned for ``planned_minutes`` (default: the protocol's),
        ordered by time, keys unique. Repeating checks that run until "end" follow the planned
        end; the end check moves to it and repeating checks give way to it; checks after the
        planned end are left out. Checks that land in the same minute (possible only when the
        length differs from the protocol's) become one check asking everything both asked,
        under the end check's label or else the one listed first."""
        minutes = self.planned_minutes if planned_minutes is None else planned_minutes
        if (
            isinstance(minutes, bool)
            or not isinstance(minutes, int)
            or not PLANNED_MIN <= minutes <= PLANNED_MAX
        ):
            raise InvalidEntry(
                f"Planned length must be a whole number of minutes from {PLANNED_MIN} "
                f"to {PLANNED_MAX}."
            )
        if not self.rules:
            return tuple(c for c in self.checks if c.offset_s <= minutes * 60)
        return _expand(self.rules, minutes)

    def thresholds_for(self, check: CheckSpec | None) -> tuple[Threshold, ...]:
        """The thresholds that apply to vitals answering ``check`` (None: vitals entered outside
        any check). Baseline-only thresholds add to the others at the check at minute 0."""
        baseline = check is not None and check.offset_s == 0
        return tuple(t for t in self.thresholds if t.applies_to == "all" or baseline)


_SPEC_FIELDS = frozenset({"key", "offset_s", "label", "vitals", "scales"})


def plan_to_data(plan: Sequence[CheckSpec]) -> list[dict[str, Any]]:
    """The plan as JSON-able data, e.g. to record it on the timeline at the dose, so a session
    keeps its checks even if the protocol file is edited while it runs."""
    return [c.to_data() for c in plan]


def plan_from_data(items: object) -> tuple[CheckSpec, ...]:
    """Rebuild a plan recorded with ``plan_to_data``; raises InvalidEntry if it is not one."""
    if not isinstance(items, list):
        raise InvalidEntry("A recorded plan must be a list of checks.")
    specs: list[CheckSpec] = []
    for item in items:
        if not isinstance(item, dict) or set(item) != _SPEC_FIELDS:
            raise InvalidEntry("A recorded check has missing or unknown fields.")
        key, offset, label, vitals, scales = (
            item["key"],
            item["offset_s"],
            item["label"],
            item["vitals"],
            item["scales"],
        )
        if (
            not isinstance(key, str)
            or not key
            or isinstance(offset, bool)
            or not isinstance(offset, int | float)
            or not 0 <= offset <= PLANNED_MAX * 60
            or not isinstance(label, str)
            or not isinstance(vitals, bool)
            or not isinstance(scales, list)
            or not all(isinstance(s, str) and s in SCALES for s in scales)
        ):
            raise InvalidEntry("A recorded check has a field of the wrong kind.")
        specs.append(CheckSpec(key, float(offset), label, vitals, tuple(scales)))
    offsets = [c.offset_s for c in specs]
    if offsets != sorted(set(offsets)) or len({c.key for c in specs}) != len(specs):
        raise InvalidEntry("A recorded plan's checks must be in time order with unique keys.")
    return tuple(specs)


# --- expanding rules into checks ---------------------------------------------------------------


def _occurrences(rule: CheckRule, minutes: int, has_end: bool) -> list[int]:
    """The minutes a rule's checks fall on in a session of ``minutes``. A repeating check gives
    way to the end check: it stops before the planned end when there is one."""
    if rule.at_end:
        return [minutes]
    if rule.every is None:
        return [rule.at] if rule.at is not None and rule.at <= minutes else []
    start = rule.start if rule.start is not None else rule.every
    stop = minutes if rule.until is None else min(rule.until, minutes)
    if has_end:
        stop = min(stop, minutes - 1)
    return list(range(start, stop + 1, rule.every))


def _slug(label: str) -> str:
    """A short ASCII name from a label, cut between words: "End of session" -> "end-of-session"."""
    text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    slug = ""
    for word in re.findall(r"[a-z0-9]+", text):
        if slug and len(slug) + 1 + len(word) > 24:
            break
        slug = f"{slug}-{word}" if slug else word[:24]
    return slug


def _key(minute: int, label: str) -> str:
    slug = _slug(label)
    return f"c{minute:02d}-{slug}" if slug else f"c{minute:02d}"


def _expand(rules: Sequence[CheckRule], minutes: int) -> tuple[CheckSpec, ...]:
    # Sort by minute, the end check first within its minute, then in the order written.
    has_end = any(rule.at_end for rule in rules)
    found: list[tuple[int, int, int, CheckRule]] = []
    for index, rule in enumerate(rules):
        for minute in _occurrences(rule, minutes, has_end):
            found.append((minute, 0 if rule.at_end else 1, index, rule))
    found.sort(key=lambda item: item[:3])
    specs: list[CheckSpec] = []
    for minute, _, _, rule in found:
        if specs and specs[-1].minute == minute:
            first = specs[-1]
            scales = first.scales + tuple(s for s in rule.scales if s not in first.scales)
            specs[-1] = CheckSpec(
                first.key, first.offset_s, first.label, first.vitals or rule.vitals, scales
            )
        else:
            specs.append(
                CheckSpec(
                    _key(minute, rule.label), minute * 60.0, rule.label, rule.vitals, rule.scales
                )
            )
    return tuple(specs)


# --- finding lines ---------------------------------------------------------------------------

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_\-.\"' ]+?)\s*\]\]\s*(?:#.*)?$")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_\-.\"' ]+?)\s*\]\s*(?:#.*)?$")


class _Lines:
    """Finds the line a field was written on, by reading the text the way a person would: the
    Nth ``[[checks]]`` header, then the key inside that block. Good enough for the files people
    write; anything it cannot find falls back to the block's header, then to line 1."""

    def __init__(self, text: str) -> None:
        # TOML counts lines by "\n" only (splitlines() would also break at \f, \u2028, ...).
        self.lines = text.split("\n")
        self.headers: list[tuple[int, str, bool]] = []  # (line, name, is_array)
        for number, line in enumerate(self.lines, 1):
            match = _ARRAY_HEADER.match(line)
            is_array = match is not None
            match = match or _TABLE_HEADER.match(line)
            if match:
                name = re.sub(r"[\s\"']", "", match.group(1))
                self.headers.append((number, name, is_array))

    def _key_line(self, key: str, start: int, stop: int) -> int | None:
        # Plain string tests, not a pattern built from the key: compiling a pattern of a very
        # long key took time growing with the square of its length (40,000 characters: 2 s).
        spellings = (key, f'"{key}"', f"'{key}'")
        for number in range(start, min(stop, len(self.lines)) + 1):
            line = self.lines[number - 1].lstrip()
            for spelling in spellings:
                if line.startswith(spelling) and line[len(spelling) :].lstrip().startswith("="):
                    return number
        return None

    def _block(self, table: str, index: int | None) -> tuple[int, int] | None:
        """(header line, last line) of ``[table]`` or of the index-th ``[[table]]``."""
        seen = 0
        for position, (number, name, is_array) in enumerate(self.headers):
            if name != table or is_array != (index is not None):
                continue
            seen += 1
            if index is None or seen == index:
                following = self.headers[position + 1 : position + 2]
                end = following[0][0] - 1 if following else len(self.lines)
                return number, end
        return None

    def find(self, table: str, index: int | None = None, key: str | None = None) -> int:
        block = self._block(table, index)
        if block is not None:
            if key is not None:
                found = self._key_line(key, block[0] + 1, block[1])
                if found is not None:
                    return found
                for number, name, _ in self.headers:  # a sub-table: [protocol.extra]
                    if number > block[0] and name == f"{table}.{key}":
                        return number
            return block[0]
        # Not written as a header: an inline table or dotted keys. The key's first line, else
        # the line that names the table, else the top of the file.
        candidates = [f"{table}.{key}", key] if key is not None else []
        for candidate in [*candidates, table]:
            found = self._key_line(candidate, 1, len(self.lines))
            if found is not None:
                return found
        for number, name, _ in self.headers:
            if name == table or name.startswith(table + "."):
                return number
        return 1


# --- reading values --------------------------------------------------------------------------


class _Reader:
    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.lines = _Lines(text)

    def fail(
        self, problem: str, table: str, index: int | None = None, key: str | None = None
    ) -> ProtocolError:
        where = shown_field(table) if index is None else f"{shown_field(table)}[{index}]"
        dotted = f"{where}.{shown_field(key)}" if key else where
        return ProtocolError(self.name, self.lines.find(table, index, key), dotted, problem)

    def table(
        self, value: object, allowed: Sequence[str], table: str, index: int | None = None
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            kind = f"[[{table}]]" if index is not None else f"[{table}]"
            raise self.fail(f"must be a table ({kind})", table, index)
        for key in value:
            if key not in allowed:
                raise self.fail(
                    f"unknown field; expected one of: {', '.join(allowed)}", table, index, key
                )
        return value

    def text(
        self,
        block: Mapping[str, Any],
        key: str,
        table: str,
        index: int | None = None,
        limit: int = 100,
        required: bool = True,
    ) -> str:
        if key not in block:
            if required:
                raise self.fail("is required", table, index, key)
            return ""
        value = block[key]
        if not isinstance(value, str):
            raise self.fail("must be text in quotes", table, index, key)
        value = value.strip()
        if not value and required:
            raise self.fail("must not be empty", table, index, key)
        if len(value) > limit:
            raise self.fail(f"can be at most {limit} characters", table, index, key)
        if any(unicodedata.category(c).startswith("C") for c in value):
            raise self.fail("contains control characters", table, index, key)
        return value

    def number(
        self, block: Mapping[str, Any], key: str, table: str, index: int | None, what: str
    ) -> float:
        value = block[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"must be {what}", table, index, key)
        try:
            number = float(value)
        except OverflowError:  # an integer with hundreds of digits
            raise self.fail(f"must be {what}", table, index, key) from None
        if not math.isfinite(number):
            raise self.fail(f"must be {what}, not NaN or infinity", table, index, key)
        return number

    def minutes(
        self, block: Mapping[str, Any], key: str, table: str, index: int, positive: bool = False
    ) -> int:
        """Whole minutes, >= 0 (or > 0 if ``positive``)."""
        what = (
            "a whole number of minutes greater than 0" if positive else "a whole number of minutes"
        )
        return self._minutes(block, key, table, index, what, 1 if positive else 0)

    def minutes_or_end(
        self, block: Mapping[str, Any], key: str, table: str, index: int
    ) -> int | None:
        """Whole minutes >= 0, or None for "end" (the planned end)."""
        if block[key] == END:
            return None
        return self._minutes(block, key, table, index, 'a whole number of minutes or "end"', 0)

    def _minutes(
        self, block: Mapping[str, Any], key: str, table: str, index: int, what: str, least: int
    ) -> int:
        if isinstance(block[key], str):
            raise self.fail(f"must be {what}", table, index, key)
        number = self.number(block, key, table, index, what)
        if not number.is_integer() or number < least:
            raise self.fail(f"must be {what}", table, index, key)
        return int(number)


# --- parsing ---------------------------------------------------------------------------------


def parse_protocol(text: str, name: str, path: str = "") -> Protocol:
    """Parse and check a protocol file's text; ``name`` (the file name) is used in messages,
    ``path`` (default: name) is kept on the protocol. Raises ProtocolError."""
    return _parse(text, name, path or name)[0]


def load_protocol(path: Path | str) -> Protocol:
    """Read and check one protocol file. Raises ProtocolError (also for an unreadable file)."""
    return _load(Path(path))[0]


def _load(path: Path) -> tuple[Protocol, _Lines]:
    try:
        raw = safe_files.read_handed_in(path, MAX_FILE_BYTES, "a protocol file")
    except safe_files.UnreadableFile as exc:
        raise ProtocolError(path.name, None, None, exc.problem) from None
    return _parse_bytes(raw, path.name, str(path))


def _parse_bytes(raw: bytes, name: str, path: str) -> tuple[Protocol, _Lines]:
    if len(raw) > MAX_FILE_BYTES:
        raise ProtocolError(
            name, None, None, f"is larger than {MAX_FILE_BYTES // 1024} KB; not a protocol file"
        )
    try:
        # Tolerate the byte-order mark some Windows editors write.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ProtocolError(
            name, line, None, "is not UTF-8 text (save the file as UTF-8)"
        ) from None
    return _parse(text, name, path)


def _parse(text: str, name: str, path: str) -> tuple[Protocol, _Lines]:
    try:
        data = load_toml(text)
    except TomlProblem as exc:
        raise ProtocolError(name, exc.line, "TOML syntax", exc.problem) from None
    reader = _Reader(name, text)
    return _build(data, reader, path), reader.lines


def _build(data: dict[str, Any], r: _Reader, path: str) -> Protocol:
    for key in data:
        if key not in _ROOT_KEYS:
            raise r.fail(
                "unknown field; a protocol file has [protocol], [[checks]] and [[thresholds]]",
                key,
            )
    if "protocol" not in data:
        raise r.fail("is required (a [protocol] table)", "protocol")
    head = r.table(data["protocol"], _PROTOCOL_KEYS, "protocol")

    ident = r.text(head, "id", "protocol", limit=40)
    if not _ID.match(ident):
        raise r.fail(
            'must be lowercase letters, digits and dashes, e.g. "sublingual-clinic"',
            "protocol",
            key="id",
        )
    name = r.text(head, "name", "protocol")
    description = r.text(head, "description", "protocol", limit=300, required=False)
    route = r.text(head, "route", "protocol")
    if route not in ROUTES:
        raise r.fail(f"must be one of: {', '.join(ROUTES)}", "protocol", key="route")

    for key in ("planned_minutes", "late_after_minutes", "missed_after_minutes"):
        if key not in head:
            raise r.fail("is required", "protocol", key=key)
    what = f"a whole number of minutes from {PLANNED_MIN} to {PLANNED_MAX}"
    planned = r.number(head, "planned_minutes", "protocol", None, what)
    if not planned.is_integer() or not PLANNED_MIN <= planned <= PLANNED_MAX:
        raise r.fail(f"must be {what}", "protocol", key="planned_minutes")
    minutes = int(planned)
    what = f"a number of minutes greater than 0 and at most {MAX_TOLERANCE_MINUTES}"
    tolerance: dict[str, float] = {}
    for key in ("late_after_minutes", "missed_after_minutes"):
        value = r.number(head, key, "protocol", None, what)
        if not 0 < value <= MAX_TOLERANCE_MINUTES:
            raise r.fail(f"must be {what}", "protocol", key=key)
        tolerance[key] = value
    if tolerance["missed_after_minutes"] <= tolerance["late_after_minutes"]:
        raise r.fail(
            "must be more than late_after_minutes (a check is late before it is missed)",
            "protocol",
            key="missed_after_minutes",
        )

    cosign = head.get("cosignature_required", False)
    if not isinstance(cosign, bool):
        raise r.fail("must be true or false", "protocol", key="cosignature_required")
    sustained = 15.0
    if "discharge_sustained_minutes" in head:
        what = "a number of minutes from 1 to 120"
        sustained = r.number(head, "discharge_sustained_minutes", "protocol", None, what)
        if not 1 <= sustained <= 120:
            raise r.fail(f"must be {what}", "protocol", key="discharge_sustained_minutes")
    rules = _rules(data, r, minutes)
    thresholds = _thresholds(data, r, has_baseline=any(x.at == 0 for x in rules))
    return Protocol(
        id=ident,
        name=name,
        route=route,
        planned_minutes=minutes,
        late_after_s=tolerance["late_after_minutes"] * 60,
        missed_after_s=tolerance["missed_after_minutes"] * 60,
        checks=_expand(rules, minutes),
        thresholds=thresholds,
        path=path,
        description=description,
        rules=rules,
        cosignature_required=cosign,
        discharge_sustained_s=sustained * 60,
        dose_rules=parse_dose_rules(
            data.get("medication"),
            data.get("start_gate"),
            lambda problem, table, key: r.fail(problem, table, key=key),
        ),
    )


def _array(data: Mapping[str, Any], key: str, r: _Reader, required: bool) -> list[Any]:
    if key not in data:
        if required:
            raise r.fail(f"is required (at least one [[{key}]] block)", key)
        return []
    value = data[key]
    if not isinstance(value, list) or (required and not value):
        raise r.fail(f"must be one or more [[{key}]] blocks", key)
    return value


def _rules(data: Mapping[str, Any], r: _Reader, minutes: int) -> tuple[CheckRule, ...]:
    rules: list[CheckRule] = []
    for index, raw in enumerate(_array(data, "checks", r, required=True), 1):
        block = r.table(raw, _CHECK_KEYS, "checks", index)
        label = r.text(block, "label", "checks", index, limit=60)
        if "at" in block and "every" in block:
            raise r.fail(
                "use either at (one check) or every (a repeating check), not both",
                "checks",
                index,
                "every",
            )
        if "at" not in block and "every" not in block:
            raise r.fail(
                'is required: at (a minute, or "end") or every (minutes between checks)',
                "checks",
                index,
                "at",
            )
        if "at" in block:
            for key in ("from", "until"):
                if key in block:
                    raise r.fail("only goes with every (a repeating check)", "checks", index, key)
        for key in ("vitals", "scales"):
            if key not in block:
                raise r.fail("is required", "checks", index, key)
        if not isinstance(block["vitals"], bool):
            raise r.fail("must be true or false", "checks", index, "vitals")
        scales = block["scales"]
        if not isinstance(scales, list):
            raise r.fail(
                f"must be a list of scales from: {', '.join(SCALES)}", "checks", index, "scales"
            )
        for scale in scales:
            if not isinstance(scale, str) or scale not in SCALES:
                shown = f'"{scale}"' if isinstance(scale, str) and len(scale) <= 30 else "an entry"
                raise r.fail(
                    f"{shown} is not a known scale; use: {', '.join(SCALES)}",
                    "checks",
                    index,
                    "scales",
                )
        if len(set(scales)) != len(scales):
            raise r.fail("lists a scale twice", "checks", index, "scales")
        if not block["vitals"] and not scales:
            raise r.fail(
                "asks nothing: set vitals = true or list at least one scale",
                "checks",
                index,
                "vitals",
            )

        vitals: bool = block["vitals"]
        if "at" in block:
            at = r.minutes_or_end(block, "at", "checks", index)
            if at is not None and at > minutes:
                raise r.fail(
                    f"{at} min is after the planned end ({minutes} min)", "checks", index, "at"
                )
            rule = CheckRule(label, vitals, tuple(scales), at=at, at_end=at is None)
        else:
            every = r.minutes(block, "every", "checks", index, positive=True)
            start = r.minutes(block, "from", "checks", index) if "from" in block else None
            until = r.minutes_or_end(block, "until", "checks", index) if "until" in block else None
            first = every if start is None else start
            if first > minutes:
                raise r.fail(
                    f"{first} min is after the planned end ({minutes} min)",
                    "checks",
                    index,
                    "every" if start is None else "from",
                )
            if until is not None and until > minutes:
                raise r.fail(
                    f"{until} min is after the planned end ({minutes} min)",
                    "checks",
                    index,
                    "until",
                )
            if until is not None and until < first:
                raise r.fail(f"must not be before from ({first} min)", "checks", index, "until")
            rule = CheckRule(label, vitals, tuple(scales), every=every, start=start, until=until)
        rules.append(rule)
    _check_timing(rules, r, minutes)
    return tuple(rules)


def _check_timing(rules: Sequence[CheckRule], r: _Reader, minutes: int) -> None:
    """Checks are listed in time order, none share a minute, the end check comes last. A
    repeating check running to the end gives way to the end check: that is not an overlap."""
    has_end = any(rule.at_end for rule in rules)
    owner: dict[int, int] = {}
    previous_first: int | None = None
    for index, rule in enumerate(rules, 1):
        key = "at" if rule.every is None else ("from" if rule.start is not None else "every")
        if rule.at_end and index != len(rules):
            raise r.fail('the end check (at = "end") must be listed last', "checks", index, "at")
        times = _occurrences(rule, minutes, has_end)
        if not times:
            raise r.fail(
                f"gives no check before the planned end ({minutes} min)", "checks", index, key
            )
        if previous_first is not None and times[0] <= previous_first:
            raise r.fail(
                f"{times[0]} min comes before or with the check above it "
                f"({previous_first} min); list checks in time order",
                "checks",
                index,
                key,
            )
        previous_first = times[0]
        for minute in times:
            if minute in owner:
                raise r.fail(
                    f"its check at {minute} min falls in the same minute as checks[{owner[minute]}]",
                    "checks",
                    index,
                    "at" if rule.every is None else "every",
                )
            owner[minute] = index


def _thresholds(data: Mapping[str, Any], r: _Reader, has_baseline: bool) -> tuple[Threshold, ...]:
    out: list[Threshold] = []
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(_array(data, "thresholds", r, required=False), 1):
        block = r.table(raw, _THRESHOLD_KEYS, "thresholds", index)
        name = r.text(block, "field", "thresholds", index, limit=40)
        if name not in LIMITS:
            raise r.fail(
                f"must be one of: {', '.join(THRESHOLD_FIELDS)}", "thresholds", index, "field"
            )
        limit = LIMITS[name]
        bounds: dict[str, float | None] = {"low": None, "high": None}
        for key in bounds:
            if key not in block:
                continue
            what = f"a number from {limit.low:g} to {limit.high:g} ({limit.unit})"
            value = r.number(block, key, "thresholds", index, what)
            if not limit.low <= value <= limit.high:
                raise r.fail(f"must be {what}", "thresholds", index, key)
            bounds[key] = value
        low, high = bounds["low"], bounds["high"]
        if low is None and high is None:
            raise r.fail("needs low, high or both", "thresholds", index, "field")
        if low is not None and high is not None and low >= high:
            raise r.fail(f"must be below high ({high:g})", "thresholds", index, "low")
        source = r.text(block, "source", "thresholds", index, limit=300)
        applies_to = r.text(block, "applies_to", "thresholds", index, limit=20, required=False)
        applies_to = applies_to or "all"
        if applies_to not in APPLIES_TO:
            raise r.fail(
                f"must be one of: {', '.join(APPLIES_TO)}", "thresholds", index, "applies_to"
            )
        if applies_to == "baseline" and not has_baseline:
            raise r.fail(
                "there is no baseline check (at = 0) for it to apply to",
                "thresholds",
                index,
                "applies_to",
            )
        earlier = seen.get((name, applies_to))
        if earlier is not None:
            scope = " for the baseline" if applies_to == "baseline" else ""
            raise r.fail(
                f"{name} already has a threshold{scope} (thresholds[{earlier}])",
                "thresholds",
                index,
                "field",
            )
        seen[(name, applies_to)] = index
        out.append(Threshold(name, low, high, source, applies_to))
    return tuple(out)


# --- where protocols come from ---------------------------------------------------------------


@cache
def _builtins() -> tuple[Protocol, ...]:
    folder = resources.files("kapsession.monitoring") / "protocols"
    found: list[Protocol] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml") and entry.is_file():
            found.append(_parse_bytes(entry.read_bytes(), entry.name, str(entry))[0])
    return tuple(found)


def builtin_protocols() -> dict[str, Protocol]:
    """The protocols shipped with kapsession, by id. A broken shipped file is a bug and raises."""
    out: dict[str, Protocol] = {}
    for protocol in _builtins():
        if protocol.id in out:
            raise ProtocolError(Path(protocol.path).name, None, "protocol.id", "is used twice")
        out[protocol.id] = protocol
    return out


def available_protocols(data_dir: Path) -> tuple[dict[str, Protocol], list[ProtocolError]]:
    """The shipped protocols plus a clinic's own (``data_dir/protocols/*.toml``), by id, and the
    problems with any clinic file that could not be used. A bad file never hides the others; a
    clinic file cannot replace a shipped protocol (its id must differ)."""
    protocols = builtin_protocols()
    shipped = set(protocols)
    folder = data_dir / "protocols"
    errors: list[ProtocolError] = []
    try:
        paths = sorted(
            p
            for p in folder.iterdir()
            if p.suffix.lower() == ".toml" and not p.name.startswith(".")
        )
    except FileNotFoundError:
        return protocols, errors
    except OSError as exc:
        errors.append(
            ProtocolError(
                folder.name,
                None,
                None,
                f"the folder cannot be read ({exc.strerror or type(exc).__name__})",
            )
        )
        return protocols, errors
    for path in paths:
        try:
            protocol, lines = _load(path)
        except ProtocolError as exc:
            errors.append(exc)
            continue
        if protocol.id in protocols:
            other = "a shipped protocol" if protocol.id in shipped else "another clinic file"
            errors.append(
                ProtocolError(
                    path.name,
                    lines.find("protocol", None, "id"),
                    "protocol.id",
                    f'"{protocol.id}" is already used by {other}; choose another id',
                )
            )
            continue
        protocols[protocol.id] = protocol
    return protocols, errors
