"""The arc player as a state machine: fake decks, stepped time, whole arcs in milliseconds."""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from kapsession.music.arc import Alternate, Arc, Item, Phase, Silence, Track
from kapsession.music.arc_player import SILENCE_TITLE, ArcPlayer
from kapsession.music.loudness import PAUSE_FADE_S, SILENCE_FADE_S, VOLUME_RAMP_PER_S
from kapsession.music.playback_faults import STALL_S

MONO0 = 5000.0


class FakeDeck:
    """A deck that plays in stepped time: position moves while playing, `finished` once the
    position reaches the length (the rig then hands the end event to the player)."""

    def __init__(self, lengths: dict[str, float | None]) -> None:
        self.lengths = lengths
        self.calls: list[tuple[str, object]] = []
        self.volumes: list[int] = []
        self.path: Path | None = None
        self.position = 0.0
        self.length: float | None = None
        self.playing = False
        self.finished = False
        self.volume = 100  # libVLC's own default until set

    def load(self, path: Path) -> None:
        self.calls.append(("load", path))
        self.path, self.position, self.playing, self.finished = path, 0.0, False, False
        self.length = self.lengths.get(path.name, 60.0)

    def play(self) -> None:
        self.calls.append(("play", None))
        self.playing = self.path is not None and not self.finished

    def pause(self) -> None:
        self.calls.append(("pause", None))
        self.playing = False

    def stop(self) -> None:
        self.calls.append(("stop", None))
        self.playing, self.position, self.path = False, 0.0, None

    def set_volume(self, volume: int) -> None:
        self.calls.append(("set_volume", volume))
        self.volumes.append(volume)
        self.volume = volume

    def position_s(self) -> float:
        return self.position

    def length_s(self) -> float | None:
        return self.length

    def advance(self, dt: float) -> bool:
        """Plays for dt seconds; True when the track reached its end just now."""
        if not self.playing:
            return False
        self.position += dt
        if self.length is not None and self.position >= self.length:
            self.position, self.playing, self.finished = self.length, False, True
            return True
        return False

    @property
    def audible(self) -> bool:
        return self.playing and self.volume > 0


class Rig:
    def __init__(self, arc: Arc, lengths: dict[str, float | None], master: int = 100) -> None:
        self.decks = (FakeDeck(lengths), FakeDeck(lengths))
        self.entries: list[tuple[str, dict[str, object]]] = []
        self.player = ArcPlayer(arc, self.decks, self._record, master)
        self.t = 0.0
        self.history: list[tuple[float, int, int, bool, bool]] = []
        self.player.tick(0.0, MONO0)
        self._snap()

    def _record(self, kind: str, data: dict[str, object]) -> None:
        self.entries.append((kind, data))

    def _snap(self) -> None:
        d0, d1 = self.decks
        self.history.append((self.t, d0.volume, d1.volume, d0.audible, d1.audible))

    def step(self, dt: float = 0.25) -> None:
        self.t += dt
        for i, deck in enumerate(self.decks):
            if deck.advance(dt):
                self.player.on_track_ended(i)
        self.player.tick(self.t, MONO0 + self.t)
        self._snap()

    def run_to(self, t_end: float, dt: float = 0.25) -> None:
        while self.t < t_end - 1e-9:
            self.step(dt)

    def kinds(self, kind: str) -> list[dict[str, object]]:
        return [data for k, data in self.entries if k == kind]

    def started(self) -> list[object]:
        return [data["title"] for data in self.kinds("track_started")]

    def deck_playing(self, title: str) -> FakeDeck:
        return next(d for d in self.decks if d.path is not None and d.path.stem == title)


def track(name: str, **kw: object) -> Track:
    return Track(path=Path(f"/music/{name}.ogg"), title=name, **kw)  # type: ignore[arg-type]


def phase(name: str, start_min: float, minutes: float, *items: Item) -> Phase:
    return Phase(name=name, start_minutes=start_min, minutes=minutes, items=items)


