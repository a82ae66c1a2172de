"""The integration worksheet: pre-filled from tagged (and amended) notes, saved as versions."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kapsession.clock import FakeClock
from kapsession.errors import InvalidEntry, StateError
from kapsession.exports.timeline_json import timeline
from kapsession.integration.worksheet import (
    ANSWER_KEYS,
    Worksheet,
    changes,
    current_worksheet,
    prefill,
    save_worksheet,
    t_mark,
    validate_worksheet,
    worksheet_history,
)
from kapsession.session.live import LiveSession, SessionService
from kapsession.session.notes import TAG_NAMES
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store, connect

from .conftest import AUTHOR, TZ, PlanFactory


def save(store: Store, session_id: int, ws: Worksheet, clock: FakeClock, **kw: object):
    return save_worksheet(store, session_id, ws, clock.now(), TZ, AUTHOR, **kw)  # type: ignore[arg-type]


@pytest.fixture
def ended(file_service: SessionService, clock: FakeClock, make_plan: PlanFactory) -> LiveSession:
    """A session with every kind of note the worksheet draws on, amended in places, ended."""
    live = file_service.give_dose(file_service.plan(make_plan()).id)
    clock.advance(65)
    live.add_note("q: I can feel the floor holding me")  # T+01:05
    clock.advance(60)
    live.add_note("just a plain observation, not for the worksheet")
    clock.advance(60)
    live.add_note("b: shoulders dropping")  # T+03:05
    clock.advance(60)
    insight = live.add_note("n: it was never mine to carry")  # T+04:05
    clock.advance(60)
    typo = live.add_note("f: call my sistr")  # T+05:05
    clock.advance(60)
    live.add_note("ie: a wide grey sea, then relief")  # T+06:05
    clock.advance(60)
    untag = live.add_note("e: restless")
    clock.advance(3600)
    live.add_note("qf: I'm allowed to rest")  # T+1:07:05
    clock.advance(10)
    live.add_note("f: follow-up: send the breathing recording")
    clock.advance(10)
    live.add_note("f: Next step - ten minutes outside each morning")  # T+1:07:25
    clock.advance(10)
    live.add_note("f: todo: two\nlines")  # T+1:07:35: not one line, so about meaning
    clock.advance(30)
    live.amend_note(typo.seq, "call my sister this week", ["integration"], "typo")
    live.amend_note(untag.seq, "restless (fidgeting)", [], "not an emotion, a movement")
    live.amend_note(insight.seq, "it was never mine to carry alone", ["insight"], "her words")
    clock.advance(30)
    live.end(reason="test session, no discharge check")
    return live


def test_prefill_puts_each_tagged_note_under_its_question_as_last_amended(
    ended: LiveSession, file_store: Store
):
    ws = prefill(file_store.events(ended.record.id))

    assert ws.answer("experienced").splitlines() == [
        "T+01:05  Quote: “I can feel the floor holding me”",
        "T+03:05  Body: shoulders dropping",
        "T+06:05  Image · Emotion: a wide grey sea, then relief",
        "T+1:07:05  Quote: “I'm allowed to rest”",
    ]
    assert ws.answer("insight") == "T+04:05  it was never mine to carry alone"
    assert ws.answer("meaning") == "T+05:05  call my sister this week\nT+1:07:35  todo: two\nlines"
    assert ws.answer("next_step") == "T+1:07:25  ten minutes outside each morning"
    assert ws.follow_up == ("send the breathing recording",)
    assert ws.answer("different") == ""
    notes = [e for e in file_store.events(ended.record.id) if e.kind == "note"]
    used = {n.data["text"].split(":")[0] for n in notes if n.seq in ws.from_notes}
    assert len(ws.from_notes) == 9
    assert all(n.kind == "note" for n in notes if n.seq in ws.from_notes)
    assert "just a plain observation, not for the worksheet" not in used
    restless = next(n for n in notes if n.data["text"] == "restless")
    assert restless.seq not in ws.from_notes, "the amendment took its tag away"


def test_prefill_of_a_session_without_tagged_notes_is_empty(
    service: SessionService, clock: FakeClock, make_plan: PlanFactory, store: Store
):
    live = service.give_dose(service.plan(make_plan()).id)
    live.add_note("untagged")
    assert prefill(store.events(live.record.id)) == Worksheet(answers={}, from_notes=())


def test_versions_amend_the_one_before_keep_their_reason_and_survive_reopening(
    ended: LiveSession, file_store: Store, clock: FakeClock, tmp_path
):
    sid = ended.record.id
    draft = prefill(file_store.events(sid))
    first = save(file_store, sid, draft, clock)
    clock.advance(86_400)
    edited = replace(
        draft,
        answers={**draft.answers, "next_step": "Ten minutes outside each morning."},
        follow_up=("Book the next integration appointment", "Send the breathing recording"),
        shared=("next_step", "experienced"),
    )
    second = save(file_store, sid, edited, clock, reason="  after the integration call  ")
    clock.advance(60)
    third = save(file_store, sid, replace(edited, shared=("next_step",)), clock, reason="")

    assert (first.amends, second.amends, third.amends) == (None, first.seq, second.seq)
    assert (first.reason, second.reason, third.reason) == (None, "after the integration call", None)
    assert first.t is None, "saved after the end: no time since dose"
    # A second connection to the same file reads the same history.
    other = Store(connect(tmp_path / "data" / DB_NAME))
    try:
        history = worksheet_history(other, sid)
    finally:
        other.close()
    assert [e.seq for _, e in history] == [first.seq, second.seq, third.seq]
    current, event = current_worksheet(file_store, sid) or (None, None)
    assert event == third and current is not None
    assert current.shared == ("next_step",)
    assert current.follow_up == edited.follow_up
    assert current.from_notes == draft.from_notes
    assert history[1][0].shared == ("experienced", "next_step"), "kept in question order"
    assert [changes(None, history[0][0])] + [changes(a[0], b[0]) for a, b in pairwise(history)] == [
        ["first version"],
        [
            "What small next step will you take?",
            "follow-up items",
            "what is shared on the take-home sheet",
        ],
        ["what is shared on the take-home sheet"],
    ]
    doc = timeline(file_store, sid, clock.now())
    (last,) = [e for e in doc["events"] if e["seq"] == third.seq]
    assert last["kind"] == "worksheet" and last["answers"]["next_step"].startswith("Ten minutes")


def test_a_worksheet_needs_a_dosed_session(
    service: SessionService, store: Store, clock: FakeClock, make_plan: PlanFactory
):
    record = service.plan(make_plan())
    with pytest.raises(StateError, match="give the dose first"):
        save(store, record.id, Worksheet(), clock)
    live = service.give_dose(record.id)
    clock.advance(120)
    event = save(store, record.id, Worksheet(answers={"experienced": "warmth"}), clock, t=120.0)
    assert event.t == 120.0 and live.record.state == "running"
    with pytest.raises(StateError, match="no session 404"):
        save(store, 404, Worksheet(), clock)


@pytest.mark.parametrize(
    ("ws", "reason", "message"),
    [
        (
            Worksheet(follow_up=("ok", "  ")),
            None,
            "Follow-up item 2 is empty; write it or remove it.",
        ),
        (Worksheet(follow_up=("a\nb",)), None, "Follow-up item 1 must be one line"),
        (
            Worksheet(follow_up=("x" * 501,)),
            None,
            "Follow-up item 1 can be at most 500 characters.",
        ),
        (
            Worksheet(follow_up=tuple(f"item {i}" for i in range(51))),
            None,
            "A worksheet can hold at most 50 follow-up items.",
        ),
        (
            Worksheet(answers={"insight": "x" * 100_001}),
            None,
            "What insight emerged? can be at most 100,000 characters.",
        ),
        (
            Worksheet(answers={"meaning": "bell\x07"}),
            None,
            "What might it mean for your life? contains control characters.",
        ),
        (Worksheet(answers={"feelings": "?"}), None, "Unknown worksheet question: 'feelings'."),
        (Worksheet(shared=("follow_up",)), None, "Only the worksheet's answers can be shared"),
        (Worksheet(), "why\x00", "Reason for the change must be one line"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(
    ended: LiveSession,
    file_store: Store,
    clock: FakeClock,
    ws: Worksheet,
    reason: str | None,
    message: str,
):
    with pytest.raises(InvalidEntry) as err:
        save(file_store, ended.record.id, ws, clock, reason=reason)
    assert str(err.value).startswith(message)
    assert worksheet_history(file_store, ended.record.id) == []


def test_fifty_follow_up_items_are_fine():
    items = tuple(f"item {i}" for i in range(50))
    assert validate_worksheet(Worksheet(follow_up=items)).follow_up == items


def test_t_mark_matches_the_live_screen():
    assert [t_mark(x) for x in (0, 65.9, 3599, 3600, 4025, None)] == [
        "T+00:00",
        "T+01:05",
        "T+59:59",
        "T+1:00:00",
        "T+1:07:05",
        "",
    ]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    answers=st.fixed_dictionaries({k: st.text(max_size=60) for k in ANSWER_KEYS}),
    items=st.lists(st.text(max_size=30), max_size=4),
)
@example(answers={k: "🌊 <script>&</script> “q” \\n" for k in ANSWER_KEYS}, items=["Ünïcødé ✓"])
def test_any_text_is_saved_intact_or_refused_cleanly(
    service: SessionService,
    store: Store,
    clock: FakeClock,
    make_plan: PlanFactory,
    answers: dict[str, str],
    items: list[str],
):
    record = service.plan(make_plan())
    live = service.give_dose(record.id)
    try:
        save(store, record.id, Worksheet(answers=answers, follow_up=tuple(items)), clock)
    except InvalidEntry as exc:
        assert str(exc).endswith(".") and len(str(exc)) < 120
        assert worksheet_history(store, record.id) == []
    else:
        saved, _ = current_worksheet(store, record.id) or (None, None)
        assert saved is not None
        assert dict(saved.answers) == {k: v.strip() for k, v in answers.items()}
        assert saved.follow_up == tuple(i.strip() for i in items)
    finally:
        live.end(reason="next example")  # one running session per data folder


NOTE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80
).filter(lambda s: s.strip())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    notes=st.lists(
        st.tuples(NOTE_TEXT, st.lists(st.sampled_from(TAG_NAMES), unique=True)), max_size=6
    )
)
@example(notes=[("bell\x07 and\x1b[31m escape", ["quote"]), ("todo: \x00x", ["integration"])])
def test_a_draft_from_any_notes_can_be_saved_as_it_is(
    service: SessionService,
    store: Store,
    clock: FakeClock,
    make_plan: PlanFactory,
    notes: list[tuple[str, list[str]]],
):
    live = service.give_dose(service.plan(make_plan()).id)
    try:
        for text, tags in notes:
            live.add_note(text, tags)
        draft = prefill(store.events(live.record.id))
        event = save(store, live.record.id, draft, clock, t=0.0)
        assert Worksheet.from_data(event.data).from_notes == draft.from_notes
    finally:
        live.end(reason="next example")
