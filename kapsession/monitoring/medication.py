"""The medication log: the medicines list, the one-line entry and the running ketamine total.

The one-line form (Alt+D on the live screen) is ``DRUG DOSE [UNIT] [ROUTE] [lot LOT] [at T+MM[:SS]]``,
e.g. ``ondansetron 4 mg SL lot A12`` or ``ketamine 50 IM``. The unit and route default to the
medicine's; a decimal comma is fine (``0,1 mg``); the dose and unit may be written together
(``4mg``). ``at T+12:30`` records an administration given earlier in the session.

How the dose and boosters fit: the dose given at the start stays a ``dose`` entry and a booster
entered from the quick events stays a ``booster_dose`` entry (what the dose clock and the exports
have always read). Every other administration, including ketamine typed on this line, is a
``medication`` entry (DESIGN.md: ``drug, dose, unit, route, lot, given_by, total_mg``).
``medication_log`` lists all three kinds as one log, each with the ketamine total after it, and
``total_mg`` is stored on every ``medication`` entry as the total was when it was given.

The total counts ketamine and esketamine (its S-enantiomer; an esketamine session's total is its
esketamine) in mg. Error messages name the field and the limit but never repeat what was typed
(errors may end up in a log; clinical values must not)."""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from kapsession.errors import InvalidEntry

KIND = "medication"
MAX_ENTRY_CHARS = 200
MAX_LOT_CHARS = 40
MAX_DRUG_CHARS = 60
EXAMPLE = "ondansetron 4 mg SL lot A12"
KETAMINE_FAMILY = frozenset({"ketamine", "esketamine"})

# route: accepted spellings (the first is how it is shown; the key is what is stored).
ROUTES: dict[str, tuple[str, ...]] = {
    "sublingual": ("SL", "sublingual"),
    "intramuscular": ("IM", "intramuscular"),
    "intravenous": ("IV", "intravenous"),
    "intranasal": ("IN", "intranasal", "nasal"),
    "oral": ("PO", "oral"),
    "buccal": ("BUC", "buccal"),
    "subcutaneous": ("SC", "subcutaneous"),
    "inhalation": ("INH", "inhalation", "inhaled"),
}
_ROUTE_WORDS = {w.lower(): route for route, words in ROUTES.items() for w in words}
# unit: (the unit mass doses are compared in, factor to it); None: not a mass.
UNITS: dict[str, tuple[str, float] | None] = {
    "mg": ("mg", 1.0),
    "mcg": ("mg", 0.001),
    "g": ("mg", 1000.0),
    "L/min": None,
}
_UNIT_WORDS = {"mg": "mg", "mcg": "mcg", "µg": "mcg", "ug": "mcg", "g": "g", "l/min": "L/min"}
_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)?|[.,][0-9]+")
_DOSE_UNIT = re.compile(r"^([0-9.,]+)([A-Za-zµ/]+)$")
_T_PLUS = re.compile(r"^T\+([0-9]{1,3})(?::([0-5][0-9]))?$", re.IGNORECASE)


@dataclass(frozen=True)
class Medicine:
    name: str
    route: str
    unit: str
    units: tuple[str, ...]
    max: Mapping[str, float]
    atc: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Administration:
    """One validated administration: the ``medication`` entry's data (without the total)."""

    drug: str
    dose: float
    unit: str
    route: str
    lot: str = ""
    t: float | None = None  # seconds since the dose when given earlier ("at T+..."); None: now
    known: bool = True
    warnings: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "drug": self.drug,
            "dose": self.dose,
            "unit": self.unit,
            "route": self.route,
        }
        if self.lot:
            data["lot"] = self.lot
        if not self.known:
            data["unlisted"] = True
        return data


