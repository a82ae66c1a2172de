"""Vital signs: the one-line keyboard entry, plausible-value limits, protocol threshold alerts
and the trend against the baseline.

The one-line form is ``SYS/DIA HR SPO2 [RR [TEMP]]``, e.g. ``128/82 76 98`` or
``128/82 76 98 14 36.8``. Extra spaces are fine, SpO2 may carry a ``%`` and the temperature a
decimal comma (``36,8``). ``-`` stands for "not measured" in an optional place, so a temperature
can be given without a respiratory rate: ``128/82 76 98 - 36.8``.

Only the ASCII digits 0–9 are accepted: ``int()`` would happily read Arabic-Indic or fullwidth
digits, which a therapist cannot see are different from what the record shows.

Error messages name the field and the problem but never repeat the value typed (errors may end
up in a log; clinical values must not)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from kapsession.errors import InvalidEntry

PLAUSIBLE_SOURCE = "OpenMRS plausible-value limits"


@dataclass(frozen=True)
class Limit:
    """A plausible-value range: anything outside it is refused, not stored (both ends included)."""

    field: str
    label: str
    unit: str
    low: float
    high: float
    integer: bool
    source: str


# Field order is the order of the one-line form and of the JSON event.
LIMITS: dict[str, Limit] = {
    "systolic": Limit("systolic", "Systolic", "mmHg", 0, 250, True, PLAUSIBLE_SOURCE),
    "diastolic": Limit("diastolic", "Diastolic", "mmHg", 0, 150, True, PLAUSIBLE_SOURCE),
    "heart_rate": Limit("heart_rate", "Heart rate", "/min", 0, 230, True, PLAUSIBLE_SOURCE),
    "spo2": Limit("spo2", "SpO2", "%", 0, 100, True, PLAUSIBLE_SOURCE),
    "resp_rate": Limit("resp_rate", "Respiratory rate", "/min", 0, 100, True, PLAUSIBLE_SOURCE),
    "temperature": Limit("temperature", "Temperature", "°C", 25, 43, False, PLAUSIBLE_SOURCE),
}
VITAL_FIELDS: tuple[str, ...] = tuple(LIMITS)
REQUIRED_FIELDS: tuple[str, ...] = ("systolic", "diastolic", "heart_rate", "spo2")
# The other plausibility rule, also from OpenMRS.
SYSTOLIC_ABOVE_DIASTOLIC_SOURCE = PLAUSIBLE_SOURCE

# Longer than any sensible entry (the longest valid one is ~45 characters); a paste accident
# is refused rather than parsed.
MAX_ENTRY_CHARS = 200
EXAMPLE = "128/82 76 98"


@dataclass(frozen=True)
class Vitals:
    systolic: int
    diastolic: int
    heart_rate: int
    spo2: int
    resp_rate: int | None = None
    temperature: float | None = None

    def as_dict(self) -> dict[str, int | float | None]:
        """The ``vitals`` event data. All six keys are always present; a value not measured is
        ``None`` (JSON ``null``), so every vitals event has the same shape."""
        return {
            "systolic": self.systolic,
            "diastolic": self.diastolic,
            "heart_rate": self.heart_rate,
            "spo2": self.spo2,
            "resp_rate": self.resp_rate,
            "temperature": self.temperature,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Vitals:
        """Rebuild (and re-check) vitals from event data, e.g. the stored baseline."""
        unknown = [k for k in data if k not in LIMITS]
        if unknown:
            raise InvalidEntry("Vitals contain an unknown field.")
        v = cls(
            systolic=data.get("systolic"),  # type: ignore[arg-type]
            diastolic=data.get("diastolic"),  # type: ignore[arg-type]
            heart_rate=data.get("heart_rate"),  # type: ignore[arg-type]
            spo2=data.get("spo2"),  # type: ignore[arg-type]
            resp_rate=data.get("resp_rate"),  # type: ignore[arg-type]
            temperature=data.get("temperature"),  # type: ignore[arg-type]
        )
        return validate_vitals(v)


# --- checking values ------------------------------------------------------------------------


def _num(x: float) -> str:
    """A number as a therapist writes it: 180 not 180.0, 36.8 not 36.800000000000004."""
    if isinstance(x, int) or (math.isfinite(x) and x == int(x)):
        return str(int(x))
    return f"{x:.10g}"


def _check_range(limit: Limit, value: float) -> None:
    unit = f" {limit.unit}"
    if value < limit.low:
        hint = " (enter °C, not °F)" if limit.field == "temperature" else ""
        raise InvalidEntry(
            f"{limit.label} is below the plausible minimum of {_num(limit.low)}{unit}{hint}."
        )
    if value > limit.high:
        hint = " (enter °C, not °F)" if limit.field == "temperature" else ""
        raise InvalidEntry(
            f"{limit.label} is above the plausible maximum of {_num(limit.high)}{unit}{hint}."
        )


def _check_value(field: str, value: object) -> int | float | None:
    limit = LIMITS[field]
    if value is None:
        if field in REQUIRED_FIELDS:
            raise InvalidEntry(f"{limit.label} is missing.")
        return None
    if isinstance(value, bool):
        raise InvalidEntry(f"{limit.label} must be a number.")
    if limit.integer:
        if not isinstance(value, int):
            raise InvalidEntry(f"{limit.label} must be a whole number.")
        _check_range(limit, value)
        return value
    if not isinstance(value, int | float):
        raise InvalidEntry(f"{limit.label} must be a number.")
    # An int is always finite (and math.isfinite would overflow on a huge one).
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidEntry(f"{limit.label} must be a number, not NaN or infinity.")
    _check_range(limit, value)
    return float(value)


def _check_pair(systolic: int, diastolic: int) -> None:
    if systolic <= diastolic:
        raise InvalidEntry("Systolic must be higher than diastolic.")


def validate_vitals(v: Vitals) -> Vitals:
    """Check values that came from a form (same rules as the one-line entry). Whole-number
    fields must be real ints (not bools, not floats); the temperature comes back as a float."""
    checked = {field: _check_value(field, getattr(v, field)) for field in VITAL_FIELDS}
    systolic, diastolic = checked["systolic"], checked["diastolic"]
    assert isinstance(systolic, int) and isinstance(diastolic, int)
    _check_pair(systolic, diastolic)
    return Vitals(**checked)  # type: ignore[arg-type]


# --- the one-line form ----------------------------------------------------------------------

_INT = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(?:[.,][0-9]+)?")
_EXPONENT = re.compile(r"[+-]?[0-9]*[.,]?[0-9]*e[+-]?[0-9]*")
_SPACE_BEFORE_PERCENT = re.compile(r"\s+%")
_SPACES_AROUND_SLASH = re.compile(r"\s*/\s*")
NOT_MEASURED = "-"


def _token_problem(label: str, token: str, integer: bool) -> str:
    """Why a token that is not a plain number was refused, in the therapist's words."""
    lower = token.lower()
    if not token.isascii():
        return f"{label} must be typed with the plain digits 0–9."
    if "nan" in lower or "inf" in lower:
        return f"{label} must be a number, not NaN or infinity."
    if _EXPONENT.fullmatch(lower) and any(c.isdigit() for c in lower):
        return f"{label} must be written out, without an exponent."
    if token.startswith("-") and len(token) > 1:
        return f"{label} cannot be negative."
    if integer and _DECIMAL.fullmatch(token):
        return f"{label} must be a whole number."
    return f"{label} must be a number."


