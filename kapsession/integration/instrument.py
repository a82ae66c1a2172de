"""Rating-scale instruments as data, like protocols: the shipped ones (PHQ-9, GAD-7, the
Emotional Breakthrough Inventory's structure) in kapsession/integration/instruments/*.toml and
a clinic's own in ``<data folder>/instruments/*.toml``. An instrument knows its items, the range
or the labelled options of an answer, how the total is made (sum or mean), its severity bands,
the items that must be brought to a clinician (PHQ-9 item 9) and its LOINC codes.

Answers are checked here, and only here: `Instrument.score` refuses a missing item or a value
out of the item's range with the field named, so nothing half-valid is ever stored."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from kapsession.errors import InvalidEntry
from kapsession.tomlfile import TomlProblem, load_toml, shown_field

FOLDER = "instruments"  # in the data folder, the clinic's own
SCORINGS = ("sum", "mean")
MAX_ITEMS = 100
# Response: the total fell by at least half of the first score of the series (issue 18).
RESPONSE_DROP = 0.5


class MeasureError(InvalidEntry):
    """An answer set (or its date, or its instrument) that must not be stored. ``field`` names
    what is wrong (``instrument``, ``date``, ``items``, ``item 3``)."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


class InstrumentError(InvalidEntry):
    """An instrument file that cannot be used: the file, the field and what is wrong."""

    def __init__(self, file: str, field: str | None, problem: str) -> None:
        self.file, self.field, self.problem = file, field, problem
        super().__init__(f"{file}, {field}: {problem}" if field else f"{file}: {problem}")


@dataclass(frozen=True)
class Option:
    value: int
    text: str


@dataclass(frozen=True)
class Item:
    number: int  # 1-based
    text: str  # "" when the clinic has not added the wording
    loinc: str = ""
    flag_above: int | None = None  # an answer above this raises `flag`
    flag: str = ""

    def shown(self) -> str:
        return self.text or f"Statement {self.number}"


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    label: str


@dataclass(frozen=True)
class Score:
    """A complete answer set's result."""

    total: float
    severity: str  # the band's label, "" for an instrument without bands
    flags: tuple[str, ...]  # e.g. ("self_harm",)


@dataclass(frozen=True)
class Instrument:
    id: str
    name: str
    title: str
    stem: str
    items: tuple[Item, ...]
    low: int
    high: int
    options: tuple[Option, ...] = ()
    scoring: str = "sum"
    bands: tuple[Band, ...] = ()
    loinc: str = ""
    total_loinc: str = ""
    remission_below: float | None = None
    wording: str = "shipped"  # "clinic": the clinic adds the items' text
    source: str = ""
    path: str = ""

    @property
    def max_total(self) -> float:
        return float(self.high * len(self.items)) if self.scoring == "sum" else float(self.high)

    def option_text(self, value: int) -> str:
        return next((o.text for o in self.options if o.value == value), "")

    def check_answers(self, answers: Sequence[int | None], complete: bool = True) -> None:
        """Refuse answers of the wrong number or out of range; `complete`: every item needed."""
        if len(answers) > len(self.items):
            raise MeasureError(
                "items", f"{self.name} has {len(self.items)} items; {len(answers)} were given"
            )
        for number, value in enumerate(answers, start=1):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise MeasureError(f"item {number}", f"{value!r} is not a whole number")
            if not self.low <= value <= self.high:
                raise MeasureError(
                    f"item {number}",
                    f"{value} is outside {self.name}'s range {self.low}-{self.high}",
                )
        if complete:
            missing = [n for n in range(1, len(self.items) + 1) if _answer(answers, n) is None]
            if missing:
                raise MeasureError(
                    f"item {missing[0]}",
                    f"is missing ({self.name} has {len(self.items)} items; "
                    f"{len(self.items) - len(missing)} were answered)",
                )

    def score(self, answers: Sequence[int | None]) -> Score:
        """The total, its severity band and the raised flags of a complete answer set."""
        self.check_answers(answers)
        values = [int(v) for v in answers if v is not None]
        total = float(sum(values)) if self.scoring == "sum" else round(sum(values) / len(values), 1)
        return Score(total, self.severity(total), self.flags(answers))

    def severity(self, total: float | None) -> str:
        if total is None:
            return ""
        return next((b.label for b in self.bands if b.low <= total <= b.high), "")

    def flags(self, answers: Sequence[int | None]) -> tuple[str, ...]:
        """The flags raised by answered items, even in an incomplete run (item 9 answered 2 and
        the client stopped: the clinician must still see it)."""
        out: list[str] = []
        for item in self.items:
            value = _answer(answers, item.number)
            raised = item.flag_above is not None and value is not None and value > item.flag_above
            if raised and item.flag and item.flag not in out:
                out.append(item.flag)
        return tuple(out)


