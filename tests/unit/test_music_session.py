"""The music on the session's timeline: the arc player records through the live session, and
the session's end closes the music in the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kapsession.clock import FakeClock
from kapsession.errors import InvalidEntry
from kapsession.exports.timeline_json import timeline
from kapsession.music.arc import Arc, Phase, Track
from kapsession.music.arc_player import ArcPlayer
from kapsession.session.live import LiveSession, SessionService

from .conftest import PlanFactory
from .test_arc_player import FakeDeck


@pytest.fixture
def live(file_service: SessionService, make_plan: PlanFactory) -> LiveSession:
    return file_service.give_dose(file_service.plan(make_plan(arc="demo.arc.toml")).id)


def _arc() -> Arc:
    tracks = (Track(path=Path("/m/a.ogg"), title="Drone A"), Track(Path("/m/b.ogg"), "Bells B"))
    return Arc(id="demo", name="Demo", phases=(Phase("settling", 0, 60, tracks),))


def test_the_arc_players_entries_land_on_the_timeline_in_order(
    live: LiveSession, clock: FakeClock
) -> None:
    decks = (FakeDeck({"a.ogg": 30.0}), FakeDeck({}))
    player = ArcPlayer(_arc(), decks, live.record_music)
    for step in range(0, 161):  # 40 s at 4 ticks a second
        t = step / 4
        for i, deck in enumerate(decks):
            if deck.advance(0.25 if step else 0.0):
                player.on_track_ended(i)
        player.tick(live.elapsed(), 1000.0 + t)
        clock.advance(0.25)
    player.set_master_volume(40)
    player.silence()

    doc = timeline(live.store, live.record.id, datetime(2026, 3, 2, 12, tzinfo=UTC))
    music = [(e["kind"], e.get("title")) for e in doc["events"] if e["kind"] != "dose"]
    assert music == [
        ("phase", None),
        ("track_started", "Drone A"),
        ("track_ended", "Drone A"),
        ("track_started", "Bells B"),
        ("volume", None),
        ("silence", None),
    ]
    started = [e for e in doc["events"] if e["kind"] == "track_started"]
    assert started[0]["path"] == "/m/a.ogg" and started[0]["phase"] == "settling"
    assert doc["session"]["arc"] == "demo.arc.toml"
    assert all(e["t"] is not None for e in doc["events"])


def test_only_music_kinds_are_recorded_as_music(live: LiveSession) -> None:
    with pytest.raises(InvalidEntry, match="'note' is not a music entry"):
        live.record_music("note", {"text": "not music"})
    with pytest.raises(InvalidEntry, match="not a music entry"):
        live.end("ended early", closing=[("dose", {})])
    assert live.record.state == "running"


def test_the_last_track_ended_is_written_with_the_end_in_one_transaction(
    live: LiveSession, clock: FakeClock
) -> None:
    decks = (FakeDeck({}), FakeDeck({}))
    player = ArcPlayer(_arc(), decks, live.record_music)
    player.tick(0.0, 0.0)
    decks[0].advance(12.0)
    clock.advance(12.0)
    player.tick(live.elapsed(), 12.0)

    live.end("client resting; ended early for the test", closing=player.ending_entries())
    player.finish(record=False)

    kinds = [e.kind for e in live.events()]
    assert kinds[-2:] == ["track_ended", "session_ended"]
    ended = live.events()[-2]
    assert ended.data["title"] == "Drone A" and ended.data["position"] == 12.0
    assert ended.t == live.events()[-1].t
    player.tick(live.elapsed(), 20.0)  # fading out records nothing on the ended session
    assert [e.kind for e in live.events()] == kinds