class Entry(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


# --- the medicines list ---------------------------------------------------------------------


class MedicinesError(InvalidEntry):
    """A medicines file that cannot be used, with the file and the medicine."""


def _fail(name: str, where: str, problem: str) -> MedicinesError:
    return MedicinesError(f"{name}: {where} {problem}.")


def _medicine(item: object, file: str, index: int) -> Medicine:
    where = f"medicine {index + 1}"
    if not isinstance(item, dict):
        raise _fail(file, where, "must be a [[medicines]] table")
    known = {"name", "aliases", "atc", "route", "unit", "units", "max"}
    for key in item:
        if key not in known:
            raise _fail(file, where, f"has an unknown field {str(key)[:40]!r}")
    name = item.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9 -]{0,59}", name):
        raise _fail(file, where, "needs a name in lowercase letters, digits, spaces and dashes")
    where = f"medicine {name!r}"
    route, unit = item.get("route"), item.get("unit")
    if route not in ROUTES:
        raise _fail(file, where, f"route must be one of: {', '.join(ROUTES)}")
    units = item.get("units", [unit])
    if not isinstance(units, list) or not units or any(u not in UNITS for u in units):
        raise _fail(file, where, f"units must be a list of: {', '.join(UNITS)}")
    if unit not in units:
        raise _fail(file, where, "unit must be one of its units")
    limits = item.get("max")
    if not isinstance(limits, dict) or not limits:
        raise _fail(file, where, "needs max = { route = largest single dose, ... }")
    for r, value in limits.items():
        if r not in ROUTES:
            raise _fail(file, where, f"max names an unknown route; routes: {', '.join(ROUTES)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise _fail(file, where, "max values must be numbers above 0")
    aliases = item.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise _fail(file, where, "aliases must be a list of names")
    atc = item.get("atc", "")
    if not isinstance(atc, str) or (
        atc and not re.fullmatch(r"[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}", atc)
    ):
        raise _fail(file, where, "atc must be a 7-character ATC code such as N01AX03")
    return Medicine(
        name=name,
        route=str(route),
        unit=str(unit),
        units=tuple(units),
        max={str(r): float(v) for r, v in limits.items()},
        atc=atc,
        aliases=tuple(a.lower() for a in aliases),
    )


def parse_medicines(text: str, file: str) -> list[Medicine]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MedicinesError(f"{file}: not valid TOML ({exc}).") from None
    if set(data) - {"medicines"}:
        raise MedicinesError(f"{file}: a medicines file has only [[medicines]] tables.")
    items = data.get("medicines", [])
    if not isinstance(items, list):
        raise MedicinesError(f"{file}: medicines must be [[medicines]] tables.")
    return [_medicine(item, file, i) for i, item in enumerate(items)]


class Catalogue:
    """The medicines by every name they are typed under."""

    def __init__(self, medicines: Sequence[Medicine]) -> None:
        self.medicines: dict[str, Medicine] = {}
        self._names: dict[str, Medicine] = {}
        for m in medicines:
            for word in (m.name, *m.aliases):
                if word in self._names:
                    raise MedicinesError(f"The medicine name {word!r} is used twice.")
                self._names[word] = m
            self.medicines[m.name] = m

    def find(self, name: str) -> Medicine | None:
        return self._names.get(name.lower())


@cache
def _shipped() -> tuple[Medicine, ...]:
    entry = resources.files("kapsession.monitoring") / "medicines" / "medicines.toml"
    return tuple(parse_medicines(entry.read_text(encoding="utf-8"), "medicines.toml"))


def builtin_catalogue() -> Catalogue:
    return Catalogue(_shipped())


def available_catalogue(data_dir: Path) -> tuple[Catalogue, list[str]]:
    """The shipped medicines plus the clinic's own (``data_dir/medicines/*.toml``), and the
    problems with any clinic file that could not be used (a bad file never hides the others)."""
    found = list(_shipped())
    problems: list[str] = []
    try:
        paths = sorted(p for p in (data_dir / "medicines").glob("*.toml") if p.is_file())
    except OSError:
        paths = []
    for path in paths:
        try:
            extra = parse_medicines(path.read_text(encoding="utf-8"), path.name)
            Catalogue([*found, *extra])
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path.name}: cannot be read ({type(exc).__name__}).")
            continue
        except MedicinesError as exc:
            problems.append(str(exc))
            continue
        found += extra
    return Catalogue(found), problems


# --- the one-line entry ---------------------------------------------------------------------


def _number(text: str) -> float:
    if not _NUMBER.fullmatch(text):
        if text.startswith("-") and _NUMBER.fullmatch(text[1:]):
            raise InvalidEntry("Dose must be more than 0.")
        raise InvalidEntry("Dose must be a number (e.g. 4 or 0.5).")
    value = float(text.replace(",", "."))
    if not math.isfinite(value) or value <= 0:
        raise InvalidEntry("Dose must be more than 0.")
    return value


def _num(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:.10g}"


def route_short(route: str) -> str:
    return ROUTES[route][0] if route in ROUTES else route