def _answer(answers: Sequence[int | None], number: int) -> int | None:
    return answers[number - 1] if number <= len(answers) else None


# --- reading a file ---------------------------------------------------------------------------

_HEAD_KEYS = {
    "id",
    "name",
    "title",
    "stem",
    "scoring",
    "low",
    "high",
    "loinc",
    "total_loinc",
    "remission_below",
    "wording",
    "source",
}
_ITEM_KEYS = {"text", "loinc", "flag_above", "flag"}


def parse_instrument(text: str, file: str, path: str = "") -> Instrument:
    try:
        data = load_toml(text)
    except TomlProblem as exc:
        raise InstrumentError(file, None, f"line {exc.line}: {exc.problem}") from None
    return _build(data, file, path)


def _fail(file: str, field: str, problem: str) -> InstrumentError:
    return InstrumentError(file, field, problem)


def _text(table: Mapping[str, Any], key: str, file: str, where: str, required: bool) -> str:
    value = table.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise _fail(file, f"{where}.{key}", "needs a text" if required else "must be a text")
    if any(not c.isprintable() for c in value):
        raise _fail(file, f"{where}.{key}", "cannot hold control characters or line breaks")
    return value.strip()


def _int(table: Mapping[str, Any], key: str, file: str, where: str) -> int:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(file, f"{where}.{key}", "needs a whole number")
    return value


def _unknown(table: Mapping[str, Any], known: set[str], file: str, where: str) -> None:
    for key in table:
        if key not in known:
            raise _fail(file, f"{where}.{shown_field(str(key))}", "is not a known field")


def _tables(data: Mapping[str, Any], key: str, file: str) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _fail(file, key, f"must be a list of [[{key}]] tables")
    return value


def _build(data: Mapping[str, Any], file: str, path: str) -> Instrument:
    _unknown(data, {"instrument", "options", "items", "bands"}, file, "")
    head = data.get("instrument")
    if not isinstance(head, dict):
        raise _fail(file, "instrument", "the file needs an [instrument] table")
    _unknown(head, _HEAD_KEYS, file, "instrument")
    ident = _text(head, "id", file, "instrument", True)
    if not ident.isascii() or not ident.replace("-", "").replace("_", "").isalnum():
        raise _fail(file, "instrument.id", "letters, digits, - and _ only")
    ident = ident.lower()
    name = _text(head, "name", file, "instrument", True)
    scoring = _text(head, "scoring", file, "instrument", False) or "sum"
    if scoring not in SCORINGS:
        raise _fail(file, "instrument.scoring", f"must be one of {', '.join(SCORINGS)}")
    wording = _text(head, "wording", file, "instrument", False) or "shipped"
    if wording not in ("shipped", "clinic"):
        raise _fail(file, "instrument.wording", 'must be "shipped" or "clinic"')
    options: list[Option] = []
    for i, table in enumerate(_tables(data, "options", file)):
        _unknown(table, {"value", "text"}, file, f"options[{i}]")
        options.append(
            Option(
                _int(table, "value", file, f"options[{i}]"),
                _text(table, "text", file, f"options[{i}]", True),
            )
        )
    if options:
        values = [o.value for o in options]
        if values != list(range(values[0], values[0] + len(values))):
            raise _fail(file, "options", "values must run up one by one (e.g. 0, 1, 2, 3)")
        low, high = values[0], values[-1]
        if "low" in head or "high" in head:
            raise _fail(file, "instrument.low", "give either [[options]] or low and high")
    else:
        low, high = _int(head, "low", file, "instrument"), _int(head, "high", file, "instrument")
        if low >= high:
            raise _fail(file, "instrument.high", "must be above instrument.low")
    items: list[Item] = []
    raw_items = _tables(data, "items", file)
    if not 0 < len(raw_items) <= MAX_ITEMS:
        raise _fail(file, "items", f"an instrument has 1 to {MAX_ITEMS} [[items]]")
    for i, table in enumerate(raw_items):
        where = f"items[{i}]"
        _unknown(table, _ITEM_KEYS, file, where)
        text = _text(table, "text", file, where, wording == "shipped")
        flag_above = _int(table, "flag_above", file, where) if "flag_above" in table else None
        flag = _text(table, "flag", file, where, flag_above is not None)
        if flag and flag_above is None:
            raise _fail(file, f"{where}.flag_above", "a flag needs flag_above")
        items.append(Item(i + 1, text, _text(table, "loinc", file, where, False), flag_above, flag))
    bands: list[Band] = []
    top = float(high * len(items)) if scoring == "sum" else float(high)
    for i, table in enumerate(_tables(data, "bands", file)):
        _unknown(table, {"low", "high", "label"}, file, f"bands[{i}]")
        band = Band(
            _int(table, "low", file, f"bands[{i}]"),
            _int(table, "high", file, f"bands[{i}]"),
            _text(table, "label", file, f"bands[{i}]", True),
        )
        expected = (
            (low * len(items) if scoring == "sum" else low) if not bands else bands[-1].high + 1
        )
        if band.low != expected or band.high < band.low:
            raise _fail(
                file, f"bands[{i}].low", f"bands must run on without gaps (from {expected:g})"
            )
        bands.append(band)
    if bands and bands[-1].high != top:
        raise _fail(file, f"bands[{len(bands) - 1}].high", f"the last band ends at {top:g}")
    remission = head.get("remission_below")
    if remission is not None and (isinstance(remission, bool) or not isinstance(remission, int)):
        raise _fail(file, "instrument.remission_below", "needs a whole number")
    return Instrument(
        id=ident,
        name=name,
        title=_text(head, "title", file, "instrument", False),
        stem=_text(head, "stem", file, "instrument", False),
        items=tuple(items),
        low=low,
        high=high,
        options=tuple(options),
        scoring=scoring,
        bands=tuple(bands),
        loinc=_text(head, "loinc", file, "instrument", False),
        total_loinc=_text(head, "total_loinc", file, "instrument", False),
        remission_below=float(remission) if remission is not None else None,
        wording=wording,
        source=_text(head, "source", file, "instrument", False),
        path=path,
    )


