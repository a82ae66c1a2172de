"""Quick notes on the live screen: typed, Enter, saved before shown, tags, odd input."""

from __future__ import annotations

import logging

import pytest
from helpers.faults import disk_full
from helpers.qt import committed, notes_in, stream_texts
from PySide6.QtCore import Qt

from kapsession.session.live import LiveSession
from kapsession.session.notes import TAGS
from kapsession.storage.store import Event, Store
from ui.live.note_stream import STREAM_PREVIEW_CHARS
from ui.live.screen import LiveView

ALT = Qt.KeyboardModifier.AltModifier


def type_note(qtbot, view: LiveView, text: str) -> None:
    qtbot.keyClicks(view.note, text)
    qtbot.keyClick(view.note, Qt.Key.Key_Return)


def test_typed_note_and_enter_saves_it_to_the_store_and_the_stream(qtbot, view, live, store):
    before = view.stream.count()

    type_note(qtbot, view, "She says the room feels warm")

    notes = notes_in(store, live.record.id)
    assert [n.data["text"] for n in notes] == ["She says the room feels warm"]
    assert notes[0].data["tags"] == []
    assert notes[0].author == "therapist"
    assert notes[0].t == 0.0
    # Another connection sees it: the commit really happened.
    assert [r["kind"] for r in committed(store) if r["kind"] in ("dose", "note")] == [
        "dose",
        "note",
    ]
    assert view.stream.count() == before + 1
    assert stream_texts(view.stream)[-1] == "T+00:00   She says the room feels warm"
    assert view.note.text() == ""
    assert view.status.text() == ""


def test_the_note_is_committed_before_it_is_shown_and_before_the_field_clears(
    qtbot, view, live: LiveSession, store: Store
):
    seen: list[tuple[str, list[str], int]] = []

    def on_added(event: Event) -> None:
        # Runs when the entry reaches the screen: it must already be on disk, and the
        # field must still hold the text (it is cleared only after the save returned).
        rows = committed(store, "note")
        seen.append((view.note.text(), [str(r["data"]) for r in rows], event.seq))

    live.entry_added.connect(on_added)
    type_note(qtbot, view, "first words")

    assert len(seen) == 1
    field_at_emit, rows_at_emit, seq = seen[0]
    assert field_at_emit == "first words"
    assert len(rows_at_emit) == 1 and "first words" in rows_at_emit[0]
    assert committed(store, "note")[0]["seq"] == seq
    assert view.note.text() == ""


def test_a_failed_commit_shows_nothing_keeps_the_text_and_a_retry_saves_once(
    qtbot, view, live, store, monkeypatch, caplog
):
    caplog.set_level(logging.INFO)
    before = stream_texts(view.stream)
    qtbot.keyClick(view.note, Qt.Key.Key_1, ALT)  # Quote chip
    monkeypatch.setattr(store, "append", disk_full)

    type_note(qtbot, view, "I can see the ocean")

    assert stream_texts(view.stream) == before
    assert view.note.text() == "I can see the ocean"
    assert view.tag_buttons["quote"].isChecked(), "the chosen tag is kept for the retry"
    message = view.status.text()
    assert message.startswith("Not saved")
    assert "the database could not be written" in message and "disk full" in message
    assert "press Enter to try again" in message
    assert notes_in(store, live.record.id) == []
    assert committed(store, "note") == []
    # The log says what failed, never what was written.
    assert "OperationalError" in caplog.text
    assert "ocean" not in caplog.text

    monkeypatch.undo()
    qtbot.keyClick(view.note, Qt.Key.Key_Return)

    notes = notes_in(store, live.record.id)
    assert [(n.data["text"], n.data["tags"]) for n in notes] == [("I can see the ocean", ["quote"])]
    assert len(committed(store, "note")) == 1
    shown = [t for t in stream_texts(view.stream) if "ocean" in t]
    assert shown == ["T+00:00   [Quote] I can see the ocean"]
    assert view.note.text() == ""
    assert view.status.text() == ""
    assert not view.tag_buttons["quote"].isChecked()


def test_a_failed_save_message_goes_away_when_typing_resumes(qtbot, view, store, monkeypatch):
    monkeypatch.setattr(store, "append", disk_full)
    type_note(qtbot, view, "x")
    assert view.status.text()
    monkeypatch.undo()
    qtbot.keyClicks(view.note, "y")
    assert view.status.text() == ""
    assert view.note.text() == "xy"


@pytest.mark.parametrize(
    ("typed", "text", "tags", "shown"),
    [
        ("q: I can see the ocean", "I can see the ocean", ["quote"], "[Quote] I can see the ocean"),
        (
            "qf: it was all light",
            "it was all light",
            ["quote", "integration"],
            "[Quote] [For integration] it was all light",
        ),
        ("b:shoulders let go", "shoulders let go", ["body"], "[Body] shoulders let go"),
        # Upper case is ordinary writing, not a tag prefix.
        ("I: am here", "I: am here", [], "I: am here"),
        # A letter twice is not a prefix either.
        ("qq: twice", "qq: twice", [], "qq: twice"),
        ("x: unknown letter", "x: unknown letter", [], "x: unknown letter"),
    ],
)
def test_prefix_tags(qtbot, view, live, store, typed, text, tags, shown):
    type_note(qtbot, view, typed)
    (note,) = notes_in(store, live.record.id)
    assert note.data["text"] == text
    assert note.data["tags"] == tags
    assert stream_texts(view.stream)[-1] == f"T+00:00   {shown}"


