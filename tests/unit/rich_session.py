"""A session rich in every kind of timeline entry, built with the real LiveSession methods on a
real SQLite file: the material the export tests check every format against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kapsession.clock import FakeClock
from kapsession.monitoring.protocol import builtin_protocols
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TZ = "Europe/Berlin"
AUTHOR = "Dr. Test"
CLINICIAN, CLINICIAN_PIN = "A. Rivera", "2468"

# Text that breaks naive Markdown, HTML, PDF markup and tables if it is not escaped.
HOSTILE = (
    "# not a heading | a pipe | *not bold* _nor this_ `code` <b>no</b> <script>alert(1)</script> "
    "&amp; [link](http://x) ![img](y) \\ backslash ~~strike~~ 1. not a list\n"
    "- not a bullet\n> not a quote\n    not code\n=== nor a setext line\n"
    "שלום עולם مرحبا 😀🌊 Ünïcödé ☯"
)
LONG_NOTE = "Long reflection, word after word. " * 3_000  # ~100 kB
QUOTE = "I can see the ocean, and it is breathing with me"
AMENDED_ORIGINAL = "hands tingling, cold"
AMENDED_TEXT = "hands tingling, warm (corrected)"
INSIGHT = "I don't have to carry my father's anger"
PREPARATION: dict[str, Any] = {
    "intention": "Meet the fear with curiosity, & stay <kind> to myself.",
    "hopes": "To feel at home in my body.",
    "patterns": "Bracing for criticism.",
    "concerns": "Losing control; nausea.",
    "screening": {
        "medical_oversight": True,
        "prescriber": "Dr. Prescriber (synthetic)",
        "contraindications_confirmed": True,
        "consent_signed": True,
        "ride_home": True,
        "fasting": True,
    },
    "setting": {
        "room_ready": True,
        "eyeshades": True,
        "headphones": True,
        "music_preferences": "no vocals, ocean sounds welcome",
    },
    "grounding_done": True,
}
SHARED_ANSWER = "The ocean was breathing with me; I let it hold me."
NEXT_STEP = "Walk by the river on Sunday morning | without my phone."
UNSHARED_ANSWER = "Private: the memory of the kitchen in 1998."
WORKSHEET_V1: dict[str, Any] = {
    "answers": {
        "experienced": "first draft of what I experienced",
        "different": "",
        "insight": INSIGHT,
        "meaning": "",
        "next_step": "",
    },
    "follow_up": ["Book the integration appointment"],
    "shared": ["experienced"],
    "from_notes": [],
}
PASSING = {
    "scores": {"activity": 2, "respiration": 2, "circulation": 2, "consciousness": 2, "spo2": 1},
    "ride_home": True,
    "ready_at_t": 70 * 60.0,
}


@dataclass
class Rich:
    store: Store
    session_id: int
    folder: Path
    seqs: dict[str, int]
    clock: FakeClock


def build(
    folder: Path, rehearsal: bool = False, note: str | None = None, charting: bool = False
) -> Rich:
    """Plan, prepare, dose, run 75 minutes with every kind of entry, end with discharge, then
    two worksheet versions. Returns the open store (the caller closes it). `charting`: the
    clinician CLINICIAN (a therapist) charts every entry."""
    clock = FakeClock(T0)
    store = Store.open(folder)
    if charting:
        from kapsession.storage import clinicians

        who = clinicians.add(store, CLINICIAN, "therapist", "LCSW", CLINICIAN_PIN, clock.now())
        clinicians.charting_as(store, who)
    service = SessionService(store, clock, TZ, AUTHOR, builtin_protocols())
    plan = SessionPlan("C-017", "sublingual", "sublingual", 200.0, 75, "Meet the fear")
    if rehearsal:
        record = service.plan_rehearsal(time_scale=1.0, clock_origin=clock.now())
    else:
        record = service.plan(plan)
    sid = record.id
    seqs: dict[str, int] = {}
    seqs["prep"] = store.append(sid, "preparation", clock.now(), TZ, None, PREPARATION, AUTHOR).seq
    clock.advance(300)
    live = service.give_dose(sid)
    live.evaluate_checks()
    live.add_vitals("120/80 70 98 14 36.6")
    live.add_observation("moaas", 5)
    live.add_observation("nausea", 0)
    live.add_observation(
        "emotional_tone", "calm", text="smiling | settled, <calm>\nbreathing slowly"
    )

    def music(kind: str, data: dict[str, Any], t: float) -> None:
        store.append(sid, kind, clock.now(), TZ, t, data, AUTHOR)

    music("phase", {"name": "settling", "begins_t": 0.0}, 0.0)
    track = {"title": "Tide & <Breath>", "path": "/music/tide.flac", "phase": "settling"}
    music("track_started", {**track, "position": 0.0, "item": 1}, 0.5)
    clock.advance(240)
    seqs["hostile"] = live.add_note(note if note is not None else HOSTILE).seq
    clock.advance(360)
    seqs["amended"] = live.add_note("b: " + AMENDED_ORIGINAL).seq
    music("volume", {"volume": 60}, 600.0)
    clock.advance(300)  # 15 min
    live.evaluate_checks()
    music("track_ended", {**track, "position": 900.0}, 900.0)
    music("phase", {"name": "onset", "begins_t": 900.0}, 900.0)
    music(
        "track_started",
        {
            "title": "Blue Door",
            "path": "/music/door.ogg",
            "phase": "onset",
            "position": 0.0,
            "item": 1,
        },
        900.0,
    )
    _vitals, alert = live.add_vitals("181/84 77 97 14 36.8")
    seqs["alert"] = alert.seq
    live.acknowledge_alert(alert.seq, "repeat in 5 min")
    live.add_observation("moaas", 4)
    live.add_observation("dissociation", 2)
    clock.advance(180)
    seqs["quote"] = live.add_note("qf: " + QUOTE).seq
    seqs["long"] = live.add_note(LONG_NOTE).seq
    live.quick_event("booster_dose", mg=50, route="sublingual", lot="L-22")
    live.add_observation_text("breathing slow & even")
    # The 30-minute check is let go: due, then late, then missed.
    clock.advance(12 * 60)  # 30 min
    live.evaluate_checks()
    music("silence", {"on": True}, 1800.0)
    clock.advance(6 * 60)
    live.evaluate_checks()  # late
    seqs["insight"] = live.add_note("nf: " + INSIGHT).seq
    music("silence", {"on": False}, 2200.0)
    clock.advance(10 * 60)
    live.evaluate_checks()  # missed
    live.snooze_check("c45-monitoring", 5, "client speaking, do not interrupt")
    # The app is closed and reopened: a gap on the timeline.
    live.close()
    clock.advance(120)
    resumed = SessionService(store, clock, TZ, AUTHOR, builtin_protocols()).resume()
    assert resumed is not None
    live = resumed
    live.evaluate_checks()
    seqs["amendment"] = live.amend_note(
        seqs["amended"], AMENDED_TEXT, ["body"], "misheard: warm, not cold"
    ).seq
    music("skip", {"title": "Blue Door", "path": "/music/door.ogg"}, 2900.0)
    music("phase", {"name": "return", "begins_t": 3300.0}, 3300.0)
    clock.advance(3300 - live.elapsed())
    live.evaluate_checks()
    live.add_vitals("124/78 68 99")
    live.add_observation("moaas", 5)
    clock.advance(3700 - live.elapsed())
    live.evaluate_checks()
    live.skip_check("c60-monitoring", "client asleep, breathing calmly")
    clock.advance(4500 - live.elapsed())
    live.evaluate_checks()
    live.add_vitals("118/76 66 98 12 36.7")
    for scale, value in (("moaas", 5), ("dissociation", 0), ("nausea", 0)):
        live.add_observation(scale, value)
    live.add_observation("emotional_tone", "peaceful")
    music(
        "track_ended", {"title": "Blue Door", "path": "/music/door.ogg", "position": 30.0}, 4500.0
    )
    live.end(discharge=PASSING)
    clock.advance(3600)
    v1 = store.append(sid, "worksheet", clock.now(), TZ, None, WORKSHEET_V1, AUTHOR)
    worksheet_v2 = {
        "answers": {
            "experienced": SHARED_ANSWER,
            "different": "Less bracing; my shoulders dropped.",
            "insight": INSIGHT + " — " + UNSHARED_ANSWER,
            "meaning": "I can choose softness.",
            "next_step": NEXT_STEP,
        },
        "follow_up": ["Integration appointment in 3 days", "Check sleep <2 weeks>"],
        "shared": ["experienced", "next_step"],
        "from_notes": [seqs["quote"], seqs["insight"]],
    }
    clock.advance(600)
    seqs["worksheet_v1"] = v1.seq
    seqs["worksheet"] = store.append(
        sid, "worksheet", clock.now(), TZ, None, worksheet_v2, AUTHOR, amends=v1.seq
    ).seq
    return Rich(store, sid, folder, seqs, clock)
