"""How a timeline entry reads, wherever it is shown: the live stream ("screen"), the review's
list of entries ("review"), the labels on its timeline ("marker") and the Markdown and PDF
summaries ("print").

One module so that an entry kind gets its words in one place; the styles differ only where the
place needs it (the stream is terse and uses ♪, a printed summary spells things out). Every
output says times since the dose through ``t_plus``, which floors like a clock: an entry at
59.7 s is T+00:59 on the screen, in the review, in Markdown and in the PDF; lengths floor too.

It also holds the one set of entry-kind groups (the check, music, quick-event, fault and session
kinds) and the one way to name a scale, so exports, the review and the screens sort entries
alike. Qt-free; works on an entry's kind and data, so both stored events and the exported JSON
document (whose entries carry their data at the top level) can be said."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from kapsession.monitoring.adverse import describe as adverse_line
from kapsession.monitoring.checks import (
    CHECK_DUE,
    CHECK_LATE,
    CHECK_MISSED,
    CHECK_SKIPPED,
    CHECK_SNOOZED,
)
from kapsession.monitoring.medication import KIND as MEDICATION_KIND
from kapsession.monitoring.medication import describe_medication
from kapsession.monitoring.observations import FREE_TEXT, QUICK_EVENT_KINDS, QUICK_EVENTS, SCALES
from kapsession.music.music_entries import MUSIC_KINDS
from kapsession.music.rating import rating_line, read_rating
from kapsession.session.dose_clock import minutes_seconds, t_plus
from kapsession.session.notes import TAGS

Style = Literal["screen", "review", "marker", "print"]

# --- the entry-kind groups ----------------------------------------------------------------------

CHECK_KINDS: tuple[str, ...] = (CHECK_DUE, CHECK_LATE, CHECK_MISSED, CHECK_SKIPPED, CHECK_SNOOZED)
# "due", "late", ... as a check's state reads.
CHECK_WORDS: dict[str, str] = {kind: kind.removeprefix("check_") for kind in CHECK_KINDS}
QUICK_KINDS: tuple[str, ...] = QUICK_EVENT_KINDS
FAULT_KINDS: tuple[str, ...] = ("gap", "suspend", "clock_jump", "playback_fault")
SESSION_KINDS: tuple[str, ...] = ("dose", "discharge", "session_ended", "app_closed")
__all__ = [
    "CHECK_KINDS",
    "CHECK_WORDS",
    "FAULT_KINDS",
    "MUSIC_KINDS",
    "QUICK_KINDS",
    "SESSION_KINDS",
    "Style",
    "amendment_line",
    "describe",
    "kind_title",
    "minutes_seconds",
    "minutes_text",
    "music_rating_line",
    "note_line",
    "num",
    "observation_value",
    "one_line",
    "scale_in_sentence",
    "scale_name",
    "t_mark",
    "t_plus",
    "text_of",
]

_QUICK_LABELS = {q.kind: q.label for q in QUICK_EVENTS}


# --- times --------------------------------------------------------------------------------------


def t_mark(t: object) -> str:
    """``t_plus`` for a value read from a document: '-' when the entry has no time since the
    dose (made before it, or after the session)."""
    if isinstance(t, bool) or not isinstance(t, int | float):
        return "-"
    return t_plus(float(t))


def minutes_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min" if not secs else f"{minutes} min {secs} s"


# --- small readers ------------------------------------------------------------------------------


def scale_name(scale: object) -> str:
    """A scale's name as people say it ("MOAA/S"); a free-text observation is "Observation"."""
    if scale == FREE_TEXT:
        return "Observation"
    found = SCALES.get(str(scale))
    return found.name if found else str(scale)


def scale_in_sentence(scale: object) -> str:
    """A scale's name inside a sentence ("MOAA/S, dissociation"): acronyms stay as they are."""
    name = scale_name(scale)
    return name if name.isupper() else name.lower()


