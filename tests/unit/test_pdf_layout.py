"""The PDF summary lays a session's notes out as runs (pdf_base.TextRun: many notes in one
flowable) for speed; what a reader sees must be what the notes laid out one by one give: every
word on the same page at the same place. Checked with poppler's word boxes (pdftotext -bbox)."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, Paragraph, Spacer

from kapsession.exports import pdf_base as pb

WORDS = [
    "the",
    "floor",
    "holds",
    "me",
    "breathing",
    "slower",
    "hands",
    "open",
    "a",
    "door",
    "in",
    "a",
    "white",
    "wall",
    "light",
]


def _story(seed: int, note: ParagraphStyle, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """A heading, then notes of every length (one word to several pages, line breaks, a
    word too long for a line, empty), with an amendment-like paragraph now and then."""
    rng = random.Random(seed)
    story: list[Flowable] = [Paragraph("Notes", st["h2"])]
    for i in range(260):
        shape = rng.random()
        if shape < 0.6:
            text = " ".join(rng.choices(WORDS, k=rng.randint(1, 12)))
        elif shape < 0.85:
            text = " ".join(rng.choices(WORDS, k=rng.randint(30, 120)))
        elif shape < 0.9:
            text = "first line\nsecond line\n\n" + "x" * rng.randint(90, 400)
        elif shape < 0.93:
            text = " ".join(rng.choices(WORDS, k=1500))  # over two pages
        else:
            text = ""
        story += pb.block(text, note, head=f"T+{i:02d}:00 (10:{i % 60:02d})")
        if rng.random() < 0.05:
            story.append(Paragraph("<i>Amended</i>", st["small"]))
            story += pb.paragraphs(" ".join(rng.choices(WORDS, k=40)), st["amend"])
        if rng.random() < 0.02:
            story.append(Spacer(1, rng.choice([3.0, 17.5])))
    return story


def _boxes(pdf: bytes, folder: Path) -> list[list[tuple[str, float, float]]]:
    """Per page, each word with its left and top edge as pdftotext -bbox reports them (in
    points; positions written by different routes differ in the PDF's fifth decimal)."""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: install poppler-utils (scripts/bootstrap.sh test)")
    path = folder / "layout.pdf"
    path.write_bytes(pdf)
    html = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-bbox", str(path), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    word = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>')
    return [
        [(text, float(x), float(y)) for x, y, text in word.findall(page)]
        for page in html.split("<page ")[1:]
    ]


def _same_places(
    got: list[list[tuple[str, float, float]]], expected: list[list[tuple[str, float, float]]]
) -> None:
    """The same words on the same pages, each within 0.01 pt (1/7200 inch) of its place."""
    assert len(got) == len(expected)
    for page, (have, want) in enumerate(zip(got, expected, strict=True), start=1):
        assert [w[0] for w in have] == [w[0] for w in want], f"page {page}: other words"
        for (word, x, y), (_, x0, y0) in zip(have, want, strict=True):
            assert abs(x - x0) < 0.01 and abs(y - y0) < 0.01, f"page {page}: {word!r} moved"


def _build(story: list[Flowable]) -> bytes:
    return pb.build(story, "layout", False, "footer", "")


@pytest.mark.parametrize("seed", [1, 2])
def test_runs_of_notes_land_where_the_notes_one_by_one_land(seed: int, tmp_path: Path) -> None:
    st = pb.styles()
    one_by_one = _story(seed, st["note"], st)
    assert sum(isinstance(f, pb.TextBlock) for f in one_by_one) > 200
    runs = pb.runs(_story(seed, st["note"], st))
    assert sum(isinstance(f, pb.TextRun) for f in runs) < 30  # the stretches were merged
    expected = _boxes(_build(one_by_one), tmp_path)
    got = _boxes(_build(runs), tmp_path)
    assert len(expected) > 10  # notes cut at many page ends
    _same_places(got, expected)


def test_a_run_with_space_after_its_notes_keeps_the_frame_arithmetic(tmp_path: Path) -> None:
    """Blocks with space after them (overlapping the next block's space before, as reportlab's
    frame does) still land where the frame puts them one by one."""
    st = pb.styles()
    spaced = ParagraphStyle("spaced", parent=st["note"], spaceBefore=5, spaceAfter=9)
    expected = _boxes(_build(_story(3, spaced, st)), tmp_path)
    got = _boxes(_build(pb.runs(_story(3, spaced, st))), tmp_path)
    assert len(expected) > 10
    _same_places(got, expected)


def test_no_word_of_a_session_summary_runs_past_the_right_margin(tmp_path: Path) -> None:
    """Every table, the chart's legend and the medication log end inside the page's text
    width (a plain cell, a header or a legend key too wide for its place used to run past it)."""
    from kapsession.exports import pdf_summary, timeline_json
    from tests.unit.rich_session import build

    rich = build(tmp_path / "data", charting=True)
    try:
        doc = timeline_json.timeline(rich.store, rich.session_id, rich.clock.now())
    finally:
        rich.store.close()
    path = tmp_path / "summary.pdf"
    path.write_bytes(pdf_summary.render(doc))
    html = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-bbox", str(path), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    word = re.compile(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)"[^>]*>([^<]*)</word>')
    right = pb.PAGE[0] - pb.MARGIN
    words = [(float(x), text) for x, text in word.findall(html)]
    assert any(text == "Medication" for _x, text in words)  # the log is on the page
    past = [(text, round(x - right, 1)) for x, text in words if x > right + 0.5]
    assert not past, f"words past the right margin (by pt): {past}"
