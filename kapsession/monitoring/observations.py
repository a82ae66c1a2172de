"""Observations during the dosing window: the rating scales (as data, with their anchors and
sources), free-text observations, and the quick events (booster dose, vomiting, ...).

Every answer is one key: each option of a scale has its own key, shown next to its label.
The validators return the event data to store, or raise InvalidEntry naming the scale or event."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Any, NamedTuple

from kapsession.errors import InvalidEntry
from kapsession.storage.schema import ROUTES

# A remark on an observation is a line or two; a longer text belongs in a note.
MAX_TEXT_CHARS = 2_000
MAX_LOT_CHARS = 40


class Option(NamedTuple):
    value: int | str
    key: str
    label: str


@dataclass(frozen=True)
class Scale:
    id: str
    name: str
    options: tuple[Option, ...]
    source: str
    # How the keys map to answers, where that is not obvious from the digits.
    keys_note: str = ""

    @property
    def numeric(self) -> bool:
        return all(isinstance(o.value, int) for o in self.options)

    def option(self, value: object) -> Option | None:
        """The option with this value (ints for numeric scales, names for categorical ones)."""
        if isinstance(value, bool):
            return None
        for o in self.options:
            if type(o.value) is type(value) and o.value == value:
                return o
        return None

    def option_for_key(self, key: str) -> Option | None:
        """The option a key press chooses, or None for a key that is not on this scale."""
        for o in self.options:
            if o.key == key:
                return o
        return None


MOAAS = Scale(
    id="moaas",
    name="MOAA/S",
    options=(
        Option(5, "5", "Responds readily to name in normal tone"),
        Option(4, "4", "Lethargic response to name in normal tone"),
        Option(3, "3", "Responds only to loud or repeated name"),
        Option(2, "2", "Responds only after mild prodding or shaking"),
        Option(1, "1", "No response to mild prodding or shaking"),
        Option(0, "0", "No response to pain"),
    ),
    source="Modified Observer's Assessment of Alertness/Sedation (Chernik et al. 1990)",
)

RASS = Scale(
    id="rass",
    name="RASS",
    options=(
        Option(4, "c", "Combative"),
        Option(3, "v", "Very agitated"),
        Option(2, "a", "Agitated"),
        Option(1, "r", "Restless"),
        Option(0, "0", "Alert and calm"),
        Option(-1, "1", "Drowsy"),
        Option(-2, "2", "Light sedation"),
        Option(-3, "3", "Moderate sedation"),
        Option(-4, "4", "Deep sedation"),
        Option(-5, "5", "Unrousable"),
    ),
    source="Richmond Agitation-Sedation Scale (Sessler et al. 2002)",
    # A digit cannot carry a sign in one key press, so the two sides get different keys.
    keys_note=(
        "Digits 0–5 give the depth of sedation (1 = −1 drowsy … 5 = −5 unrousable); "
        "letters give agitation: r +1 restless, a +2 agitated, v +3 very agitated, c +4 combative."
    ),
)

DISSOCIATION = Scale(
    id="dissociation",
    name="Dissociation",
    options=(
        Option(0, "0", "None"),
        Option(1, "1", "Mild"),
        Option(2, "2", "Moderate"),
        Option(3, "3", "Marked"),
        Option(4, "4", "Extreme"),
    ),
    source=(
        "Quick clinician rating for a live session; not the CADSS (the 23-item research instrument)"
    ),
)

NAUSEA = Scale(
    id="nausea",
    name="Nausea",
    options=(
        Option(0, "0", "None"),
        Option(1, "1", "Mild"),
        Option(2, "2", "Moderate"),
        Option(3, "3", "Vomiting / severe"),
    ),
    source="Quick clinician rating",
)

EMOTIONAL_TONE = Scale(
    id="emotional_tone",
    name="Emotional tone",
    options=(
        Option("calm", "c", "Calm"),
        Option("peaceful", "p", "Peaceful"),
        Option("joyful", "j", "Joyful"),
        Option("tearful", "t", "Tearful"),
        Option("anxious", "a", "Anxious"),
        Option("distressed", "d", "Distressed"),
        Option("agitated", "g", "Agitated"),
        Option("flat", "f", "Flat"),
    ),
    source="Clinician's categorical impression",
)

SCALES: dict[str, Scale] = {s.id: s for s in (MOAAS, RASS, DISSOCIATION, NAUSEA, EMOTIONAL_TONE)}

# A free-text observation has no scale value; it is stored under this scale id.
FREE_TEXT = "free_text"


def _clean_text(text: object, what: str, limit: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(text, str):
        raise InvalidEntry(f"{what} must be text.")
    if len(text) > limit:
        raise InvalidEntry(f"{what} can be at most {limit:,} characters.")
    if any(unicodedata.category(c) == "Cs" for c in text):
        raise InvalidEntry(f"{what} contains broken characters (lone surrogates).")
    return text.strip()


def _signed(value: int | str) -> str:
    return f"+{value}" if isinstance(value, int) and value > 0 else str(value).replace("-", "−")


def validate_observation(scale_id: str, value: int | str, text: str | None = "") -> dict[str, Any]:
    """The ``observation`` event data ``{"scale", "value", "label"}`` plus ``"text"`` when a
    remark was given, or InvalidEntry naming the scale. ``value`` is the option's value (an int
    on numeric scales, the tone's name on emotional tone), not its key: see option_for_key."""
    if not isinstance(scale_id, str) or scale_id not in SCALES:
        raise InvalidEntry(f"Unknown observation scale; known: {', '.join(SCALES)}.")
    scale = SCALES[scale_id]
    option = scale.option(value)
    if option is None:
        allowed = ", ".join(
            _signed(o.value) if scale is RASS else str(o.value) for o in scale.options
        )
        raise InvalidEntry(f"{scale.name} must be one of: {allowed}.")
    data: dict[str, Any] = {"scale": scale.id, "value": option.value, "label": option.label}
    remark = "" if text is None else _clean_text(text, f"{scale.name} remark")
    if remark:
        data["text"] = remark
    return data