def _read(path: Path) -> Instrument:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InstrumentError(path.name, None, f"cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InstrumentError(path.name, None, "is not UTF-8 text") from None
    return parse_instrument(text, path.name, str(path))


# --- where instruments come from --------------------------------------------------------------


@cache
def _builtins() -> tuple[Instrument, ...]:
    folder = resources.files("kapsession.integration") / FOLDER
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml") and entry.is_file():
            found.append(parse_instrument(entry.read_text("utf-8"), entry.name, str(entry)))
    return tuple(found)


def builtin_instruments() -> dict[str, Instrument]:
    return {i.id: i for i in _builtins()}


def available_instruments(
    data_dir: Path | None,
) -> tuple[dict[str, Instrument], list[InstrumentError]]:
    """The shipped instruments plus the clinic's own, by id, and the problems of clinic files
    that could not be used. A clinic file may not replace a shipped instrument, except to add
    the wording of one that ships without it (same items and range, so scores stay the same)."""
    found = builtin_instruments()
    errors: list[InstrumentError] = []
    if data_dir is None:
        return found, errors
    try:
        paths = sorted(p for p in (data_dir / FOLDER).iterdir() if p.suffix.lower() == ".toml")
    except FileNotFoundError:
        return found, errors
    except OSError as exc:
        errors.append(InstrumentError(FOLDER, None, f"cannot be read ({exc.strerror})"))
        return found, errors
    for path in paths:
        if path.name.startswith("."):
            continue
        try:
            instrument = _read(path)
        except InstrumentError as exc:
            errors.append(exc)
            continue
        shipped = found.get(instrument.id)
        if shipped is not None and not _adds_wording(shipped, instrument):
            errors.append(
                InstrumentError(
                    path.name,
                    "instrument.id",
                    f'"{instrument.id}" is already used; only the wording of an instrument '
                    "shipped without it may be added (same items, range and scoring)",
                )
            )
            continue
        found[instrument.id] = instrument
    return found, errors


def _adds_wording(shipped: Instrument, clinic: Instrument) -> bool:
    return (
        shipped.wording == "clinic"
        and len(clinic.items) == len(shipped.items)
        and (clinic.low, clinic.high, clinic.scoring)
        == (shipped.low, shipped.high, shipped.scoring)
        and all(i.text for i in clinic.items)
    )


def instrument(data_dir: Path | None, ident: str) -> Instrument:
    """The instrument by id (any case), or MeasureError naming the field `instrument`."""
    found, _ = available_instruments(data_dir)
    key = ident.strip().lower()
    if key not in found:
        known = ", ".join(sorted(found))
        raise MeasureError("instrument", f"unknown instrument {ident.strip()!r} (known: {known})")
    return found[key]