def _parse_number(field: str, token: str) -> int | float:
    limit = LIMITS[field]
    if field == "spo2" and token.endswith("%"):
        token = token[:-1]
    if limit.integer:
        if not _INT.fullmatch(token):
            raise InvalidEntry(_token_problem(limit.label, token, integer=True))
        # Guard int(): absurdly long digit strings are out of range anyway, and Python refuses
        # to convert more than 4300 digits with a ValueError of its own.
        if len(token.lstrip("0")) > 6:
            _check_range(limit, math.inf)
        value: int | float = int(token)
    else:
        if not _DECIMAL.fullmatch(token):
            raise InvalidEntry(_token_problem(limit.label, token, integer=False))
        whole = token.replace(",", ".").split(".")[0]
        if len(whole.lstrip("0")) > 6:
            _check_range(limit, math.inf)
        value = float(token.replace(",", "."))
    _check_range(limit, value)
    return value


def parse_vitals(text: str) -> Vitals:
    """Read the one-line entry ("128/82 76 98", optional RR and temperature) or refuse it with
    an InvalidEntry whose message names the field and what is wrong."""
    if not isinstance(text, str):
        raise InvalidEntry("Vitals must be typed as text, e.g. '128/82 76 98'.")
    if len(text) > MAX_ENTRY_CHARS:
        raise InvalidEntry(f"Vitals entry is too long; type e.g. '{EXAMPLE}'.")
    text = _SPACE_BEFORE_PERCENT.sub("%", text)
    text = _SPACES_AROUND_SLASH.sub("/", text)
    tokens = text.split()
    if not tokens:
        raise InvalidEntry(f"Vitals entry is empty; type e.g. '{EXAMPLE}'.")
    bp, rest = tokens[0], tokens[1:]
    if "/" not in bp:
        if not bp.isascii():
            raise InvalidEntry("Blood pressure must be typed with the plain digits 0–9 and '/'.")
        raise InvalidEntry(
            f"Blood pressure needs a slash between systolic and diastolic, e.g. '{EXAMPLE}'."
        )
    sys_token, dia_token = bp.split("/", 1)
    if not sys_token:
        raise InvalidEntry("Systolic is missing before the '/'.")
    if not dia_token:
        raise InvalidEntry("Diastolic is missing after the '/'.")
    if "/" in dia_token:
        raise InvalidEntry("Blood pressure has more than one '/'.")
    if len(rest) < 2:
        missing = "Heart rate and SpO2 are" if not rest else "SpO2 is"
        raise InvalidEntry(f"{missing} missing; type e.g. '{EXAMPLE}'.")
    if len(rest) > 4:
        raise InvalidEntry(
            "Too many values: at most blood pressure, heart rate, SpO2, respiratory rate "
            "and temperature."
        )
    if len(rest) == 3 and _DECIMAL.fullmatch(rest[2]) and not _INT.fullmatch(rest[2]):
        # The likeliest slip: a temperature typed where the respiratory rate goes.
        raise InvalidEntry(
            "Respiratory rate must be a whole number; for a temperature without a respiratory "
            "rate type '-' in its place, e.g. '128/82 76 98 - 36.8'."
        )
    values: dict[str, int | float | None] = {
        "systolic": _parse_number("systolic", sys_token),
        "diastolic": _parse_number("diastolic", dia_token),
    }
    for field, token in zip(VITAL_FIELDS[2:], rest, strict=False):
        if token == NOT_MEASURED:
            if field in REQUIRED_FIELDS:
                raise InvalidEntry(f"{LIMITS[field].label} is missing.")
            values[field] = None
        else:
            values[field] = _parse_number(field, token)
    return validate_vitals(Vitals(**values))  # type: ignore[arg-type]