def validate_observation_text(text: str) -> dict[str, Any]:
    """A free-text observation: ``{"scale": "free_text", "text"}``."""
    cleaned = _clean_text(text, "Observation")
    if not cleaned:
        raise InvalidEntry("An empty observation is not saved.")
    return {"scale": FREE_TEXT, "text": cleaned}


# --- quick events ---------------------------------------------------------------------------


class QuickEvent(NamedTuple):
    kind: str
    key: str
    label: str


QUICK_EVENTS: tuple[QuickEvent, ...] = (
    QuickEvent("booster_dose", "b", "Booster dose"),
    QuickEvent("vomiting", "v", "Vomiting"),
    QuickEvent("emergence_reaction", "e", "Emergence reaction"),
    QuickEvent("touch_offered", "t", "Touch offered"),
    QuickEvent("touch_accepted", "a", "Touch accepted"),
    QuickEvent("client_spoke", "s", "Client spoke"),
)
QUICK_EVENT_KINDS: tuple[str, ...] = tuple(q.kind for q in QUICK_EVENTS)
_LABELS = {q.kind: q.label for q in QUICK_EVENTS}
MAX_BOOSTER_MG = 1000


def _booster(fields: dict[str, object]) -> dict[str, Any]:
    mg = fields.get("mg")
    if (
        mg is None
        or isinstance(mg, bool)
        or not isinstance(mg, int | float)
        or (isinstance(mg, float) and not math.isfinite(mg))  # a huge int would overflow
    ):
        raise InvalidEntry("Booster dose must be a number of milligrams.")
    if not 0 < mg <= MAX_BOOSTER_MG:
        raise InvalidEntry(f"Booster dose must be more than 0 and at most {MAX_BOOSTER_MG} mg.")
    route = fields.get("route")
    if route not in ROUTES:
        raise InvalidEntry(f"Booster dose route must be one of: {', '.join(ROUTES)}.")
    data: dict[str, Any] = {"mg": float(mg), "route": route}
    lot = fields.get("lot")
    if lot is not None:
        lot = _clean_text(lot, "Booster dose lot", MAX_LOT_CHARS)
        if not lot.isprintable():
            raise InvalidEntry("Booster dose lot contains control characters or line breaks.")
        if lot:
            data["lot"] = lot
    return data


def validate_quick_event(kind: str, /, **fields: object) -> tuple[str, dict[str, Any]]:
    """``(kind, data)`` for a quick event, or InvalidEntry naming the event.

    - ``booster_dose``: ``mg`` (required, > 0 and <= 1000), ``route`` (one of schema.ROUTES),
      ``lot`` (optional, at most 40 characters) -> data ``{"mg": float, "route", "lot"?}``.
    - ``vomiting``, ``emergence_reaction``, ``touch_offered``, ``touch_accepted``,
      ``client_spoke``: no fields -> ``{}``.
    - Every kind takes an optional ``text`` remark (e.g. what the client said), stored as
      ``"text"`` when not blank."""
    if not isinstance(kind, str) or kind not in _LABELS:
        raise InvalidEntry(f"Unknown quick event; known: {', '.join(QUICK_EVENT_KINDS)}.")
    label = _LABELS[kind]
    allowed = {"mg", "route", "lot", "text"} if kind == "booster_dose" else {"text"}
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise InvalidEntry(f"{label} has no field {unknown[0][:40]!r}.")
    data = _booster(fields) if kind == "booster_dose" else {}
    if fields.get("text") is not None:
        text = _clean_text(fields["text"], f"{label} remark")
        if text:
            data["text"] = text
    return kind, data
