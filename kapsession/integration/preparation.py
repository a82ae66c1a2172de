"""Preparation: what the therapist and client settle before the medicine is given.

The client's intention and hopes, the patterns they want to shift, their concerns, the screening
and consent checklist, the set-and-setting checklist, and a grounding exercise to read aloud.
Every save is a whole new ``preparation`` entry; the newest is current and the older ones stay on
the record as history (each later version ``amends`` the one before)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from kapsession.errors import InvalidEntry, StateError
from kapsession.monitoring.dose_rules import DoseRules, GateFacts, gate_items
from kapsession.monitoring.vitals import LIMITS
from kapsession.storage.store import Event, SessionRecord, Store
from kapsession.textcheck import clean_line, clean_text

KIND = "preparation"

# Long enough for a careful paragraph or two from the client, short enough to stay a summary.
MAX_TEXT = 10_000  # the plan's intention has the same limit
MAX_PRESCRIBER = 120
MAX_MUSIC = 2_000

# (field, what to ask, what is missing when unchecked). The order is the order on screen.
SCREENING_ITEMS: tuple[tuple[str, str, str], ...] = (
    (
        "medical_oversight",
        "Medical oversight arranged (prescriber reachable during the session)",
        "medical oversight not confirmed",
    ),
    (
        "contraindications_confirmed",
        "Contraindications confirmed with the prescriber (e.g. blood pressure, heart, "
        "pregnancy, psychosis)",
        "contraindications not confirmed",
    ),
    (
        "consent_signed",
        "Informed consent signed, including the use of touch and music",
        "consent not signed",
    ),
    ("ride_home", "Ride home arranged (no driving until the next day)", "no ride home arranged"),
    (
        "fasting",
        "Fasting as the prescriber instructed (food and drink)",
        "fasting not confirmed",
    ),
)
SETTING_ITEMS: tuple[tuple[str, str], ...] = (
    ("room_ready", "Room ready: dim light, warm, quiet, a blanket, a bucket nearby"),
    ("eyeshades", "Eyeshades ready"),
    ("headphones", "Headphones ready and the volume tried with the client"),
)


@dataclass(frozen=True)
class Screening:
    medical_oversight: bool = False
    prescriber: str = ""
    contraindications_confirmed: bool = False
    consent_signed: bool = False
    ride_home: bool = False
    fasting: bool = False
    # For the start gate and the ketamine total per kg (issue 15): the weight, the last food and
    # last clear liquid (local "YYYY-MM-DD HH:MM", empty: not recorded) and the pre-dose BP
    # ("SYS/DIA", empty: not taken).
    weight_kg: float | None = None
    last_food: str = ""
    last_clear_liquid: str = ""
    predose_bp: str = ""


@dataclass(frozen=True)
class Setting:
    room_ready: bool = False
    eyeshades: bool = False
    headphones: bool = False
    music_preferences: str = ""


@dataclass(frozen=True)
class Preparation:
    intention: str = ""
    hopes: str = ""
    patterns: str = ""
    concerns: str = ""
    screening: Screening = field(default_factory=Screening)
    setting: Setting = field(default_factory=Setting)
    grounding_done: bool = False

    def to_data(self) -> dict[str, Any]:
        """The entry's data, exactly as documented in the timeline format."""
        s, st = self.screening, self.setting
        return {
            "intention": self.intention,
            "hopes": self.hopes,
            "patterns": self.patterns,
            "concerns": self.concerns,
            "screening": {
                "medical_oversight": s.medical_oversight,
                "prescriber": s.prescriber,
                "contraindications_confirmed": s.contraindications_confirmed,
                "consent_signed": s.consent_signed,
                "ride_home": s.ride_home,
                "fasting": s.fasting,
                **gate_data(s),
            },
            "setting": {
                "room_ready": st.room_ready,
                "eyeshades": st.eyeshades,
                "headphones": st.headphones,
                "music_preferences": st.music_preferences,
            },
            "grounding_done": self.grounding_done,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Preparation:
        """Read a stored entry; anything missing or of the wrong type reads as empty/unchecked
        (a checklist item is only ever shown as done when it was saved as done)."""
        screening = _mapping(data.get("screening"))
        setting = _mapping(data.get("setting"))
        return cls(
            intention=_str(data.get("intention")),
            hopes=_str(data.get("hopes")),
            patterns=_str(data.get("patterns")),
            concerns=_str(data.get("concerns")),
            screening=Screening(
                medical_oversight=screening.get("medical_oversight") is True,
                prescriber=_str(screening.get("prescriber")),
                contraindications_confirmed=screening.get("contraindications_confirmed") is True,
                consent_signed=screening.get("consent_signed") is True,
                ride_home=screening.get("ride_home") is True,
                fasting=screening.get("fasting") is True,
                **gate_fields(screening),
            ),
            setting=Setting(
                room_ready=setting.get("room_ready") is True,
                eyeshades=setting.get("eyeshades") is True,
                headphones=setting.get("headphones") is True,
                music_preferences=_str(setting.get("music_preferences")),
            ),
            grounding_done=data.get("grounding_done") is True,
        )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _flag(value: object, label: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidEntry(f"{label} must be ticked or not (yes/no).")
    return value


def validate_preparation(prep: Preparation) -> Preparation:
    """Return a cleaned preparation or raise InvalidEntry naming the field."""
    s, st = prep.screening, prep.setting
    for name, label, _missing in SCREENING_ITEMS:
        _flag(getattr(s, name), label.split(" (")[0])
    for name, label in SETTING_ITEMS:
        _flag(getattr(st, name), label.split(":")[0])
    _flag(prep.grounding_done, "Grounding exercise done")
    return replace(
        prep,
        intention=clean_text(prep.intention, "Intention", MAX_TEXT),
        hopes=clean_text(prep.hopes, "Hopes", MAX_TEXT),
        patterns=clean_text(prep.patterns, "Patterns to shift", MAX_TEXT),
        concerns=clean_text(prep.concerns, "Concerns and questions", MAX_TEXT),
        screening=validate_gate_fields(
            replace(s, prescriber=clean_line(s.prescriber, "Prescriber", MAX_PRESCRIBER))
        ),
        setting=replace(
            st, music_preferences=clean_text(st.music_preferences, "Music preferences", MAX_MUSIC)
        ),
    )


def readiness(prep: Preparation | None) -> list[str]:
    """What screening and consent still leave open, in words for a confirmation question.
    It warns; it never blocks the dose (the therapist may know more than the checklist)."""
    if prep is None:
        return ["no preparation recorded (screening and consent unconfirmed)"]
    s = prep.screening
    missing: list[str] = []
    for name, _label, text in SCREENING_ITEMS:
        if not getattr(s, name):
            missing.append(text)
        if name == "medical_oversight" and not s.prescriber.strip():
            missing.append("no prescriber named")
    return missing


# --- the start gate (issue 15) -----------------------------------------------------------------

WEIGHT_RANGE = (2.0, 400.0)
_LOCAL_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}$")
_BP = re.compile(r"^\s*([0-9]{2,3})\s*/\s*([0-9]{2,3})\s*$")


def gate_data(s: Screening) -> dict[str, Any]:
    """The gate's fields in the entry's screening data; left out while empty, so a preparation
    saved without them reads exactly as before."""
    data: dict[str, Any] = {}
    if s.weight_kg is not None:
        data["weight_kg"] = s.weight_kg
    for key in ("last_food", "last_clear_liquid", "predose_bp"):
        if getattr(s, key):
            data[key] = getattr(s, key)
    return data


def gate_fields(screening: Mapping[str, Any]) -> dict[str, Any]:
    weight = screening.get("weight_kg")
    return {
        "weight_kg": (
            float(weight)
            if isinstance(weight, int | float) and not isinstance(weight, bool)
            else None
        ),
        "last_food": _str(screening.get("last_food")),
        "last_clear_liquid": _str(screening.get("last_clear_liquid")),
        "predose_bp": _str(screening.get("predose_bp")),
    }


def parse_local_time(text: str, field: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    # ASCII digits only (strptime would read Arabic-Indic ones the record would not show).
    if not _LOCAL_TIME.match(text):
        raise InvalidEntry(f"{field} must be a date and time like 2026-12-06 07:30.")
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M")
    except ValueError:
        raise InvalidEntry(f"{field} must be a date and time like 2026-12-06 07:30.") from None


def parse_bp(text: str) -> tuple[int, int] | None:
    if not text.strip():
        return None
    match = _BP.match(text)
    if not match:
        raise InvalidEntry("Pre-dose blood pressure must be written SYS/DIA, e.g. 128/82.")
    sys_, dia = int(match.group(1)), int(match.group(2))
    for value, limit in ((sys_, LIMITS["systolic"]), (dia, LIMITS["diastolic"])):
        if not limit.low <= value <= limit.high:
            raise InvalidEntry(
                f"Pre-dose {limit.label.lower()} must be from {limit.low:g} to {limit.high:g} mmHg."
            )
    if sys_ <= dia:
        raise InvalidEntry("Pre-dose systolic must be higher than the diastolic.")
    return sys_, dia


def validate_gate_fields(s: Screening) -> Screening:
    weight = s.weight_kg
    if weight is not None:
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not (WEIGHT_RANGE[0] <= weight <= WEIGHT_RANGE[1])
        ):
            raise InvalidEntry(
                f"Weight must be a number of kg from {WEIGHT_RANGE[0]:g} to {WEIGHT_RANGE[1]:g}."
            )
        weight = float(weight)
    food = parse_local_time(_str(s.last_food), "Last food")
    clear = parse_local_time(_str(s.last_clear_liquid), "Last clear liquid")
    bp = parse_bp(_str(s.predose_bp))
    return replace(
        s,
        weight_kg=weight,
        last_food=food.strftime("%Y-%m-%d %H:%M") if food else "",
        last_clear_liquid=clear.strftime("%Y-%m-%d %H:%M") if clear else "",
        predose_bp=f"{bp[0]}/{bp[1]}" if bp else "",
    )


def gate_facts(prep: Preparation | None) -> GateFacts:
    """What the start gate reads from the preparation (None: no preparation recorded)."""
    if prep is None:
        return GateFacts(readiness=tuple(readiness(None)))
    s = prep.screening
    try:
        bp = parse_bp(s.predose_bp)
        food = parse_local_time(s.last_food, "Last food")
        clear = parse_local_time(s.last_clear_liquid, "Last clear liquid")
    except InvalidEntry:  # a stored value is re-read, never trusted blindly
        bp, food, clear = None, None, None
    return GateFacts(
        last_food=food,
        last_clear_liquid=clear,
        predose_systolic=bp[0] if bp else None,
        predose_diastolic=bp[1] if bp else None,
        readiness=tuple(readiness(prep)),
    )


def session_gate(store: Store, session_id: int, rules: DoseRules, now: datetime) -> list[str]:
    """The start gate's unmet items for a planned session (``now``: local wall time)."""
    current = current_preparation(store, session_id)
    return gate_items(rules, gate_facts(current[0] if current else None), now)


# --- storage ------------------------------------------------------------------------------------


def save_preparation(
    store: Store,
    session_id: int,
    prep: Preparation,
    at: datetime,
    tz: str,
    author: str,
    t: float | None = None,
) -> Event:
    """Add a new version; returns after its COMMIT returned. While the session is still planned
    the plan's intention follows, so the plan and the record say the same thing."""
    prep = validate_preparation(prep)
    record = store.session(session_id)  # StateError when there is no such session
    if record.state == "ended":
        raise StateError("The session has ended; its preparation can no longer change.")
    with store.db.atomic():
        previous = current_preparation(store, session_id)
        event = store.append(
            session_id,
            KIND,
            at,
            tz,
            None if record.state == "planned" else t,
            prep.to_data(),
            author,
            amends=previous[1].seq if previous else None,
        )
        if record.state == "planned":
            store.set_planned_intention(session_id, prep.intention)
    return event


def preparation_history(store: Store, session_id: int) -> list[tuple[Preparation, Event]]:
    """Every saved version, oldest first."""
    return [(Preparation.from_data(e.data), e) for e in store.events(session_id) if e.kind == KIND]


def current_preparation(store: Store, session_id: int) -> tuple[Preparation, Event] | None:
    history = preparation_history(store, session_id)
    return history[-1] if history else None


def shown_intention(store: Store, record: SessionRecord) -> str:
    """The intention to show quietly on the live screen: the latest preparation's, else the
    plan's."""
    current = current_preparation(store, record.id)
    if current is not None and current[0].intention:
        return current[0].intention
    return record.intention


def session_readiness(store: Store, session_id: int) -> list[str]:
    current = current_preparation(store, session_id)
    return readiness(current[0] if current else None)


# --- grounding ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroundingExercise:
    key: str
    title: str
    when: str
    steps: tuple[str, ...]


# Written for kapsession, to be read slowly and quietly; pauses are part of it.
GROUNDING: tuple[GroundingExercise, ...] = (
    GroundingExercise(
        key="senses",
        title="Arriving through the senses (5-4-3-2-1)",
        when="Before the dose, or whenever the client feels unmoored.",
        steps=(
            "Let's take a moment to arrive here together. There is nothing to get right.",
            "Let your eyes rest on five things you can see in this room. "
            "Name them quietly, to yourself or to me.",
            "Notice four things you can feel: the weight of your body on the chair, "
            "your feet on the floor, the air on your skin, your hands.",
            "Listen for three sounds, near or far. Let them come to you.",
            "Find two things you can smell, or simply notice the air as you breathe in.",
            "Notice one thing you can taste, or the feeling inside your mouth.",
            "Take one slower breath. You are here, in this room, and you are not alone.",
        ),
    ),
    GroundingExercise(
        key="breath",
        title="Slow breathing: in for four, out for six",
        when="When the client is anxious, before or during the session.",
        steps=(
            "Let one hand rest on your belly, if that feels right.",
            "Breathe in through your nose while I count: one, two, three, four.",
            "And out slowly, a little longer: one, two, three, four, five, six.",
            "Again: in for four ... and out for six. Let the breath out be soft.",
            "Carry on at your own pace. If your mind wanders, come back to the counting.",
            "After a few rounds: notice how your body feels now. Nothing needs to change.",
        ),
    ),
    GroundingExercise(
        key="anchor",
        title="An anchor for the journey",
        when="Just before the dose, to carry the intention in.",
        steps=(
            "Bring your intention to mind. Say it once, in your own words.",
            "Choose an anchor you can return to: your breath, your hands, or my voice.",
            "If anything becomes difficult, you can come back to this anchor. "
            "You can also say 'I need a moment' or simply raise your hand.",
            "Whatever comes, let it come, and let it pass. I will be right here.",
        ),
    ),
)