def parse_medication(
    line: str, catalogue: Catalogue, elapsed: float | None = None
) -> Administration:
    """One administration from the typed line, or InvalidEntry naming the field.

    ``elapsed``: seconds since the dose now (a time ``at T+...`` after it is in the future)."""
    if not isinstance(line, str):
        raise InvalidEntry("Medication must be text.")
    if len(line) > MAX_ENTRY_CHARS:
        raise InvalidEntry(f"Medication entry is longer than {MAX_ENTRY_CHARS} characters.")
    if not line.isprintable():
        raise InvalidEntry("Medication entry contains control characters or line breaks.")
    words = line.split()
    if not words:
        raise InvalidEntry(f"Type the medicine, dose, unit and route, e.g. {EXAMPLE}.")
    # The drug: every word before the first one that starts like a dose.
    i = 0
    while i < len(words) and not re.match(r"^-?[0-9.,]", words[i]):
        i += 1
    if i == 0:
        raise InvalidEntry("Medicine is missing: start with its name.")
    name = " ".join(words[:i]).lower()
    if len(name) > MAX_DRUG_CHARS:
        raise InvalidEntry(f"Medicine name is longer than {MAX_DRUG_CHARS} characters.")
    if not re.fullmatch(r"[^\W\d_][\w .'/-]*", name):
        raise InvalidEntry("Medicine name may have letters, digits, spaces and - ' / . only.")
    rest = words[i:]
    if not rest:
        raise InvalidEntry("Dose is missing.")
    unit_word: str | None = None
    joined = _DOSE_UNIT.match(rest[0])
    if joined:
        dose, unit_word = _number(joined.group(1)), joined.group(2)
        rest = rest[1:]
    else:
        dose = _number(rest[0])
        rest = rest[1:]
        # The word after the dose is its unit unless it is a route or a keyword.
        if rest and rest[0].lower() not in _ROUTE_WORDS and rest[0].lower() not in ("lot", "at"):
            unit_word, rest = rest[0], rest[1:]
    unit: str | None = None
    if unit_word is not None:
        unit = _UNIT_WORDS.get(unit_word.lower())
        if unit is None:
            raise InvalidEntry(f"Unit must be one of: {', '.join(UNITS)}.")
    route: str | None = None
    lot = ""
    t: float | None = None
    while rest:
        word, rest = rest[0], rest[1:]
        low = word.lower()
        if low in _UNIT_WORDS and unit is None and route is None:
            unit = _UNIT_WORDS[low]
        elif low in _ROUTE_WORDS and route is None:
            route = _ROUTE_WORDS[low]
        elif low == "lot" and not lot:
            if not rest:
                raise InvalidEntry("Lot is missing after 'lot'.")
            lot, rest = rest[0], rest[1:]
            if len(lot) > MAX_LOT_CHARS:
                raise InvalidEntry(f"Lot is longer than {MAX_LOT_CHARS} characters.")
        elif low == "at" and t is None:
            if not rest:
                raise InvalidEntry("Time is missing after 'at' (e.g. at T+12:30).")
            match = _T_PLUS.match(rest[0])
            rest = rest[1:]
            if not match:
                raise InvalidEntry("Time must be written T+MM or T+MM:SS (time since the dose).")
            t = int(match.group(1)) * 60.0 + int(match.group(2) or 0)
            if elapsed is not None and t > elapsed:
                raise InvalidEntry("Time is in the future.")
        elif low in _UNIT_WORDS:
            raise InvalidEntry("Unit is given twice.")
        elif low in _ROUTE_WORDS:
            raise InvalidEntry("Route is given twice.")
        else:
            raise InvalidEntry(
                f"Route must be one of: {', '.join(r[0] for r in ROUTES.values())} "
                "(or write 'lot' before a lot number, 'at' before a time)."
            )
    medicine = catalogue.find(name)
    warnings: list[str] = []
    if medicine is None:
        if unit is None:
            raise InvalidEntry("Unit is missing (the medicine is not in the list).")
        if route is None:
            raise InvalidEntry("Route is missing (the medicine is not in the list).")
        warnings.append("This medicine is not in the medicines list: check the spelling.")
        return Administration(name, dose, unit, route, lot, t, False, tuple(warnings))
    unit = unit or medicine.unit
    route = route or medicine.route
    if unit not in medicine.units:
        raise InvalidEntry(f"Unit does not fit {medicine.name}: use {' or '.join(medicine.units)}.")
    limit = medicine.max.get(route)
    if limit is None:
        warnings.append(
            f"No plausible maximum for {medicine.name} {route_short(route)} in the list: "
            "check the route."
        )
    else:
        given = _in_unit(dose, unit, medicine.unit)
        if given > limit * (1 + 1e-9):
            raise InvalidEntry(
                f"Dose is above the plausible maximum of {_num(limit)} {medicine.unit} "
                f"for {medicine.name} {route_short(route)}."
            )
    return Administration(medicine.name, dose, unit, route, lot, t, True, tuple(warnings))


def _in_unit(value: float, unit: str, target: str) -> float:
    a, b = UNITS.get(unit), UNITS.get(target)
    if a is None or b is None:
        return value
    return value * a[1] / b[1]


def validate_administration(data: Mapping[str, Any], catalogue: Catalogue) -> Administration:
    """Re-check stored or form data by reading it back as a line."""
    line = f"{data.get('drug')} {data.get('dose')} {data.get('unit')} {data.get('route')}"
    if data.get("lot"):
        line += f" lot {data['lot']}"
    return parse_medication(line, catalogue)


# --- the running total and the ceiling ------------------------------------------------------


def _mg(value: object, unit: object = "mg") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    factor = UNITS.get(str(unit))
    return float(value) * factor[1] if factor else 0.0