def arc(*phases: Phase) -> Arc:
    return Arc(id="test", name="Test", phases=phases)


# --- a whole small arc ---------------------------------------------------------------------------

SMALL = arc(
    phase("settling", 0, 1, track("A"), Silence(10), track("B")),
    phase("onset", 1, 1, track("C", gapless_next=True), track("D")),
    # a gap from minute 2 to 2.5: silence
    phase("peak", 2.5, 1, track("E", volume=50)),
)
SMALL_LENGTHS: dict[str, float | None] = {
    "A.ogg": 40.0,
    "B.ogg": 30.0,
    "C.ogg": 20.0,
    "D.ogg": 40.0,
    "E.ogg": 100.0,
}


def test_a_whole_arc_plays_in_order_through_phases_silences_and_gaps() -> None:
    rig = Rig(SMALL, SMALL_LENGTHS)
    rig.run_to(240)
    assert [d["name"] for d in rig.kinds("phase")] == ["settling", "onset", "peak"]
    assert [d["begins_t"] for d in rig.kinds("phase")] == [0.0, 60.0, 150.0]
    # D wraps to C before the onset phase ends (a phase may be longer than its tracks).
    assert rig.started() == ["A", "B", "C", "D", "C", "E"]
    assert [d["title"] for d in rig.kinds("track_ended")] == ["A", "B", "C", "D", "C"]
    first = rig.kinds("track_started")[0]
    assert first == {
        "title": "A",
        "path": "/music/A.ogg",
        "phase": "settling",
        "position": 0.0,
        "item": 1,
        "loudness_lufs": None,  # no levels handed in: played as mastered
        "gain_db": 0.0,
    }
    assert not rig.kinds("playback_fault")
    # Every entry in order: each track ends before the next one starts.
    tracks = [(k, d["title"]) for k, d in rig.entries if k in ("track_started", "track_ended")]
    assert tracks[0::2] == [("track_started", t) for t in rig.started()]
    assert tracks[1::2] == [("track_ended", t) for t in rig.started()[:-1]]
    # The intentional silence: A fades out from 35 s, nothing is heard until B at 45 s.
    assert all(not a0 and not a1 for t, _, _, a0, a1 in rig.history if 40.5 <= t < 45)
    # The gap between onset and peak is silence.
    assert all(not a0 and not a1 for t, _, _, a0, a1 in rig.history if 126 <= t < 150)
    # E is a 50 % track: never louder than half the master volume.
    e_deck_volumes = [max(v0, v1) for t, v0, v1, _, _ in rig.history if 151 <= t < 210]
    assert max(e_deck_volumes) == 50
    # Past the arc's end (210 s) the last phase goes on: E keeps playing, no new phase entry.
    assert rig.player.now_playing() == ("E", "peak", 0.0)
    assert rig.deck_playing("E").playing


def test_a_session_running_long_stays_in_the_last_phase_wrapping_its_tracks() -> None:
    rig = Rig(SMALL, SMALL_LENGTHS)
    rig.run_to(420)  # E (100 s) has ended past the arc's end: it starts again
    assert [d["name"] for d in rig.kinds("phase")] == ["settling", "onset", "peak"]
    assert rig.started()[-2:] == ["E", "E"]
    assert not rig.kinds("playback_fault")
    rig.player.silence()  # the therapist decides when the music stops
    rig.run_to(430)
    assert not any(d.audible for d in rig.decks)


def test_now_playing_shows_track_phase_and_time_left() -> None:
    rig = Rig(SMALL, SMALL_LENGTHS)
    rig.run_to(10)
    assert rig.player.now_playing() == ("A", "settling", 50.0)
    rig.run_to(42)
    assert rig.player.now_playing() == (SILENCE_TITLE, "settling", 18.0)


# --- crossfades ----------------------------------------------------------------------------------


