"""How times and entries read on screen."""

from __future__ import annotations

from kapsession.session.dose_clock import minutes_seconds as minutes_seconds  # re-exported
from kapsession.session.dose_clock import t_plus as t_plus  # re-exported: the screens' one format
from kapsession.storage.store import Event


def describe_event(event: Event) -> str:
    """One line for a non-note entry in the stream (no clinical free text is invented here)."""
    data = event.data
    if event.kind == "dose":
        return f"Dose given: {data.get('mg', '?'):g} mg {data.get('route', '')}"
    if event.kind == "suspend":
        return f"The laptop slept for {minutes_seconds(float(data['seconds']))}; the clock kept counting"
    if event.kind == "clock_jump":
        delta = float(data["seconds"])
        way = "forward" if delta > 0 else "back"
        return f"The computer's clock was changed {way} by {minutes_seconds(abs(delta))}; the dose clock was not"
    if event.kind == "gap":
        why = "was closed" if data.get("cause") == "app_closed" else "stopped unexpectedly"
        return f"kapsession {why}; reopened after {minutes_seconds(float(data['seconds']))}"
    if event.kind == "phase":
        return f"Music: {str(data['name']).capitalize()} phase"
    if event.kind == "track_started":
        return f"♪ {data.get('title', '')}"
    if event.kind == "track_ended":
        return (
            f"♪ {data.get('title', '')} ended at {minutes_seconds(float(data.get('position', 0)))}"
        )
    if event.kind == "skip":
        return f"Music skipped: {data.get('title') or 'silence'}"
    if event.kind == "volume":
        return f"Music volume {data.get('volume')}"
    if event.kind == "silence":
        return "Music faded to silence" if data.get("on") else "Music back from silence"
    if event.kind == "pause":
        return "Music paused" if data.get("on") else "Music resumed"
    if event.kind == "playback_fault":
        name = str(data.get("path", "")).rsplit("/", 1)[-1]
        return f"Music fault, next track playing: {name}: {data.get('detail', '')}"
    if event.kind == "vitals":
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
    if event.kind == "alert":
        return f"ALERT  {data['message']}"
    if event.kind == "alert_ack":
        return "Alert acknowledged" + (f": {data['text']}" if data.get("text") else "")
    if event.kind in ("check_due", "check_late", "check_missed"):
        word = {"check_due": "due", "check_late": "late", "check_missed": "missed"}[event.kind]
        late = " (recorded after a gap)" if data.get("recorded_late") else ""
        return f"Check {word}: {data['label']} (planned {t_plus(float(data['due_t']))}){late}"
    if event.kind == "check_skipped":
        return f"Check skipped: {event.reason}"
    if event.kind == "check_snoozed":
        return f"Check snoozed {data['minutes']} min: {event.reason}"
    if event.kind == "observation":
        if data.get("scale") == "free_text":
            return f"Observation: {data['text']}"
        name = _SCALE_NAMES.get(str(data["scale"]), str(data["scale"]))
        extra = f" · {data['text']}" if data.get("text") else ""
        return f"{name} {data['value']}: {data['label']}{extra}"
    if event.kind == "booster_dose":
        lot = f", lot {data['lot']}" if data.get("lot") else ""
        return f"Booster dose: {data['mg']:g} mg {data['route']}{lot}"
    if event.kind in _QUICK:
        return _QUICK[event.kind] + (f": {data['text']}" if data.get("text") else "")
    if event.kind == "discharge":
        verdict = "passed" if data.get("passed") else "not passed"
        return f"Discharge check {data['total']}/10, {verdict}"
    if event.kind == "app_closed":
        return "kapsession was closed (the session kept running)"
    if event.kind == "session_ended":
        how = "complete" if data.get("complete") else f"ended anyway: {event.reason}"
        return f"Session ended ({how})"
    return event.kind.replace("_", " ")


_SCALE_NAMES = {
    "moaas": "MOAA/S",
    "rass": "RASS",
    "dissociation": "Dissociation",
    "nausea": "Nausea",
    "emotional_tone": "Emotional tone",
}
_QUICK = {
    "vomiting": "Vomiting",
    "emergence_reaction": "Emergence reaction",
    "touch_offered": "Touch offered",
    "touch_accepted": "Touch accepted",
    "client_spoke": "Client spoke",
}