def format_vitals(v: Vitals) -> str:
    """The one-line form of valid vitals; ``parse_vitals(format_vitals(v)) == v``."""
    parts = [f"{v.systolic}/{v.diastolic}", str(v.heart_rate), str(v.spo2)]
    if v.temperature is not None:
        parts.append(NOT_MEASURED if v.resp_rate is None else str(v.resp_rate))
        parts.append(repr(float(v.temperature)))  # repr round-trips a float exactly
    elif v.resp_rate is not None:
        parts.append(str(v.resp_rate))
    return " ".join(parts)


# --- protocol thresholds --------------------------------------------------------------------


class ThresholdLike(Protocol):
    """What a protocol threshold offers (kapsession.monitoring.protocol.Threshold fits, without this module
    importing it). ``low``/``high`` are the edges of the acceptable range; a value exactly on an
    edge is acceptable. Read-only, so frozen dataclasses fit too."""

    @property
    def field(self) -> str: ...

    @property
    def low(self) -> float | None: ...

    @property
    def high(self) -> float | None: ...

    @property
    def source(self) -> str: ...


@dataclass(frozen=True)
class Alert:
    field: str
    value: float
    low: float | None
    high: float | None
    source: str
    message: str

    @property
    def direction(self) -> str:
        """ "above" or "below" the threshold's range."""
        return "above" if self.high is not None and self.value > self.high else "below"

    def as_dict(self) -> dict[str, object]:
        """The ``alert`` event data."""
        return {
            "field": self.field,
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "source": self.source,
            "message": self.message,
        }