def test_crossfade_is_equal_power() -> None:
    rig = Rig(arc(phase("one", 0, 10, track("X"), track("Y", fade_in_s=4.0))), {})
    rig.run_to(56.0)  # X (60 s) hands over to Y 4 s before its end
    x_deck, y_deck = rig.deck_playing("X"), rig.deck_playing("Y")
    samples = []
    for _ in range(16):
        rig.step(0.25)
        if x_deck.playing and y_deck.playing:
            samples.append((x_deck.volume / 100, y_deck.volume / 100))
    assert len(samples) >= 10
    for out_gain, in_gain in samples:
        assert math.isclose(out_gain**2 + in_gain**2, 1.0, abs_tol=0.03)
    assert samples[0][0] > samples[-1][0] and samples[0][1] < samples[-1][1]
    assert x_deck.path is None  # stopped when the fade ended
    assert y_deck.volume == 100


def test_no_crossfade_out_of_a_gapless_track() -> None:
    rig = Rig(arc(phase("one", 0, 10, track("G", gapless_next=True), track("H"))), {})
    rig.run_to(10.0)
    g_deck = rig.deck_playing("G")
    assert g_deck.volume == 100  # faded in
    faded_in = len(g_deck.volumes)
    rig.run_to(59.0)
    assert len(g_deck.volumes) == faded_in  # and never faded down
    rig.run_to(61.0)
    h_deck = rig.deck_playing("H")
    assert h_deck is not g_deck
    assert len(g_deck.volumes) == faded_in
    assert ("set_volume", 100) in h_deck.calls
    assert h_deck.volumes[0] == 100  # H starts at full volume as G ends
    assert all(not (a0 and a1) for _, _, _, a0, a1 in rig.history)  # never both heard
    assert rig.started() == ["G", "H"]


def test_phase_change_mid_track_crossfades_and_records_the_phase() -> None:
    arc_ = arc(
        phase("settling", 0, 1, track("Long")),
        phase("onset", 1, 5, track("Next", fade_in_s=3.0)),
    )
    rig = Rig(arc_, {"Long.ogg": 600.0})
    rig.run_to(59.75)
    long_deck = rig.deck_playing("Long")
    rig.run_to(60.0)
    assert rig.kinds("phase")[-1] == {"name": "onset", "begins_t": 60.0}
    ended = rig.kinds("track_ended")
    assert ended == [{"title": "Long", "path": "/music/Long.ogg", "position": 60.0}]
    next_deck = rig.deck_playing("Next")
    both = []
    for _ in range(12):
        rig.step(0.25)
        if long_deck.playing and next_deck.playing:
            both.append((long_deck.volume, next_deck.volume))
    assert len(both) >= 8  # a crossfade, not a cut
    outs = [o for o, _ in both]
    assert outs == sorted(outs, reverse=True) and outs[-1] < 30
    assert not long_deck.playing and next_deck.volume == 100


# --- pause, silence, volume ------------------------------------------------------------------


def test_silence_fades_out_and_back_and_is_recorded() -> None:
    rig = Rig(arc(phase("one", 0, 10, track("A"))), {"A.ogg": 500.0})
    rig.run_to(20)
    deck = rig.deck_playing("A")
    assert deck.volume == 100
    rig.player.silence()
    rig.player.silence()  # once is enough
    start = len(deck.volumes)
    rig.run_to(20 + SILENCE_FADE_S + 0.5)
    down = deck.volumes[start:]
    assert down == sorted(down, reverse=True) and down[-1] == 0
    assert len(down) >= 10  # a ramp of many small steps over ~4 s, not a jump
    assert max(a - b for a, b in zip([100, *down], down, strict=False)) <= 15
    assert not deck.playing and deck.calls[-1] == ("pause", None)
    position = deck.position
    rig.run_to(40)
    assert deck.position == position  # held while silent
    rig.player.unsilence()
    start = len(deck.volumes)
    rig.run_to(40 + SILENCE_FADE_S + 0.5)
    up = deck.volumes[start:]
    assert deck.playing and up == sorted(up) and up[-1] == 100 and len(up) >= 10
    assert rig.kinds("silence") == [{"on": True}, {"on": False}]