def num(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def text_of(value: object) -> str:
    return value if isinstance(value, str) else ""


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# --- the words ----------------------------------------------------------------------------------

_TITLES = {
    "note": "Note",
    "vitals": "Vitals",
    "alert": "Alert",
    "observation": "Observation",
    "dose": "Dose",
    "medication": "Medication",
    "session_ended": "End of session",
    "discharge": "Discharge check",
    "phase": "Music phase",
    "track_started": "Track",
    "playback_fault": "Playback fault",
    "gap": "Gap",
    "suspend": "Laptop asleep",
    "clock_jump": "Clock change",
    "adverse_event": "Adverse event",
}


def kind_title(kind: str) -> str:
    """What an entry is, as a heading ("Check late", "Music phase")."""
    if kind in CHECK_KINDS:
        return "Check " + CHECK_WORDS[kind]
    return _TITLES.get(kind, kind.replace("_", " ").capitalize())


# The stream shows this much of a long note; the review and the exports hold it all.
STREAM_PREVIEW_CHARS = 600
# The review's list of entries shows this much of a note or an amendment on its one line.
REVIEW_LINE_CHARS = 300
_TAG_LABELS = {tag: label for tag, _letter, label in TAGS}


def note_line(
    text: str, tags: Sequence[str], style: Style = "screen", amended: bool = False
) -> str:
    """A note's text with its tags: chips and a preview on the live stream ("[Quote] ..."), one
    line with the tag names in the review's list ("Note: [quote] ... (amended)")."""
    if style == "review":
        prefix = f"[{', '.join(tags)}] " if tags else ""
        mark = " (amended)" if amended else ""
        return f"Note: {prefix}{' '.join(text.split())[:REVIEW_LINE_CHARS]}{mark}"
    shown = (
        text
        if len(text) <= STREAM_PREVIEW_CHARS
        else (text[:STREAM_PREVIEW_CHARS] + f" … ({len(text):,} characters)")
    )
    chips = "".join(f"[{_TAG_LABELS[tag]}] " for tag in tags)
    return f"{chips}{shown}"


def amendment_line(amends: int | None, reason: str | None, text: str) -> str:
    """An amendment as one line in the review's list of entries."""
    flat = " ".join(text.split())[:REVIEW_LINE_CHARS]
    return f"Amendment of #{amends} ({reason}): {flat}"


def describe(
    kind: str, data: Mapping[str, Any], reason: str | None = None, style: Style = "screen"
) -> str:
    """One line for an entry other than a note (no clinical free text is invented here)."""
    if kind == MEDICATION_KIND:  # issue 15: the medication log's own words
        return describe_medication(data, style)
    if style == "print":
        if kind in CHECK_KINDS:
            return _print_check(kind, data)
        if kind in MUSIC_KINDS:
            return _print_music(kind, data)
        return _print_other(kind, data)
    if style == "marker":
        return _marker(kind, data)
    if style == "review":
        said = _review(kind, data)
        if said is not None:
            return said
        try:
            return _screen(kind, data, reason)
        except (KeyError, TypeError, ValueError):
            return kind.replace("_", " ")
    return _screen(kind, data, reason)


def _review(kind: str, data: Mapping[str, Any]) -> str | None:
    """Where the review's list of entries says more than the live stream (the stream's music
    line already says what plays)."""
    if kind == "track_started":
        return f"♪ {data.get('title') or data.get('path')} started{_alternate(data)}"
    if kind == "track_ended":
        return f"♪ {data.get('title') or data.get('path')} ended"
    if kind == "playback_fault":
        return f"Playback fault: {data.get('detail', '')} ({data.get('path', '')})"
    if kind == "worksheet":
        rated = music_rating_line(data)
        return "Integration worksheet saved" + (f" · {rated}" if rated else "")
    if kind == "preparation":
        return "Preparation saved"
    return None


def music_rating_line(data: Mapping[str, Any]) -> str:
    """'Music: liking 7, resonance 8, openness 6 (arc ...)' for a worksheet entry carrying the
    client's music ratings (issue 17, kapsession.music.rating); "" for one without."""
    rating = read_rating(data.get("music_rating"))
    return "" if rating is None else rating_line(rating)


def _marker(kind: str, data: Mapping[str, Any]) -> str:
    """A short label beside a marker on the review's timeline."""
    if kind == "observation":
        scale = str(data.get("scale", ""))
        if scale == FREE_TEXT:
            return one_line(str(data.get("text", "")))
        return f"{scale_name(scale)} {data.get('value')}: {data.get('label', '')}"
    if kind in CHECK_KINDS:
        return f"{data.get('label') or data.get('check') or 'Check'} {CHECK_WORDS[kind]}"
    if kind == "alert":
        return str(data.get("message", "Alert"))
    if kind == "adverse_event":
        return f"Adverse event ({data.get('tier', '?')}): {one_line(str(data.get('event', '')))}"
    if kind in FAULT_KINDS:
        return _marker_fault(kind, data)
    if kind == "phase":
        return f"{str(data.get('name', '')).capitalize()} phase"
    if kind == "track_started":
        return f"♪ {data.get('title') or data.get('path') or 'track'}"
    return kind.replace("_", " ").capitalize()


def _marker_fault(kind: str, data: Mapping[str, Any]) -> str:
    seconds = _finite(data.get("seconds")) or 0.0
    if kind == "gap":
        return f"App not running for {minutes_seconds(seconds)}"
    if kind == "suspend":
        return f"Laptop slept {minutes_seconds(seconds)}"
    if kind == "clock_jump":
        return (
            f"Wall clock changed by {'+' if seconds >= 0 else '−'}{minutes_seconds(abs(seconds))}"
        )
    return f"Playback fault: {data.get('detail') or data.get('path') or ''}".strip()


def _finite(value: object) -> float | None:
    number = _float(value)
    return number if number is not None and math.isfinite(number) else None


def one_line(text: str, limit: int = 200) -> str:
    """Free text as one clean line, cut at ``limit`` characters."""
    if len(text) <= limit and text.isprintable() and "  " not in text and text == text.strip():
        return text  # the usual note: already one clean line
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _screen(kind: str, data: Mapping[str, Any], reason: str | None) -> str:
    if kind == "dose":
        return f"Dose given: {data.get('mg', '?'):g} mg {data.get('route', '')}"
    if kind == "suspend":
        slept = minutes_seconds(float(data["seconds"]))
        return f"The laptop slept for {slept}; the clock kept counting"
    if kind == "clock_jump":
        delta = float(data["seconds"])
        way = "forward" if delta > 0 else "back"
        by = minutes_seconds(abs(delta))
        return f"The computer's clock was changed {way} by {by}; the dose clock was not"
    if kind == "gap":
        why = "was closed" if data.get("cause") == "app_closed" else "stopped unexpectedly"
        return f"kapsession {why}; reopened after {minutes_seconds(float(data['seconds']))}"
    if kind in MUSIC_KINDS:
        return _screen_music(kind, data)
    if kind == "vitals":
        return _screen_vitals(data)
    if kind == "alert":
        return f"ALERT  {data['message']}"
    if kind == "alert_ack":
        return "Alert acknowledged" + (f": {data['text']}" if data.get("text") else "")
    if kind in (CHECK_DUE, CHECK_LATE, CHECK_MISSED):
        late = " (recorded after a gap)" if data.get("recorded_late") else ""
        planned = t_plus(float(data["due_t"]))
        return f"Check {CHECK_WORDS[kind]}: {data['label']} (planned {planned}){late}"
    if kind == CHECK_SKIPPED:
        return f"Check skipped: {reason}"
    if kind == CHECK_SNOOZED:
        return f"Check snoozed {data['minutes']} min: {reason}"
    if kind == "observation":
        if data.get("scale") == FREE_TEXT:
            return f"Observation: {data['text']}"
        extra = f" · {data['text']}" if data.get("text") else ""
        return f"{scale_name(data['scale'])} {data['value']}: {data['label']}{extra}"
    if kind == "booster_dose":
        lot = f", lot {data['lot']}" if data.get("lot") else ""
        return f"Booster dose: {data['mg']:g} mg {data['route']}{lot}"
    if kind in _QUICK_LABELS:
        return _QUICK_LABELS[kind] + (f": {data['text']}" if data.get("text") else "")
    if kind == "discharge":
        verdict = "passed" if data.get("passed") else "not passed"
        return f"Discharge check {data['total']}/10, {verdict}"
    if kind == "adverse_event":  # issue 15 (monitoring/adverse.py)
        return "Adverse event: " + adverse_line(data)
    if kind == "app_closed":
        return "kapsession was closed (the session kept running)"
    if kind == "session_ended":
        how = "complete" if data.get("complete") else f"ended anyway: {reason}"
        return f"Session ended ({how})"
    return kind.replace("_", " ")


def _alternate(data: Mapping[str, Any]) -> str:
    """ " (softer)" / " (deeper)" for a phase's alternate played on Alt+[ / Alt+] (issue 17)."""
    kind = data.get("alternate")
    return f" ({kind})" if kind in ("softer", "deeper") else ""


def _screen_music(kind: str, data: Mapping[str, Any]) -> str:
    if kind == "phase":
        return f"Music: {str(data['name']).capitalize()} phase"
    if kind == "track_started":
        return f"♪ {data.get('title', '')}{_alternate(data)}"
    if kind == "track_ended":
        at = minutes_seconds(float(data.get("position", 0)))
        return f"♪ {data.get('title', '')} ended at {at}"
    if kind == "skip":
        return f"Music skipped: {data.get('title') or 'silence'}"
    if kind == "volume":
        return f"Music volume {data.get('volume')}"
    if kind == "silence":
        return "Music faded to silence" if data.get("on") else "Music back from silence"
    if kind == "pause":
        return "Music paused" if data.get("on") else "Music resumed"
    name = str(data.get("path", "")).rsplit("/", 1)[-1]  # playback_fault
    return f"Music fault, next track playing: {name}: {data.get('detail', '')}"


def _screen_vitals(data: Mapping[str, Any]) -> str:
    parts = [
        f"BP {data['systolic']}/{data['diastolic']}",
        f"HR {data['heart_rate']}",
        f"SpO2 {data['spo2']} %",
    ]
    if data.get("resp_rate") is not None:
        parts.append(f"RR {data['resp_rate']}")
    if data.get("temperature") is not None:
        parts.append(f"{data['temperature']} °C")
    text = " · ".join(parts)
    if data.get("trend_text"):
        text += f"   ({data['trend_text']} from baseline)"
    return text


def observation_value(data: Mapping[str, Any]) -> str:
    """'4 - Lethargic response ...' for a scale answer; '' for a free-text observation (print)."""
    if data.get("scale") == FREE_TEXT:
        return ""
    value, label = num(data.get("value")) or text_of(data.get("value")), text_of(data.get("label"))
    return f"{value} - {label}" if label and label.lower() != value.lower() else value


def _print_check(kind: str, data: Mapping[str, Any]) -> str:
    label = text_of(data.get("label")) or text_of(data.get("check"))
    text = f"{label}: {CHECK_WORDS[kind]}"
    if isinstance(data.get("due_t"), int | float):
        text += f" (due {t_mark(data['due_t'])})"
    if kind == CHECK_SNOOZED and isinstance(data.get("minutes"), int):
        text += f" for {data['minutes']} min"
    return text


def _print_music(kind: str, data: Mapping[str, Any]) -> str:
    if kind == "phase":
        return f"Phase: {text_of(data.get('name'))}"
    if kind == "track_started":
        return f"Track started: {text_of(data.get('title'))}{_alternate(data)}"
    if kind == "track_ended":
        return f"Track ended: {text_of(data.get('title'))}"
    if kind == "skip":
        return f"Skipped: {text_of(data.get('title')) or 'silence'}"
    if kind == "volume":
        return f"Volume {num(data.get('volume'))}"
    if kind == "silence":
        return "Faded to silence" if data.get("on") else "Music back from silence"
    if kind == "pause":
        return "Music paused" if data.get("on") else "Music resumed"
    return f"Playback fault: {text_of(data.get('detail'))}"  # playback_fault


def _print_other(kind: str, data: Mapping[str, Any]) -> str:
    """An entry without its own section in a summary (booster, gap, discharge, end, ...)."""
    if kind == "booster_dose":
        lot = f", lot {text_of(data.get('lot'))}" if data.get("lot") else ""
        return f"Booster dose {num(data.get('mg'))} mg {text_of(data.get('route'))}{lot}"
    if kind == "gap":
        cause = "the app was closed" if data.get("cause") == "app_closed" else "the app stopped"
        return f"Gap of {minutes_text(_float(data.get('seconds')))}: {cause}"
    if kind == "suspend":
        return f"Laptop slept for {minutes_text(_float(data.get('seconds')))}"
    if kind == "clock_jump":
        return f"Wall clock changed by {num(data.get('seconds'))} s"
    if kind == "adverse_event":  # issue 15 (monitoring/adverse.py)
        return "Adverse event (World SIVA): " + adverse_line(data)
    if kind == "app_closed":
        return "App closed (session kept running)"
    if kind == "discharge":
        passed = "passed" if data.get("passed") else "not passed"
        ride = "ride home confirmed" if data.get("ride_home") else "no ride home confirmed"
        ready = (
            f", ready to leave at {t_mark(data['ready_at_t'])}" if data.get("ready_at_t") else ""
        )
        total = num(data.get("total"))
        return f"Discharge check (modified Aldrete) {total}/10, {passed}; {ride}{ready}"
    if kind == "session_ended":
        return "Session ended" + (" (complete)" if data.get("complete") else "")
    if kind in ("export", "handout"):
        what = text_of(data.get("format")) or text_of(data.get("which"))
        return f"{kind.capitalize()} produced ({what})"
    return kind.replace("_", " ").capitalize()
