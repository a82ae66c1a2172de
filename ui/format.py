"""How times and entries read on screen."""

from __future__ import annotations

from kapsession.store import Event


def t_plus(seconds: float) -> str:
    """T+mm:ss (T+h:mm:ss past an hour); before the dose, T-mm:ss."""
    sign = "+" if seconds >= 0 else "-"
    total = int(abs(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"T{sign}{hours}:{minutes:02d}:{secs:02d}"
    return f"T{sign}{minutes:02d}:{secs:02d}"


def minutes_seconds(seconds: float) -> str:
    total = max(0, int(seconds))
    minutes, secs = divmod(total, 60)
    return f"{minutes}:{secs:02d}"


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
        return f"{str(data['name']).capitalize()} phase"
    if event.kind == "app_closed":
        return "kapsession was closed (the session kept running)"
    if event.kind == "session_ended":
        return "Session ended"
    return event.kind.replace("_", " ")