def test_pause_fades_then_pauses_and_resume_fades_in() -> None:
    rig = Rig(arc(phase("one", 0, 10, track("A"))), {"A.ogg": 500.0})
    rig.run_to(10)
    deck = rig.deck_playing("A")
    rig.player.pause()
    rig.step(0.25)
    assert deck.playing and 0 < deck.volume < 100
    rig.run_to(10 + PAUSE_FADE_S + 0.25)
    assert not deck.playing and deck.volume == 0
    rig.player.resume()
    rig.step(0.25)
    assert deck.playing and 0 < deck.volume < 100
    rig.run_to(15)
    assert deck.volume == 100
    assert rig.kinds("pause") == [{"on": True}, {"on": False}]


def test_master_volume_ramps_no_faster_than_ten_a_second() -> None:
    rig = Rig(arc(phase("one", 0, 10, track("A"))), {"A.ogg": 500.0}, master=80)
    rig.run_to(10)
    deck = rig.deck_playing("A")
    assert deck.volume == 80
    rig.player.set_master_volume(20)
    samples = [(rig.t, deck.volume)]
    for _ in range(60):
        rig.step(0.25)
        samples.append((rig.t, deck.volume))
    for (t0, v0), (t1, v1) in zip(samples, samples[4:], strict=False):
        assert abs(v1 - v0) <= 10 * (t1 - t0) + 1  # per second, allowing rounding
    assert deck.volume == 20  # 60 units at VOLUME_RAMP_PER_S took under the 15 s sampled
    assert 60 / VOLUME_RAMP_PER_S < 15
    assert rig.kinds("volume") == [{"volume": 20}]
    rig.player.set_master_volume(150)
    assert rig.kinds("volume")[-1] == {"volume": 100}


def test_set_volume_is_called_only_when_the_whole_number_changes() -> None:
    rig = Rig(SMALL, SMALL_LENGTHS)
    rig.player.set_master_volume(60)
    rig.run_to(240, dt=0.05)
    for deck in rig.decks:
        calls = [v for name, v in deck.calls if name == "set_volume"]
        assert calls, "the deck was used"
        assert all(a != b for a, b in pairwise(calls))
        assert all(0 <= int(v) <= 100 for v in calls)  # type: ignore[call-overload]
    ticks = 240 / 0.05
    assert sum(len(d.volumes) for d in rig.decks) < ticks / 4  # few calls


def test_a_phase_change_while_paused_waits_silently_and_plays_on_resume() -> None:
    arc_ = arc(phase("one", 0, 1, track("A")), phase("two", 1, 5, track("B")))
    rig = Rig(arc_, {"A.ogg": 500.0})
    rig.run_to(50)
    rig.player.pause()
    rig.run_to(70)
    assert rig.kinds("phase")[-1]["name"] == "two"
    assert rig.started() == ["A", "B"]
    assert not any(d.playing for d in rig.decks)
    rig.player.resume()
    rig.run_to(74)
    b_deck = rig.deck_playing("B")
    assert b_deck.playing and b_deck.volume == 100
    assert rig.player.now_playing() == ("B", "two", 286.0)


# --- skip and faults ---------------------------------------------------------------------------


def test_skip_crossfades_to_the_next_item_and_is_recorded() -> None:
    rig = Rig(arc(phase("one", 0, 10, track("A"), track("B"))), {"A.ogg": 500.0})
    rig.run_to(30)
    a_deck = rig.deck_playing("A")
    rig.player.skip()
    assert rig.kinds("skip") == [{"title": "A", "path": "/music/A.ogg"}]
    b_deck = rig.deck_playing("B")
    rig.step(1.0)
    assert a_deck.playing and b_deck.playing  # a crossfade
    rig.run_to(35)
    assert not a_deck.playing and b_deck.volume == 100
    assert rig.started() == ["A", "B"]


