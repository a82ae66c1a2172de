"""Any note a therapist can save exports to JSON, Markdown and PDF without error, and comes back
out of each: exactly from JSON and from Markdown as a CommonMark renderer shows it, and from the
PDF as pdftotext reads it."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from kapsession.clock import FakeClock
from kapsession.errors import InvalidEntry
from kapsession.exports import markdown_summary, pdf_base, pdf_summary, timeline_json
from kapsession.session.live import SessionPlan, SessionService
from kapsession.session.notes import parse_note
from kapsession.storage.store import Store

from .exporthelpers import Html, flowing, pdftotext, render_markdown

# Any text the note field accepts: every code point but lone surrogates, blank notes refused.
notes = st.text(min_size=1, max_size=400).filter(lambda t: t.strip())
# Characters DejaVu Sans draws (so the PDF can give them back): printable left-to-right
# scripts up to Cyrillic, symbols, and the markup characters that matter.
PRINTABLE = st.characters(
    codec="utf-8",
    categories=("L", "N", "P", "S", "Zs"),
    max_codepoint=0x04FF,
    exclude_characters="\u00ad",  # a soft hyphen is invisible by design
).filter(pdf_base.draws)
printable_notes = st.text(PRINTABLE, min_size=1, max_size=300).filter(lambda t: t.strip())


def _saved(raw: str) -> str:
    """The note's text as the live screen saves what was typed: a leading tag prefix such as
    "q:" or "e:" is a tag, not text (hypothesis found "q:0"); a note that is nothing but a
    prefix is refused, so no example."""
    try:
        return parse_note(raw).text
    except InvalidEntry:
        assume(False)
        raise


def _session_with(note: str) -> dict[str, object]:
    store = Store.memory()
    clock = FakeClock()
    service = SessionService(store, clock, "Europe/Berlin", "t")
    live = service.give_dose(service.plan(SessionPlan("C-1", "KAP", "sublingual", 100, 60)).id)
    clock.advance(60)
    live.add_note(note)
    doc = timeline_json.timeline(store, live.record.id, clock.now())
    store.close()
    return doc


def _markdown_lines(text: str) -> list[str]:
    """How a Markdown renderer shows a text: its lines, blank ones left out (blank lines end
    a paragraph), NUL as U+FFFD (CommonMark), lines ending in \\r\\n, \\r or \\n alike."""
    text = text.replace("\0", "\ufffd").replace("\r\n", "\n").replace("\r", "\n")
    return [line for line in text.split("\n") if line != ""]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notes)
def test_any_note_survives_json_and_markdown(raw: str) -> None:
    saved = _saved(raw)
    doc = _session_with(raw)
    assert json.loads(timeline_json.dumps(doc)) == doc
    (note,) = [e for e in doc["events"] if e["kind"] == "note"]  # type: ignore[union-attr, index]
    assert note["text"] == saved
    md = markdown_summary.render(doc)
    assert markdown_summary.text(saved) in md
    alone = Html(render_markdown(markdown_summary.text(saved)))
    assert set(alone.tags) <= {"p", "br"}, alone.tags
    assert _markdown_lines(alone.text.strip("\n")) == _markdown_lines(saved)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notes)
def test_any_note_exports_to_a_pdf(raw: str) -> None:
    pdf = pdf_summary.render(_session_with(raw))
    with tempfile.TemporaryDirectory() as folder:
        assert "Notes" in pdftotext(pdf, Path(folder))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(printable_notes)
@example("0 0")  # found by CI: poppler's reading-order mode read "00"
@example("a b x 0 0 y")
@example("q:0")  # a tag prefix, then the text: "0" is what is saved
def test_printable_note_text_comes_back_out_of_the_pdf(raw: str) -> None:
    """Every printable character comes back, in order, with its spaces. Read in pdftotext's
    raw mode (the order the PDF draws): its reading-order and layout modes guess word breaks
    from the gaps between glyphs and drop the space between one-letter words ("a b" -> "ab",
    for any font, also Helvetica drawn by reportlab's own drawString); the PDF holds it."""
    saved = _saved(raw)
    pdf = pdf_summary.render(_session_with(raw))
    with tempfile.TemporaryDirectory() as folder:
        assert " ".join(saved.split()) in flowing(pdftotext(pdf, Path(folder), raw=True))


TRICKY = [
    "\u3000ideographic space first",
    "form\x0c feed",
    "a\u2028line separator",
    "a\n  \tindented: not code",
    "    four spaces: not code",
    "x\n===",
    "x\n---",
    "NUL \x00 in a note",
    "a  \nb (two trailing spaces)",
    "ends in a backslash \\",
    "1) x\n2. y\n+ z",
    "<!-- comment --> <div>\nx\n</div>",
    "&copy; &#65; &amp;",
    "```\nfenced\n```\n~~~",
    "[a]: http://example.invalid\n[a]",
    "| a | b |\n|---|---|",
    "$x^2$ and ~~strike~~ and * * *",
    "zero\u200bwidth and \ufeffBOM",
    "DEL\x7f and C1\x80\x9f",
]


@pytest.mark.parametrize("raw", TRICKY)
def test_markdown_edge_cases_render_literally(raw: str) -> None:
    md = markdown_summary.text(raw)
    shown = Html(render_markdown(md))
    assert set(shown.tags) <= {"p", "br"}, shown.tags
    assert _markdown_lines(shown.text.strip("\n")) == _markdown_lines(raw)