def given_mg(kind: str, data: Mapping[str, Any]) -> float:
    """The ketamine (or esketamine) this entry gave, in mg; 0 for anything else."""
    if kind in ("dose", "booster_dose"):
        return _mg(data.get("mg"))
    if kind == KIND and str(data.get("drug", "")).lower() in KETAMINE_FAMILY:
        return _mg(data.get("dose"), data.get("unit"))
    return 0.0


def ketamine_total(events: Sequence[Entry]) -> float:
    return round(sum(given_mg(e.kind, e.data) for e in events), 6)


@dataclass(frozen=True)
class LogRow:
    """One line of the medication log."""

    entry: Entry
    drug: str
    dose: float | None
    unit: str
    route: str
    lot: str
    total_mg: float


def medication_log(events: Sequence[Entry], session_drug: str = "ketamine") -> list[LogRow]:
    """The dose, boosters and every ``medication`` entry in order, each with the ketamine total
    after it."""
    rows: list[LogRow] = []
    total = 0.0
    for e in events:
        if e.kind not in ("dose", "booster_dose", KIND):
            continue
        total = round(total + given_mg(e.kind, e.data), 6)
        if e.kind == KIND:
            drug, dose = str(e.data.get("drug", "")), e.data.get("dose")
            unit, route = str(e.data.get("unit", "")), str(e.data.get("route", ""))
        else:
            drug, dose, unit = session_drug, e.data.get("mg"), "mg"
            route = str(e.data.get("route", ""))
        rows.append(
            LogRow(
                e,
                drug,
                float(dose) if isinstance(dose, int | float) else None,
                unit,
                route,
                str(e.data.get("lot", "")),
                total,
            )
        )
    return rows


def total_text(total_mg: float, weight_kg: float | None) -> str:
    """What the live screen shows: "Ketamine 150 mg" or "Ketamine 150 mg · 2.14 mg/kg"."""
    text = f"Ketamine {_num(round(total_mg, 3))} mg"
    if weight_kg:
        text += f" · {total_mg / weight_kg:.2f} mg/kg"
    return text


def ceiling_mg(
    ceiling: float | None, per_kg: float | None, weight_kg: float | None
) -> tuple[float, str] | None:
    """The ceiling that applies and how it reads: the lower of the absolute one and the per-kg
    one times the weight (the per-kg one needs a weight)."""
    options: list[tuple[float, str]] = []
    if ceiling is not None:
        options.append((ceiling, f"{_num(ceiling)} mg"))
    if per_kg is not None and weight_kg:
        options.append((per_kg * weight_kg, f"{_num(per_kg)} mg/kg × {_num(weight_kg)} kg"))
    return min(options) if options else None


def ceiling_alert(
    before_mg: float,
    after_mg: float,
    ceiling: float | None,
    per_kg: float | None,
    weight_kg: float | None,
    source: str,
) -> dict[str, Any] | None:
    """The ``alert`` entry's data when this administration takes the total past the ceiling
    (once: later administrations above it raise nothing more)."""
    found = ceiling_mg(ceiling, per_kg, weight_kg)
    if found is None:
        return None
    limit, how = found
    if not (before_mg <= limit + 1e-9 < after_mg - 1e-9):
        return None
    # The basis is said when the per-kg ceiling set it; the absolute one is the limit named.
    basis = source if how.endswith(" mg") else f"{how}; {source}"
    return {
        "field": "ketamine_total_mg",
        "value": after_mg,
        "low": None,
        "high": round(limit, 3),
        "source": source,
        "message": (
            f"Ketamine total {_num(round(after_mg, 3))} mg is above the ceiling of "
            f"{_num(round(limit, 3))} mg ({basis})"
        ),
    }


def describe_medication(data: Mapping[str, Any], style: str = "screen") -> str:
    """How a ``medication`` entry reads: the stream, the review, the timeline's markers and the
    printed summaries (session/entry_text.describe hands it over)."""
    drug = str(data.get("drug", "?"))
    dose = data.get("dose")
    amount = _num(float(dose)) if isinstance(dose, int | float) and math.isfinite(dose) else "?"
    what = f"{drug} {amount} {data.get('unit', '')} {route_short(str(data.get('route', '')))}"
    if style == "marker":
        return what
    lot = f", lot {data['lot']}" if data.get("lot") else ""
    total = data.get("total_mg")
    after = (
        f" · ketamine total {_num(round(float(total), 3))} mg"
        if isinstance(total, int | float) and math.isfinite(total)
        else ""
    )
    unlisted = " (not in the medicines list)" if data.get("unlisted") else ""
    if style == "print":
        by = f", given by {data['given_by']}" if data.get("given_by") else ""
        return f"Medication {what}{lot}{unlisted}{by}{after}"
    return f"Medication: {what}{lot}{unlisted}{after}"