def test_two_quick_skips_act_at_once_even_during_the_crossfade() -> None:
    """Issue 17: a skip used to wait for a running crossfade, so the second of two quick skips
    in a two-track phase was queued, A played on, and A started again after the fade."""
    rig = Rig(arc(phase("one", 0, 10, track("A"), track("B"))), {"A.ogg": 500.0, "B.ogg": 500.0})
    rig.run_to(30)
    a_deck = rig.deck_playing("A")
    rig.player.skip()
    assert rig.started() == ["A", "B"]
    b_deck = rig.deck_playing("B")
    rig.step(0.5)  # B fading in (0.5 s of 3 s), A fading out: the louder
    a_volume = a_deck.volume
    rig.player.skip()
    assert [e["title"] for e in rig.kinds("skip")] == ["A", "B"]  # what was heard each time
    assert rig.started() == ["A", "B", "A"]  # at once, not after the fade
    # The quieter deck (B) let go at once and takes the new A from its start; the old A fades
    # on from where it was, never jumping up.
    assert b_deck.path is not None and b_deck.path.stem == "A" and b_deck.position == 0.0
    assert ("stop", None) in b_deck.calls
    assert a_deck.path is not None and a_deck.volume <= a_volume
    new_a = b_deck
    assert [e["title"] for e in rig.kinds("track_ended")] == ["A", "B"]
    rig.run_to(36)
    assert new_a.playing and new_a.volume == 100
    assert sum(d.playing for d in rig.decks) == 1


def test_a_skip_late_in_a_crossfade_fades_the_incoming_track_out_from_where_it_is() -> None:
    rig = Rig(
        arc(phase("one", 0, 10, track("A"), track("B"), track("C"))),
        {"A.ogg": 500.0, "B.ogg": 500.0, "C.ogg": 500.0},
    )
    rig.run_to(30)
    a_deck = rig.deck_playing("A")
    rig.player.skip()
    b_deck = rig.deck_playing("B")
    rig.step(2.5)  # B nearly in: the louder now
    b_volume = b_deck.volume
    assert b_volume > a_deck.volume
    rig.player.skip()
    assert rig.started() == ["A", "B", "C"]
    assert a_deck.path is None or a_deck.path.stem == "C"  # A let go; its deck takes C
    assert b_deck.volume <= b_volume  # B fades out from where it was, never up to full first
    rig.step(0.25)
    assert b_deck.volume < b_volume
    rig.run_to(40)
    assert rig.deck_playing("C").volume == 100 and not b_deck.playing


def test_softer_and_deeper_crossfade_at_once_and_the_phase_goes_on_after() -> None:
    """Issue 17: Alt+[ / Alt+] play the phase's alternate of that kind at once (a crossfade, the
    start recorded with `alternate`); pressed again, the next of that kind; after it, the item
    after the one it replaced; a phase without one changes nothing."""
    soft1, soft2, deep = track("Soft1"), track("Soft2"), track("Deep")
    first = Phase(
        "peak",
        0,
        10,
        (track("A"), track("B")),
        alternates=(
            Alternate("softer", soft1),
            Alternate("deeper", deep),
            Alternate("softer", soft2),
        ),
    )
    lengths = {
        "A.ogg": 500.0,
        "B.ogg": 500.0,
        "Soft1.ogg": 20.0,
        "Soft2.ogg": 20.0,
        "Deep.ogg": 20.0,
    }
    rig = Rig(arc(first, phase("return", 10, 10, track("C"))), lengths)
    rig.run_to(30)
    a_deck = rig.deck_playing("A")
    assert rig.player.alternate("softer") == soft1
    assert rig.started() == ["A", "Soft1"]  # at once
    started = rig.kinds("track_started")[-1]
    assert started["alternate"] == "softer" and started["phase"] == "peak"
    assert a_deck.playing  # fading out: a crossfade, not a cut
    rig.step(0.5)
    assert rig.player.alternate("softer") == soft2  # again: the next softer one
    assert rig.player.alternate("deeper") == deep
    assert rig.started() == ["A", "Soft1", "Soft2", "Deep"]
    assert [e.get("alternate") for e in rig.kinds("track_started")] == [
        None,
        "softer",
        "softer",
        "deeper",
    ]
    rig.run_to(60)  # Deep (20 s) ends: the phase goes on with B, the item after A
    assert rig.started()[-1] == "B"
    rig.run_to(601)  # the return phase has no alternates: nothing changes
    assert rig.started()[-1] == "C"
    count = len(rig.entries)
    assert rig.player.alternate("deeper") is None
    assert len(rig.entries) == count


