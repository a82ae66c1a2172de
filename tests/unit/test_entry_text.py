"""One way to say an entry: every kind in every style, one T+ rule, one list of scale names and
one set of kind groups (kapsession/session/entry_text.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kapsession.clock import FakeClock
from kapsession.exports import markdown_summary, pdf_summary, timeline_json
from kapsession.integration.review import LANES, build_review
from kapsession.monitoring import checks
from kapsession.monitoring.observations import QUICK_EVENT_KINDS, SCALES
from kapsession.music.music_entries import MUSIC_KINDS
from kapsession.session import entry_text
from kapsession.session.dose_clock import t_plus
from kapsession.session.entry_text import CHECK_KINDS, Style, describe, scale_name, t_mark
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.store import Store

from . import rich_session as rs
from .exporthelpers import flowing, pdftotext

TRACK = {"title": "Tide", "path": "/music/tide.flac", "position": 754.0}
# kind -> (data, reason, {style: words})
SAID: dict[str, tuple[dict[str, Any], str | None, dict[str, str]]] = {
    "dose": (
        {"mg": 200.0, "route": "sublingual"},
        None,
        {"screen": "Dose given: 200 mg sublingual", "print": "Dose"},
    ),
    "suspend": (
        {"seconds": 125.0},
        None,
        {
            "screen": "The laptop slept for 2:05; the clock kept counting",
            "print": "Laptop slept for 2 min 5 s",
            "marker": "Laptop slept 2:05",
        },
    ),
    "clock_jump": (
        {"seconds": -90.0},
        None,
        {
            "screen": "The computer's clock was changed back by 1:30; the dose clock was not",
            "print": "Wall clock changed by -90 s",
            "marker": "Wall clock changed by −1:30",
        },
    ),
    "gap": (
        {"seconds": 120.0, "cause": "app_closed"},
        None,
        {
            "screen": "kapsession was closed; reopened after 2:00",
            "print": "Gap of 2 min: the app was closed",
            "marker": "App not running for 2:00",
        },
    ),
    "phase": (
        {"name": "onset"},
        None,
        {"screen": "Music: Onset phase", "print": "Phase: onset", "marker": "Onset phase"},
    ),
    "track_started": (
        TRACK,
        None,
        {
            "screen": "♪ Tide",
            "review": "♪ Tide started",
            "print": "Track started: Tide",
            "marker": "♪ Tide",
        },
    ),
    "track_ended": (
        TRACK,
        None,
        {"screen": "♪ Tide ended at 12:34", "review": "♪ Tide ended", "print": "Track ended: Tide"},
    ),
    "skip": (
        {"title": ""},
        None,
        {"screen": "Music skipped: silence", "print": "Skipped: silence"},
    ),
    "volume": ({"volume": 60}, None, {"screen": "Music volume 60", "print": "Volume 60"}),
    "silence": (
        {"on": True},
        None,
        {"screen": "Music faded to silence", "print": "Faded to silence"},
    ),
    "pause": ({"on": False}, None, {"screen": "Music resumed", "print": "Music resumed"}),
    "playback_fault": (
        {"path": "/music/door.ogg", "detail": "cannot decode"},
        None,
        {
            "screen": "Music fault, next track playing: door.ogg: cannot decode",
            "review": "Playback fault: cannot decode (/music/door.ogg)",
            "print": "Playback fault: cannot decode",
            "marker": "Playback fault: cannot decode",
        },
    ),
    "vitals": (
        {
            "systolic": 128,
            "diastolic": 82,
            "heart_rate": 76,
            "spo2": 98,
            "resp_rate": 14,
            "temperature": 36.8,
            "trend_text": "BP +8",
        },
        None,
        {
            "screen": "BP 128/82 · HR 76 · SpO2 98 % · RR 14 · 36.8 °C   (BP +8 from baseline)",
            "print": "Vitals",
        },
    ),
    "alert": (
        {"message": "Systolic 181 above 180"},
        None,
        {
            "screen": "ALERT  Systolic 181 above 180",
            "print": "Alert",
            "marker": "Systolic 181 above 180",
        },
    ),
    "alert_ack": (
        {"alert": 3, "text": "repeat in 5 min"},
        None,
        {"screen": "Alert acknowledged: repeat in 5 min", "print": "Alert ack"},
    ),
    "check_due": (
        {"label": "Monitoring", "due_t": 1799.6},
        None,
        {
            "screen": "Check due: Monitoring (planned T+29:59)",
            "print": "Monitoring: due (due T+29:59)",
            "marker": "Monitoring due",
        },
    ),
    "check_late": (
        {"label": "Monitoring", "due_t": 1800.0, "recorded_late": True},
        None,
        {
            "screen": "Check late: Monitoring (planned T+30:00) (recorded after a gap)",
            "print": "Monitoring: late (due T+30:00)",
            "marker": "Monitoring late",
        },
    ),
    "check_missed": (
        {"label": "Monitoring", "due_t": 3600.0},
        None,
        {
            "screen": "Check missed: Monitoring (planned T+1:00:00)",
            "print": "Monitoring: missed (due T+1:00:00)",
            "marker": "Monitoring missed",
        },
    ),
    "check_skipped": (
        {"check": "monitoring"},
        "client asleep",
        {
            "screen": "Check skipped: client asleep",
            "print": "monitoring: skipped",
            "marker": "monitoring skipped",
        },
    ),
    "check_snoozed": (
        {"check": "monitoring", "minutes": 5},
        "talking",
        {
            "screen": "Check snoozed 5 min: talking",
            "print": "monitoring: snoozed for 5 min",
            "marker": "monitoring snoozed",
        },
    ),
    "observation": (
        {"scale": "moaas", "value": 4, "label": "Lethargic response", "text": "slow"},
        None,
        {
            "screen": "MOAA/S 4: Lethargic response · slow",
            "print": "Observation",
            "marker": "MOAA/S 4: Lethargic response",
        },
    ),
    "booster_dose": (
        {"mg": 25.0, "route": "sublingual", "lot": "L-9"},
        None,
        {
            "screen": "Booster dose: 25 mg sublingual, lot L-9",
            "print": "Booster dose 25 mg sublingual, lot L-9",
        },
    ),
    "vomiting": ({"text": "once"}, None, {"screen": "Vomiting: once", "print": "Vomiting"}),
    "client_spoke": ({}, None, {"screen": "Client spoke", "print": "Client spoke"}),
    "discharge": (
        {"total": 9, "passed": True, "ride_home": True, "ready_at_t": 4259.9},
        None,
        {
            "screen": "Discharge check 9/10, passed",
            "print": "Discharge check (modified Aldrete) 9/10, passed; ride home confirmed, "
            "ready to leave at T+1:10:59",
        },
    ),
    "app_closed": (
        {},
        None,
        {
            "screen": "kapsession was closed (the session kept running)",
            "print": "App closed (session kept running)",
        },
    ),
    "session_ended": (
        {"complete": False},
        "client left early",
        {"screen": "Session ended (ended anyway: client left early)", "print": "Session ended"},
    ),
    "export": ({"format": "pdf"}, None, {"screen": "export", "print": "Export produced (pdf)"}),
    "worksheet": (
        {},
        None,
        {"screen": "worksheet", "review": "Integration worksheet saved", "print": "Worksheet"},
    ),
    "preparation": (
        {},
        None,
        {"screen": "preparation", "review": "Preparation saved", "print": "Preparation"},
    ),
}


@pytest.mark.parametrize("kind", sorted(SAID))
@pytest.mark.parametrize("style", ["screen", "review", "marker", "print"])
def test_every_kind_in_every_style(kind: str, style: Style) -> None:
    data, reason, words = SAID[kind]
    # The review's list says what the stream says, except where it says more; a marker without
    # words of its own is named by its kind.
    fallback = {"review": words["screen"], "marker": kind.replace("_", " ").capitalize()}
    expected = words.get(style) or fallback.get(style)
    if expected is None:
        pytest.skip(f"{kind} has its own section in a printed summary")
    assert describe(kind, data, reason, style=style) == expected


def test_a_free_text_observation_marker_is_its_text_on_one_line() -> None:
    data = {"scale": "free_text", "text": "  eyes   closed\nsmiling "}
    assert describe("observation", data, style="marker") == "eyes closed smiling"
    assert describe("observation", data, style="screen") == f"Observation: {data['text']}"


def test_the_review_never_fails_on_an_old_entry_missing_a_field() -> None:
    assert describe("vitals", {}, style="review") == "vitals"
    assert describe("check_late", {"label": "x"}, style="review") == "check late"


def test_t_plus_floors_like_a_clock_everywhere() -> None:
    assert t_plus(59.7) == "T+00:59"
    assert t_mark(59.7) == "T+00:59"
    assert t_plus(3599.99) == "T+59:59"
    assert t_plus(3600) == "T+1:00:00"
    assert t_plus(-30.2) == "T-00:30"
    assert t_mark(None) == "-" and t_mark(True) == "-"


def test_a_length_floors_like_the_clock_on_the_stream_and_on_the_timeline() -> None:
    slept = {"seconds": 125.7}
    assert "2:05" in describe("suspend", slept, style="screen")
    assert describe("suspend", slept, style="marker") == "Laptop slept 2:05"


def test_one_list_of_scale_names_and_one_set_of_kind_groups() -> None:
    assert {scale_name(s) for s in SCALES} == {s.name for s in SCALES.values()}
    assert scale_name("free_text") == "Observation" and scale_name("unknown") == "unknown"
    assert CHECK_KINDS == (
        checks.CHECK_DUE,
        checks.CHECK_LATE,
        checks.CHECK_MISSED,
        checks.CHECK_SKIPPED,
        checks.CHECK_SNOOZED,
    )
    assert entry_text.MUSIC_KINDS is MUSIC_KINDS
    assert entry_text.QUICK_KINDS == QUICK_EVENT_KINDS
    assert "faults" in LANES
    assert entry_text.scale_in_sentence("moaas") == "MOAA/S"
    assert entry_text.scale_in_sentence("emotional_tone") == "emotional tone"


def test_an_entry_at_59_7_seconds_prints_t_plus_00_59_in_every_output(tmp_path: Path) -> None:
    clock = FakeClock(rs.T0)
    store = Store.open(tmp_path / "data")
    service = SessionService(store, clock, rs.TZ, rs.AUTHOR)
    record = service.plan(SessionPlan("C-5", "KAP", "sublingual", 100.0, 45))
    live = service.give_dose(record.id)
    clock.advance(59.7)
    note = live.add_note("the room feels warm")
    assert note.t == pytest.approx(59.7)
    assert t_plus(note.t or 0) == "T+00:59"  # the live stream and the review's list of entries
    (marker,) = [m for m in build_review(store, record.id).markers if m.seq == note.seq]
    assert t_plus(marker.t) == "T+00:59"  # the review's timeline
    doc = timeline_json.timeline(store, record.id, rs.T0)
    store.close()
    md = markdown_summary.render(doc)
    assert "T+00:59" in md and "T+1:00" not in md and "T+01:00" not in md
    text = flowing(pdftotext(pdf_summary.render(doc), tmp_path))
    assert "T+00:59" in text and "T+1:00" not in text and "T+01:00" not in text


def test_a_kind_has_one_title() -> None:
    assert entry_text.kind_title("check_late") == "Check late"
    assert entry_text.kind_title("session_ended") == "End of session"
    assert entry_text.kind_title("track_started") == "Track"
    assert entry_text.kind_title("touch_offered") == "Touch offered"


def test_a_note_reads_with_chips_on_the_stream_and_tag_names_in_the_review() -> None:
    assert entry_text.note_line("warm", ("quote", "body")) == "[Quote] [Body] warm"
    long = "word " * 200
    shown = entry_text.note_line(long, ())
    assert shown.startswith(long[: entry_text.STREAM_PREVIEW_CHARS])
    assert shown.endswith(" … (1,000 characters)")
    review = entry_text.note_line("two\n  lines", ["quote"], "review", amended=True)
    assert review == "Note: [quote] two lines (amended)"
    assert entry_text.note_line("x", [], "review") == "Note: x"
    assert (
        entry_text.amendment_line(7, "typo", "warm\nhands") == "Amendment of #7 (typo): warm hands"
    )


def test_a_softer_or_deeper_track_says_so_wherever_it_is_shown() -> None:
    """Issue 17: a phase's alternate played on Alt+[ / Alt+] is named as one on the screen, in
    the review and in print; an ordinary start is unchanged."""
    from kapsession.session.entry_text import describe

    plain = {"title": "Bells", "path": "/a.ogg", "loudness_lufs": -20.0, "gain_db": -3.0}
    softer = {**plain, "alternate": "softer"}
    assert describe("track_started", plain) == "♪ Bells"
    assert describe("track_started", softer) == "♪ Bells (softer)"
    assert describe("track_started", softer, style="review") == "♪ Bells started (softer)"
    assert describe("track_started", softer, style="print") == "Track started: Bells (softer)"
    assert describe("track_started", {**plain, "alternate": "odd"}) == "♪ Bells"
