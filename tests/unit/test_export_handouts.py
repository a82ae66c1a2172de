"""The client handouts, read back with pdftotext: the client's own words and only what they
chose to share; never vitals, doses, ratings or the therapist's notes."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kapsession.clock import FakeClock
from kapsession.exports import handouts, timeline_json
from kapsession.exports.summary import WORKSHEET_QUESTIONS
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.store import Store

from . import rich_session as rs
from .exporthelpers import flowing, pdf_pages, pdftotext

# What must never reach a client's sheet: vitals, the dose, scale ratings, alerts, notes.
CLINICAL = (
    "181",
    "mmHg",
    "SpO2",
    "200 mg",
    "MOAA/S",
    "Lethargic",
    "Systolic",
    "alert",
    rs.QUOTE,
    rs.AMENDED_ORIGINAL,
    "Long reflection",
    "not a heading",
    "Losing control",  # the concerns noted at preparation stay with the therapist
    "Integration appointment in 3 days",  # follow-up items are the therapist's
)


@pytest.fixture
def doc(tmp_path: Path) -> Iterator[dict[str, Any]]:
    built = rs.build(tmp_path / "data")
    yield timeline_json.timeline(built.store, built.session_id, built.clock.now())
    built.store.close()


def test_take_home_sheet_holds_the_questions_and_only_shared_answers(
    doc: dict[str, Any], tmp_path: Path
) -> None:
    text = flowing(pdftotext(handouts.integration(doc), tmp_path))
    for _, question in WORKSHEET_QUESTIONS:
        assert question in text
    assert rs.SHARED_ANSWER in text  # "experienced" is shared
    assert rs.NEXT_STEP in text  # "next_step" is shared
    assert rs.UNSHARED_ANSWER not in text
    assert rs.INSIGHT not in text  # the insight answer was not shared
    assert "Less bracing" not in text and "I can choose softness." not in text
    assert "first draft" not in text  # the current worksheet, not an old version
    assert rs.PREPARATION["intention"] in text  # the client's own intention, intact
    for word in CLINICAL:
        assert word not in text, word


def test_take_home_sheet_leaves_room_to_write_under_every_question(
    doc: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "take-home.pdf"
    path.write_bytes(handouts.integration(doc))
    boxes = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    page = next(p for p in boxes.split("<page ") if ">different?<" in p)
    words = [(w, float(y)) for y, w in re.findall(r'yMin="([\d.]+)"[^>]*>([^<]*)</word>', page)]
    # "What felt different?" is not shared: nothing printed under it, then about 45 mm of
    # drawn lines (5 x 9 mm) before the next question.
    top = next(y for w, y in words if w == "different?")
    below = [w for w, y in words if top < y < top + 200]
    assert below[:2] == ["What", "insight"]
    after = next(y for w, y in words if w == "insight")
    assert after - top > 45 * 72 / 25.4


def test_preparation_sheet_holds_the_intention_and_practices(
    doc: dict[str, Any], tmp_path: Path
) -> None:
    pages = pdf_pages(handouts.preparation(doc), tmp_path)
    text = flowing("\f".join(pages))
    assert "Preparing for your session" in text
    assert rs.PREPARATION["intention"] in text
    for heading in ("What to expect", "Simple grounding practices", "Setting an intention"):
        assert heading in text
    assert "count of four" in text and "Five senses" in text
    for word in CLINICAL:
        assert word not in text, word
    assert "REHEARSAL" not in text


def test_preparation_sheet_falls_back_to_the_planned_intention(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "data")
    service = SessionService(store, FakeClock(rs.T0), rs.TZ, rs.AUTHOR)
    record = service.plan(
        SessionPlan("C-2", "KAP", "sublingual", 150, 60, "To listen to what my body knows 🌿")
    )
    doc = timeline_json.timeline(store, record.id, rs.T0)
    store.close()
    text = flowing(pdftotext(handouts.preparation(doc), tmp_path))
    assert "To listen to what my body knows" in text
    # Before any worksheet, the take-home sheet still asks every question, with space.
    take_home = flowing(pdftotext(handouts.integration(doc), tmp_path))
    assert all(q in take_home for _, q in WORKSHEET_QUESTIONS)


def test_rehearsal_handouts_are_marked_on_every_page(tmp_path: Path) -> None:
    built = rs.build(tmp_path / "data", rehearsal=True)
    doc = timeline_json.timeline(built.store, built.session_id, built.clock.now())
    built.store.close()
    for which in handouts.WHICH:
        pages = pdf_pages(handouts.render(doc, which), tmp_path)
        assert pages and all("REHEARSAL" in p for p in pages)