def test_an_error_records_a_fault_and_plays_the_next_item() -> None:
    rig = Rig(arc(phase("one", 0, 10, track("Missing"), track("B"))), {})
    rig.step()
    rig.player.on_error(0, "file not found")
    assert rig.kinds("playback_fault") == [
        {"path": "/music/Missing.ogg", "detail": "file not found"}
    ]
    rig.run_to(5)
    assert rig.started() == ["Missing", "B"]
    assert rig.deck_playing("B").volume == 100


def test_an_end_far_before_the_length_is_a_fault() -> None:
    rig = Rig(arc(phase("one", 0, 10, track("Corrupt"), track("B"))), {"Corrupt.ogg": 180.0})
    rig.run_to(3)
    deck = rig.deck_playing("Corrupt")
    deck.playing, deck.finished = False, True
    rig.player.on_track_ended(rig.decks.index(deck))
    faults = rig.kinds("playback_fault")
    assert len(faults) == 1 and faults[0]["path"] == "/music/Corrupt.ogg"
    assert "180.0" in str(faults[0]["detail"])
    rig.run_to(8)
    assert rig.started() == ["Corrupt", "B"]


def test_an_unknown_length_track_that_ends_at_once_is_a_fault() -> None:
    rig = Rig(arc(phase("one", 0, 10, track("Noise"), track("B"))), {"Noise.ogg": None})
    rig.step(0.25)
    rig.player.on_track_ended(0)
    assert len(rig.kinds("playback_fault")) == 1
    assert rig.started() == ["Noise", "B"]


def test_a_normal_end_is_not_a_fault() -> None:
    rig = Rig(arc(phase("one", 0, 10, track("A", gapless_next=True), track("B"))), {})
    rig.run_to(100)
    assert not rig.kinds("playback_fault")
    assert rig.started()[:2] == ["A", "B"]


def test_a_phase_where_everything_fails_goes_silent_until_the_next_phase() -> None:
    arc_ = arc(
        phase("one", 0, 1, track("Bad1"), Silence(5), track("Bad2")),
        phase("two", 1, 1, track("Good")),
    )
    rig = Rig(arc_, {})
    for _ in range(20):  # the adapter reports an error for every load
        for i, deck in enumerate(rig.decks):
            if deck.path is not None and deck.path.stem.startswith("Bad") and deck.playing:
                deck.playing = False
                rig.player.on_error(i, "cannot open")
        rig.step(1.0)
    assert len(rig.kinds("playback_fault")) == 2  # each once, then silence: no loop
    assert not any(d.playing for d in rig.decks)
    rig.run_to(62)
    assert rig.started()[-1] == "Good" and rig.deck_playing("Good").playing


# --- random driving -----------------------------------------------------------------------------

