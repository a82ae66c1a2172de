"""Synthetic sessions for the review screen: a rich one that has every kind of entry (for the
widget tests and the screenshots) and a 4-hour one with 10,000 entries (for the benchmark).

Everything goes through the real core (SessionService, LiveSession, Store.append) on whatever
store is handed in; the music entries use the arc player's documented shapes. No real client
data: codes, notes and tracks are made up.

    PYTHONPATH=. python bench/review_data.py DATA_DIR     # fills DATA_DIR with a demo course
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kapsession.clock import FakeClock
from kapsession.monitoring.protocol import builtin_protocols
from kapsession.session.live import LiveSession, SessionPlan, SessionService
from kapsession.storage.store import Store

TZ = "Europe/Berlin"
AUTHOR = "Dr. Demo"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

TRACKS = ("Low Tide", "Glass Harmonica", "Slow Cello", "Drone in D", "Open Field", "Return")
NOTES = (
    "q: I can feel the floor holding me",
    "b: breathing slower, hands open",
    "e: tears, then a long exhale",
    "i: a door in a white wall, light behind it",
    "nf: it was never mine to carry",
    "q: the music is like being rocked",
    "b: jaw relaxed, shoulders dropped",
    "f: wants to talk about her father next time",
)


def _music(live: LiveSession, kind: str, **data: Any) -> None:
    live.store.append(
        live.record.id, kind, live.clock.now(), live.tz, round(live.elapsed(), 3), data
    )


def service(store: Store, clock: FakeClock) -> SessionService:
    return SessionService(store, clock, TZ, AUTHOR, builtin_protocols())


def rich_session(
    store: Store, clock: FakeClock, client: str = "C-031", mg: float = 100.0, seed: int = 1
) -> LiveSession:
    """A 75-minute lozenge session with vitals every 15 min, an alert and its acknowledgement,
    observations, notes (one amended), a skipped check, music by phase and track, a playback
    fault and a laptop sleep; ended with a reason."""
    rnd = random.Random(seed)
    live = service(store, clock).give_dose(
        service(store, clock)
        .plan(
            SessionPlan(client, "sublingual", "sublingual", mg, 75, "Meet the fear with curiosity")
        )
        .id
    )
    phases = (("settling", 0), ("onset", 15), ("peak", 30), ("return", 55), ("reflection", 75))
    track = 0

    def start_track(phase: str) -> None:
        nonlocal track
        title = TRACKS[track % len(TRACKS)]
        _music(
            live,
            "track_started",
            title=title,
            path=f"/music/{track}.flac",
            phase=phase,
            position=0.0,
            item=1,
        )
        track += 1

    def end_track() -> None:
        title = TRACKS[(track - 1) % len(TRACKS)]
        _music(live, "track_ended", title=title, path=f"/music/{track - 1}.flac", position=0.0)

    note_seq = None
    for minute in range(0, 91):
        for name, at in phases:
            if minute == at:
                _music(live, "phase", name=name, begins_t=at * 60.0)
                if minute:
                    end_track()
                start_track(name)
        if minute and minute % 8 == 0 and minute not in [p[1] for p in phases]:
            end_track()
            start_track(next(n for n, at in reversed(phases) if at <= minute))
        live.evaluate_checks()
        if minute % 15 == 0 and minute != 30:
            sys_bp = 122 + (63 if minute == 45 else rnd.randint(-6, 14))
            events = live.add_vitals(
                f"{sys_bp}/{78 + rnd.randint(0, 12)} {68 + rnd.randint(0, 20)} "
                f"{96 + rnd.randint(-3, 2)} {14 + rnd.randint(-2, 3)}"
            )
            for alert in [e for e in events if e.kind == "alert"]:
                clock.advance(40)
                live.acknowledge_alert(alert.seq, "rechecked after 5 min, settling")
            live.add_observation("moaas", 5 if minute in (0, 75, 90) else rnd.choice((3, 4)))
            if minute:
                live.add_observation("dissociation", 0 if minute > 70 else rnd.choice((1, 2, 3)))
                live.add_observation("nausea", rnd.choice((0, 0, 1)))
        if minute == 34:
            late = [e for e in live.events() if e.kind == "check_late"]
            if late:
                live.skip_check(late[-1].data["check"], "client deep in the experience")
        if minute in (9, 22, 27, 41, 52, 63, 80):
            note = live.add_note(NOTES[(minute // 7) % len(NOTES)])
            if minute == 22:
                note_seq = note.seq
        if minute == 24 and note_seq is not None:
            live.amend_note(
                note_seq, "the floor is holding me, and I let it", ("quote",), "completed the quote"
            )
        if minute == 38:
            _music(live, "playback_fault", path=f"/music/{track - 1}.flac", detail="ended early")
        if minute == 47:
            live.quick_event("client_spoke", text="asked for a blanket")
        if minute == 58:
            clock.suspend(150)
            live.tick()
        clock.advance(60)
    live.end("demo session for review")
    return live


def demo_course(store: Store, clock: FakeClock, client: str = "C-031") -> list[LiveSession]:
    """Three sessions a week apart for one client, the first with a worksheet."""
    sessions = []
    for i, mg in enumerate((100.0, 125.0, 150.0)):
        live = rich_session(store, clock, client, mg, seed=i + 1)
        if i == 0:
            store.append(
                live.record.id,
                "worksheet",
                clock.now(),
                TZ,
                None,
                {
                    "answers": {
                        "experienced": "being held",
                        "different": "less bracing",
                        "insight": "it was never mine to carry",
                        "meaning": "",
                        "next_step": "a ten-minute walk each morning",
                    },
                    "follow_up": [],
                    "shared": ["next_step"],
                    "from_notes": [],
                },
            )
        sessions.append(live)
        clock.advance(7 * 86400)
    return sessions


def big_session(store: Store, clock: FakeClock, entries: int = 10_000, seed: int = 7) -> int:
    """A 4-hour session with ``entries`` timeline entries: vitals every minute, a due check and
    observations every 15 minutes, music by phase and track, and notes for the rest, in one
    transaction through Store.append (the LiveSession methods re-read the whole timeline for
    every vitals entry, which makes 10,000 entries slow to write). Returns the session id."""
    rnd = random.Random(seed)
    svc = service(store, clock)
    live = svc.give_dose(
        svc.plan(SessionPlan("C-BENCH", "sublingual", "sublingual", 200.0, 120, "bench")).id
    )
    minutes = 240
    per_minute_fixed = 1 + 3 / 15 + 1 / 40 + 2 / 4  # vitals, check+2 obs, phase, track start/end
    spare = entries - 2 - len(live.events()) - minutes * per_minute_fixed  # 2: alert, end
    notes_per_minute = max(0.0, spare / minutes)
    owed = 0.0
    track = 0
    sid = live.record.id

    def put(kind: str, t: float, data: dict[str, Any]) -> int:
        at = T0 + (clock.now() - T0)
        return store.append(sid, kind, at, TZ, round(t, 3), data, AUTHOR).seq

    with store.db.atomic():
        for minute in range(minutes):
            t = minute * 60.0
            clock.advance(60)
            if minute % 40 == 0:
                put("phase", t, {"name": f"phase {minute // 40 + 1}", "begins_t": t})
            if minute % 4 == 0:
                if track:
                    put(
                        "track_ended",
                        t,
                        {"title": f"Track {track}", "path": f"/m/{track}.flac", "position": 240.0},
                    )
                track += 1
                put(
                    "track_started",
                    t,
                    {
                        "title": f"Track {track}",
                        "path": f"/m/{track}.flac",
                        "phase": "",
                        "position": 0.0,
                        "item": 1,
                    },
                )
            if minute % 15 == 0:
                put("check_due", t, {"check": f"c{minute}", "label": "Monitoring", "due_t": t})
                put(
                    "observation",
                    t + 5,
                    {"scale": "moaas", "value": rnd.choice((3, 4, 5)), "label": "synthetic"},
                )
                put(
                    "observation",
                    t + 6,
                    {
                        "scale": "dissociation",
                        "value": rnd.choice((0, 1, 2, 3)),
                        "label": "synthetic",
                    },
                )
            systolic = 118 + rnd.randint(-10, 30) + (50 if minute == 100 else 0)
            put(
                "vitals",
                t + 10,
                {
                    "systolic": systolic,
                    "diastolic": 76 + rnd.randint(-6, 14),
                    "heart_rate": 70 + rnd.randint(-8, 30),
                    "spo2": 96 + rnd.randint(-4, 3),
                    "resp_rate": None,
                    "temperature": None,
                },
            )
            if minute == 100:
                put(
                    "alert",
                    t + 10,
                    {
                        "field": "systolic",
                        "value": systolic,
                        "low": 85,
                        "high": 180,
                        "source": "synthetic",
                        "message": f"Systolic {systolic} mm Hg is above 180 (synthetic)",
                    },
                )
            owed += notes_per_minute
            n = 0
            while owed >= 1:
                owed -= 1
                n += 1
                put("note", t + 12 + n, {"text": rnd.choice(NOTES) + f" ({minute})", "tags": []})
        while len(store.events(sid)) < entries - 1:
            put("note", minutes * 60.0, {"text": "last words", "tags": []})
    live.end("benchmark")
    return sid


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else Path("review-demo")
    store = Store.open(folder)
    try:
        clock = FakeClock(T0)
        demo_course(store, clock)
    finally:
        store.close()
    print(f"demo course written to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