def test_alt_1_to_6_toggle_the_tag_chips_in_order(qtbot, view):
    for i, (tag, _letter, _label) in enumerate(TAGS, start=1):
        key = getattr(Qt.Key, f"Key_{i}")
        qtbot.keyClick(view.note, key, ALT)
        assert view.tag_buttons[tag].isChecked(), f"Alt+{i} should check {tag}"
        assert view._chosen_tags() == (tag,)
        qtbot.keyClick(view.note, key, ALT)
        assert not view.tag_buttons[tag].isChecked(), f"Alt+{i} again should uncheck {tag}"
    # The shortcuts are not typed into the note.
    assert view.note.text() == ""


def test_chips_by_key_and_click_are_saved_and_reset_after_saving(qtbot, view, live, store):
    qtbot.keyClick(view.note, Qt.Key.Key_2, ALT)  # Emotion
    qtbot.mouseClick(view.tag_buttons["image"], Qt.MouseButton.LeftButton)
    qtbot.keyClick(view.note, Qt.Key.Key_6, ALT)  # For integration
    assert {t for t, b in view.tag_buttons.items() if b.isChecked()} == {
        "emotion",
        "image",
        "integration",
    }

    type_note(qtbot, view, "a golden room")

    (note,) = notes_in(store, live.record.id)
    assert note.data["tags"] == ["emotion", "image", "integration"]
    assert stream_texts(view.stream)[-1] == (
        "T+00:00   [Emotion] [Image] [For integration] a golden room"
    )
    assert not any(b.isChecked() for b in view.tag_buttons.values())

    # The next note carries no leftover tags.
    type_note(qtbot, view, "plain")
    assert notes_in(store, live.record.id)[-1].data["tags"] == []


def test_chips_and_a_prefix_combine_without_duplicates(qtbot, view, live, store):
    qtbot.mouseClick(view.tag_buttons["quote"], Qt.MouseButton.LeftButton)
    qtbot.keyClick(view.note, Qt.Key.Key_5, ALT)  # Insight
    type_note(qtbot, view, "qf: everything is connected")
    (note,) = notes_in(store, live.record.id)
    assert note.data == {
        "text": "everything is connected",
        "tags": ["quote", "insight", "integration"],
    }
    assert (
        "[Quote] [Insight] [For integration] everything is connected"
        in (stream_texts(view.stream)[-1])
    )


def test_notes_carry_the_time_since_dose(qtbot, view, live, store, clock):
    clock.advance(17 * 60 + 4)
    type_note(qtbot, view, "eyes closed, breathing slow")
    (note,) = notes_in(store, live.record.id)
    assert note.t == 17 * 60 + 4
    assert stream_texts(view.stream)[-1].startswith("T+17:04   ")


@pytest.mark.parametrize("blank", ["", " ", "   \t  ", "\u3000"])
def test_empty_or_whitespace_note_stores_nothing(qtbot, view, live, store, blank):
    before = stream_texts(view.stream)
    view.note.setText(blank)
    qtbot.keyClick(view.note, Qt.Key.Key_Return)
    assert notes_in(store, live.record.id) == []
    assert committed(store, "note") == []
    assert stream_texts(view.stream) == before
    assert view.note.text() == ""
    assert view.status.text() == ""


def test_a_tag_prefix_alone_is_refused_with_a_message(qtbot, view, live, store):
    qtbot.keyClick(view.note, Qt.Key.Key_3, ALT)
    type_note(qtbot, view, "q:   ")
    assert notes_in(store, live.record.id) == []
    assert view.status.text() == "Not saved: An empty note is not saved."
    assert view.note.text() == "q:   "
    assert view.tag_buttons["body"].isChecked()


def mixed_unicode(size: int) -> str:
    pieces = [
        "Ärger und Freude ",
        "😊 ",
        "👩‍👩‍👧 ",  # a ZWJ family: several code points, one glyph
        "שָׁלוֹם ",  # Hebrew with points, right to left
        "مرحبا بالعالم ",  # Arabic
        "日本語のテキスト ",
        "e\u0301 ",  # e + combining acute
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ",  # outside the BMP: surrogate pairs in Qt's UTF-16
        "\u202egnirts desrever\u202c ",
        "Ελληνικά ",
        "🇩🇪 ",
        "zero\u200bwidth ",
    ]
    text = ""
    i = 0
    while len(text) < size:
        text += pieces[i % len(pieces)]
        i += 1
    return "start " + text[: size - len("start ") - len(" end")] + " end"


def test_a_100_kb_unicode_note_is_stored_intact_and_previewed(qtbot, view, live, store):
    text = mixed_unicode(100_000)
    assert len(text) == 100_000
    view.note.setText(text)  # as if pasted
    assert view.note.text() == text, "the field must not cut or change a long note"

    qtbot.keyClick(view.note, Qt.Key.Key_Return)

    (note,) = notes_in(store, live.record.id)
    assert note.data["text"] == text
    (row,) = committed(store, "note")
    assert text in str(row["data"])
    assert view.note.text() == ""
    line = stream_texts(view.stream)[-1]
    assert line.startswith("T+00:00   start ")
    assert line.endswith(" … (100,000 characters)")
    assert text[:STREAM_PREVIEW_CHARS] in line
    assert len(line) < STREAM_PREVIEW_CHARS + 100