ACTIONS = st.one_of(
    st.tuples(st.just("tick"), st.floats(0.0, 4.0)),
    st.tuples(st.just("jump"), st.floats(0.0, 90.0)),  # the dose clock leaps (a resume)
    st.tuples(st.sampled_from(["pause", "resume", "silence", "unsilence", "skip"]), st.just(0.0)),
    st.tuples(st.just("volume"), st.integers(-20, 130)),
    st.tuples(st.sampled_from(["end0", "end1", "error0", "error1"]), st.just(0.0)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(ACTIONS, max_size=80))
def test_random_driving_keeps_volumes_in_range_and_two_decks_at_most(
    actions: list[tuple[str, float]],
) -> None:
    rig = Rig(SMALL, SMALL_LENGTHS)
    player = rig.player
    for name, value in actions:
        if name == "tick":
            rig.step(value)
        elif name == "jump":
            rig.t += value
            rig.step(0.1)
        elif name == "volume":
            player.set_master_volume(int(value))
        elif name.startswith(("end", "error")):
            deck_index = int(name[-1])
            deck = rig.decks[deck_index]
            if name.startswith("end"):
                deck.playing, deck.finished = False, True
                player.on_track_ended(deck_index)
            else:
                player.on_error(deck_index, "boom")
        else:
            getattr(player, name)()
        assert sum(d.audible for d in rig.decks) <= 2
        for deck in rig.decks:
            assert all(0 <= v <= 100 for v in deck.volumes)
        started, ended = len(rig.kinds("track_started")), len(rig.kinds("track_ended"))
        assert started - ended in (0, 1)
        assert 0.0 <= player.master_volume <= 100.0
        playing = player.now_playing()
        if playing is not None:
            assert playing[2] >= 0


# --- stalls and the end of the session -----------------------------------------------------------


def test_a_track_whose_position_stops_moving_is_a_stall_fault_and_the_next_track_plays() -> None:
    rig = Rig(arc(phase("peak", 0, 10, track("A", fade_in_s=1.0), track("B"))), {})
    rig.run_to(20.0)
    stuck = rig.deck_playing("A")
    stuck.playing = False  # libVLC says "playing" but the position no longer moves
    rig.run_to(20.0 + STALL_S - 0.5)
    assert rig.kinds("playback_fault") == []  # not before STALL_S without progress
    rig.run_to(20.0 + STALL_S + 0.5)

    faults = rig.kinds("playback_fault")
    assert len(faults) == 1
    assert faults[0]["path"] == "/music/A.ogg"
    assert "stalled at 20.0 s" in str(faults[0]["detail"])
    assert rig.started() == ["A", "B"]


def test_pausing_is_never_mistaken_for_a_stall() -> None:
    rig = Rig(arc(phase("peak", 0, 10, track("A"), track("B"))), {})
    rig.run_to(10.0)
    rig.player.pause()
    rig.run_to(10.0 + 3 * STALL_S)
    rig.player.resume()
    rig.run_to(10.0 + 3 * STALL_S + 5.0)
    assert rig.kinds("playback_fault") == []
    assert rig.started() == ["A"]
    assert rig.deck_playing("A").playing


def test_finish_records_the_end_at_once_then_fades_out_and_stops_recording_nothing() -> None:
    rig = Rig(arc(phase("peak", 0, 10, track("A"), track("B"))), {})
    rig.run_to(30.0)
    deck = rig.deck_playing("A")
    volume_before = deck.volume
    rig.player.finish()
    ended = rig.kinds("track_ended")
    assert [e["title"] for e in ended] == ["A"]
    assert ended[0]["position"] == 30.0
    count = len(rig.entries)

    rig.step(PAUSE_FADE_S / 2)
    assert 0 < deck.volume < volume_before  # a fade, not a cut
    rig.player.skip()
    rig.player.silence()
    rig.player.set_master_volume(10)
    rig.player.on_track_ended(0)
    rig.run_to(30.0 + PAUSE_FADE_S + 1.0)

    assert rig.player.stopped
    assert all(d.path is None and not d.playing for d in rig.decks)
    assert len(rig.entries) == count  # nothing recorded after the end
    assert rig.player.now_playing() is None