def check_thresholds(v: Vitals, thresholds: Sequence[ThresholdLike]) -> list[Alert]:
    """One alert per threshold the vitals fall outside, in the thresholds' order. A field that
    was not measured raises nothing. A threshold naming a field vitals do not have is a
    programming or protocol error (protocol loading must check against VITAL_FIELDS) and raises
    ValueError rather than being silently ignored."""
    alerts: list[Alert] = []
    for threshold in thresholds:
        if threshold.field not in LIMITS:
            raise ValueError(f"threshold for unknown vitals field {threshold.field!r}")
        value = getattr(v, threshold.field)
        if value is None:
            continue
        limit = LIMITS[threshold.field]
        unit = limit.unit
        if threshold.high is not None and value > threshold.high:
            edge, word = threshold.high, "above"
        elif threshold.low is not None and value < threshold.low:
            edge, word = threshold.low, "below"
        else:
            continue
        message = f"{limit.label} {_num(value)} {unit} is {word} {_num(edge)} ({threshold.source})"
        alerts.append(
            Alert(threshold.field, value, threshold.low, threshold.high, threshold.source, message)
        )
    return alerts


# --- trend against the baseline -------------------------------------------------------------

# Temperature is left out: °C is not a ratio scale, so "+5 %" for 36.5 -> 38.3 °C would mislead.
TREND_FIELDS: tuple[str, ...] = ("systolic", "diastolic", "heart_rate", "spo2", "resp_rate")
TREND_LABELS: dict[str, str] = {
    "systolic": "sys",
    "diastolic": "dia",
    "heart_rate": "HR",
    "spo2": "SpO2",
    "resp_rate": "RR",
}


def trend(v: Vitals, baseline: Vitals | None) -> dict[str, float]:
    """Percent change from the baseline per field, rounded to 0.1, e.g. {"systolic": 25.0}.
    Fields missing from either, or zero at baseline, are left out; no baseline gives {}."""
    if baseline is None:
        return {}
    changes: dict[str, float] = {}
    for field in TREND_FIELDS:
        now, base = getattr(v, field), getattr(baseline, field)
        if now is None or base is None or base == 0:
            continue
        changes[field] = round((now - base) * 100 / base, 1)
    return changes


def _round_half_away(x: float) -> int:
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def format_trend(changes: Mapping[str, float]) -> str:
    """Short screen text for ``trend(...)``, e.g. "sys +25 % · HR −8 %" (whole percent, a real
    minus sign, "±0 %" for no change); "" when there is nothing to show."""
    parts: list[str] = []
    for field in TREND_FIELDS:
        if field not in changes:
            continue
        n = _round_half_away(changes[field])
        sign = "+" if n > 0 else "−" if n < 0 else "±"
        parts.append(f"{TREND_LABELS[field]} {sign}{abs(n)} %")
    return " · ".join(parts)
