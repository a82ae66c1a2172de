"""Quick notes: what is refused, what is kept byte for byte through a real database file, the tag
prefixes, and that a note is announced only once it is stored."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapsession.clock import FakeClock
from kapsession.errors import InvalidEntry
from kapsession.session.live import LiveSession, SessionPlan, SessionService
from kapsession.session.notes import MAX_NOTE_CHARS, TAG_NAMES, make_note, parse_note
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Event, Store

from .conftest import AUTHOR, TZ, PlanFactory


@pytest.fixture
def live(file_service: SessionService, make_plan: PlanFactory, clock: FakeClock) -> LiveSession:
    session = file_service.give_dose(file_service.plan(make_plan()).id)
    clock.advance(60)
    return session


def _reopened_note(tmp_path: Path, seq: int) -> Event:
    """Read the note back through a fresh Store on the file, not the writer's connection."""
    store = Store.open(tmp_path / "data", create=False)
    try:
        event = store.event(seq)
    finally:
        store.close()
    assert event is not None
    return event


@pytest.mark.parametrize("raw", ["", " ", "\t\n", "\u3000\u2003", "q:", "qf:   ", "b: \n"])
def test_a_blank_note_is_refused_and_nothing_is_stored(live: LiveSession, raw: str) -> None:
    before = live.events()
    shown: list[Event] = []
    live.entry_added.connect(shown.append)

    with pytest.raises(InvalidEntry, match="empty note"):
        live.add_note(raw)

    assert live.events() == before
    assert shown == []


@pytest.mark.parametrize(
    "text",
    [
        "Ich sehe das Meer 🌊🫶🏽 — und es atmet",
        "אני רואה את הים, and then English again",  # RTL mixed with LTR
        "مرحبا بالبحر\u200f!",  # Arabic with a right-to-left mark
        "我看见了大海。海在呼吸。",
        "e\u0301te\u0301 — Zalgo: Z\u0351\u0315a\u0336\u0300l\u0337go",  # combining marks
        "👨\u200d👩\u200d👧\u200d👦 family, 🏳️\u200d🌈 flag",  # ZWJ sequences
        "tab\there, NUL\x00inside, line\nbreak, CR\r\nLF",
        "a very long line " * 6000,  # ~100 kB
    ],
)
def test_any_text_is_stored_and_read_back_intact_through_a_real_file(
    tmp_path: Path, live: LiveSession, text: str
) -> None:
    saved = live.add_note(text)

    again = _reopened_note(tmp_path, saved.seq)

    assert again.data["text"] == text.strip()
    assert again.kind == "note" and again.data["tags"] == []
    assert again.t == 60.0 and again.author == AUTHOR and again.tz == TZ


def test_a_100_kb_note_is_kept_whole(tmp_path: Path, live: LiveSession) -> None:
    text = " ".join(f"{i:05d} the client describes a long, detailed vision." for i in range(2000))
    assert len(text.encode()) > 100_000

    saved = live.add_note(text)

    assert _reopened_note(tmp_path, saved.seq).data["text"] == text


def test_a_note_above_the_limit_is_refused(live: LiveSession) -> None:
    before = live.events()
    with pytest.raises(InvalidEntry, match="at most 1,000,000 characters"):
        live.add_note("x" * (MAX_NOTE_CHARS + 1))
    assert live.events() == before


@pytest.mark.parametrize("raw", ["broken \ud800 surrogate", "\udfff", "pair reversed \udc00\ud83c"])
def test_lone_surrogates_are_refused_before_they_reach_the_database(
    live: LiveSession, raw: str
) -> None:
    before = live.events()
    with pytest.raises(InvalidEntry, match="lone surrogates"):
        live.add_note(raw)
    assert live.events() == before


@pytest.mark.parametrize(
    ("raw", "text", "tags"),
    [
        ("q: I can see the ocean", "I can see the ocean", ("quote",)),
        ("qf: I can see the ocean", "I can see the ocean", ("quote", "integration")),
        ("fq:I can see the ocean", "I can see the ocean", ("quote", "integration")),
        ("e: tearful", "tearful", ("emotion",)),
        ("b:   warm chest", "warm chest", ("body",)),
        ("i: a blue door", "a blue door", ("image",)),
        ("n: anger is old", "anger is old", ("insight",)),
        ("qebinf: all of them", "all of them", TAG_NAMES),
        # Not prefixes: capitals, repeated letters, unknown letters, no colon at the start.
        ("I: am here", "I: am here", ()),
        ("Q: shouting", "Q: shouting", ()),
        ("qq: twice", "qq: twice", ()),
        ("x: unknown", "x: unknown", ()),
        ("note: q: later", "note: q: later", ()),
        (" q: leading space", "q: leading space", ()),
        ("ratio 3:1 today", "ratio 3:1 today", ()),
    ],
)
def test_tag_prefixes(raw: str, text: str, tags: tuple[str, ...]) -> None:
    note = parse_note(raw)
    assert (note.text, note.tags) == (text, tags)


def test_prefix_tags_and_clicked_tags_combine_in_display_order() -> None:
    note = parse_note("f: remember this", tags=["body", "quote"])
    assert note.tags == ("quote", "body", "integration")


def test_an_unknown_clicked_tag_is_refused() -> None:
    with pytest.raises(InvalidEntry, match="Unknown note tag: 'urgent'"):
        make_note("text", ["urgent"])


def test_tags_reach_the_stored_entry(tmp_path: Path, live: LiveSession) -> None:
    saved = live.add_note("qf: I am allowed to rest")
    again = _reopened_note(tmp_path, saved.seq)
    assert dict(again.data) == {"text": "I am allowed to rest", "tags": ["quote", "integration"]}


def test_a_note_is_announced_only_after_it_was_committed(tmp_path: Path, live: LiveSession) -> None:
    """What the screen shows as saved must already be in the file for any other reader."""
    seen_by_other_reader: list[tuple[str, str] | None] = []

    def on_entry_added(event: Event) -> None:
        with closing(sqlite3.connect(tmp_path / "data" / DB_NAME)) as other:
            row = other.execute(
                "SELECT kind, json_extract(data, '$.text') FROM events WHERE seq = ?", [event.seq]
            ).fetchone()
        seen_by_other_reader.append(row)

    live.entry_added.connect(on_entry_added)
    live.add_note("q: the walls are soft")

    assert seen_by_other_reader == [("note", "the walls are soft")]


_PREFIX_LIKE = re.compile(r"^\s*[a-z]+:")


@given(
    st.text(min_size=1, max_size=300).filter(
        lambda s: s.strip() != "" and not _PREFIX_LIKE.match(s)
    )
)
def test_any_non_blank_text_without_a_prefix_round_trips_exactly(text: str) -> None:
    store = Store.memory()
    try:
        service = SessionService(store, FakeClock(), TZ, AUTHOR)
        plan = SessionPlan("C-001", "Sublingual 75", "sublingual", 200.0, 75)
        live = service.give_dose(service.plan(plan).id)

        saved = live.add_note(text)
        again = store.event(saved.seq)
    finally:
        store.close()

    assert again is not None
    assert again.data["text"] == saved.data["text"] == text.strip()
    assert again.data["tags"] == []
