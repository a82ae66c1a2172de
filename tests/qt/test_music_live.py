"""The music on the live screen: the controller ticks the arc player on the GUI thread, hands
libVLC-thread events over through a queued signal, records every moment on the timeline, and
never lets a music problem touch the session. Fake decks here; real libVLC in
test_music_vlc.py."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers.qt import show_active
from PySide6.QtCore import QCoreApplication, Qt

from kapsession.clock import FakeClock
from kapsession.music.loudness import PAUSE_FADE_S
from kapsession.session.live import LiveSession, SessionPlan, SessionService
from ui.live.music import MUSIC_NOT_SAVED, MusicController
from ui.live.screen import LiveView

ALT = Qt.KeyboardModifier.AltModifier

ARC = """
[arc]
id = "test-arc"
name = "Test arc"
planned_minutes = 45

[[phases]]
name = "settling"
start_minutes = 0
minutes = 2
fade_in_s = 2

[[phases.tracks]]
path = "a.ogg"
title = "Low drone"

[[phases.tracks]]
path = "b.ogg"
title = "Soft bells"

[[phases]]
name = "onset"
start_minutes = 2
minutes = 43

[[phases.tracks]]
path = "c.ogg"
title = "Airy wash"
"""


class Deck:
    """A deck in stepped time; `generation` like the libVLC deck's."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.position = 0.0
        self.playing = False
        self.volume = 100
        self.generation = 0
        self.threads: set[int] = set()

    def _call(self) -> None:
        self.threads.add(threading.get_ident())

    def load(self, path: Path) -> None:
        self._call()
        self.generation += 1
        self.path, self.position, self.playing = path, 0.0, False

    def play(self) -> None:
        self._call()
        self.playing = self.path is not None

    def pause(self) -> None:
        self._call()
        self.playing = False

    def stop(self) -> None:
        self._call()
        self.generation += 1
        self.path, self.position, self.playing = None, 0.0, False

    def set_volume(self, volume: int) -> None:
        self._call()
        self.volume = volume

    def position_s(self) -> float:
        self._call()
        return self.position

    def length_s(self) -> float | None:
        self._call()
        return 300.0 if self.path is not None else None


class Rig:
    """Fake decks and a fake audio clock, advanced together with the session's fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.decks = (Deck(), Deck())
        self.audio_now = 100.0
        self.hand_on: Callable[[int, str, str, int], None] | None = None
        self.released = False
        self.reports: list[str] = []

    def opener(self, hand_on: Callable[[int, str, str, int], None]) -> tuple[Deck, Deck]:
        self.hand_on = hand_on
        return self.decks

    def release(self, _decks: object) -> None:
        self.released = True

    def factory(self, arc: str | None) -> Callable[[LiveSession, Callable[[str], None]], object]:
        def make(live: LiveSession, report: Callable[[str], None]) -> MusicController:
            def both(text: str) -> None:
                self.reports.append(text)
                report(text)

            return MusicController(
                live,
                arc,
                opener=self.opener,  # type: ignore[arg-type]
                release=self.release,
                audio_time=lambda: self.audio_now,
                report=both,
            )

        return make

    def advance(self, seconds: float, music: MusicController) -> None:
        steps = max(1, round(seconds / 0.25))
        for _ in range(steps):
            self.clock.advance(0.25)
            self.audio_now += 0.25
            for deck in self.decks:
                if deck.playing:
                    deck.position += 0.25
            music._tick()

    def playing(self) -> list[str]:
        return [d.path.name for d in self.decks if d.path is not None and d.playing]


@pytest.fixture
def arc_file(tmp_path: Path) -> Path:
    path = tmp_path / "test.arc.toml"
    path.write_text(ARC, encoding="utf-8")
    return path


@pytest.fixture
def music_live(service: SessionService, arc_file: Path) -> LiveSession:
    record = service.plan(
        SessionPlan("C-021", "KAP IM", "intramuscular", 50.0, 45, "", arc=str(arc_file))
    )
    return service.give_dose(record.id)


@pytest.fixture
def rig(clock: FakeClock) -> Rig:
    return Rig(clock)


@pytest.fixture
def music_view(qtbot, music_live: LiveSession, rig: Rig) -> Iterator[LiveView]:
    view = LiveView(music_live, music=rig.factory(music_live.record.arc))
    qtbot.addWidget(view)
    view.resize(1100, 760)
    show_active(qtbot, view)
    yield view
    view.stop()


def kinds(live: LiveSession) -> list[str]:
    return [e.kind for e in live.events()]


def test_the_arc_starts_with_the_dose_and_the_screen_says_what_plays(
    music_view: LiveView, music_live: LiveSession, rig: Rig
) -> None:
    assert kinds(music_live) == ["dose", "phase", "track_started"]
    assert rig.playing() == ["a.ogg"]
    line = music_view.music_line
    assert line.isVisible()
    assert line.text() == "♪ Low drone · Settling · 2:00 left in phase · vol 70"

    assert music_view.music is not None
    rig.advance(30, music_view.music)
    music_view._refresh()
    assert "1:30 left in phase" in line.text()


def test_alt_m_fades_to_silence_and_back_and_the_note_field_keeps_the_focus(
    qtbot, music_view: LiveView, music_live: LiveSession, rig: Rig
) -> None:
    music = music_view.music
    assert music is not None
    qtbot.keyClicks(music_view.note, "half a note")
    rig.advance(5, music)
    qtbot.keyClick(music_view.note, Qt.Key.Key_M, ALT)
    assert music_view.music_line.text().startswith("Music faded to silence · Alt+M brings it back")
    rig.advance(1, music)
    assert 0 < rig.decks[0].volume < 70  # a fade, not a cut
    rig.advance(5, music)
    assert rig.decks[0].volume == 0 and rig.playing() == []

    qtbot.keyClick(music_view.note, Qt.Key.Key_M, ALT)
    rig.advance(5, music)
    assert rig.playing() == ["a.ogg"] and rig.decks[0].volume == 70
    silences = [e.data["on"] for e in music_live.events() if e.kind == "silence"]
    assert silences == [True, False]
    assert music_view.note.text() == "half a note" and music_view.note.hasFocus()


def test_skip_pause_and_volume_keys_are_recorded(
    qtbot, music_view: LiveView, music_live: LiveSession, rig: Rig
) -> None:
    music = music_view.music
    assert music is not None
    rig.advance(3, music)
    qtbot.keyClick(music_view.note, Qt.Key.Key_N, ALT)
    rig.advance(3, music)
    assert rig.playing() == ["b.ogg"]
    qtbot.keyClick(music_view.note, Qt.Key.Key_Minus, ALT)
    qtbot.keyClick(music_view.note, Qt.Key.Key_Minus, ALT)
    qtbot.keyClick(music_view.note, Qt.Key.Key_Equal, ALT)
    qtbot.keyClick(music_view.note, Qt.Key.Key_P, ALT)
    assert music_view.music_line.text().startswith("Music paused · Alt+P resumes · vol 65")
    rig.advance(PAUSE_FADE_S + 0.5, music)
    assert rig.playing() == []
    qtbot.keyClick(music_view.note, Qt.Key.Key_P, ALT)
    rig.advance(PAUSE_FADE_S + 0.5, music)
    assert rig.playing() == ["b.ogg"]
    assert rig.decks[1].volume == 65  # ramped down, not jumped

    music_kinds = [
        (e.kind, e.data.get("title") or e.data.get("volume") or e.data.get("on"))
        for e in music_live.events()
        if e.kind not in ("dose", "phase")
    ]
    assert music_kinds == [
        ("track_started", "Low drone"),
        ("skip", "Low drone"),
        ("track_ended", "Low drone"),
        ("track_started", "Soft bells"),
        ("volume", 65),
        ("volume", 60),
        ("volume", 65),
        ("pause", True),
        ("pause", False),
    ]


def test_libvlc_events_cross_to_the_gui_thread_and_stale_ones_are_dropped(
    qtbot, music_view: LiveView, music_live: LiveSession, rig: Rig
) -> None:
    music = music_view.music
    assert music is not None and rig.hand_on is not None
    rig.advance(20, music)
    stale = rig.decks[0].generation - 1
    worker = threading.Thread(target=rig.hand_on, args=(0, "ended", "", stale))
    worker.start()
    worker.join()
    QCoreApplication.sendPostedEvents()  # the queued hand-over is delivered now, not "soon"
    assert rig.playing() == ["a.ogg"]  # an end raised for a replaced media changes nothing

    current = rig.decks[0].generation
    worker = threading.Thread(target=rig.hand_on, args=(0, "error", "could not play", current))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: "playback_fault" in kinds(music_live))
    rig.advance(3, music)
    assert rig.playing() == ["b.ogg"]
    fault = next(e for e in music_live.events() if e.kind == "playback_fault")
    assert fault.data == {
        "path": str(Path(music_live.record.arc or "").parent / "a.ogg"),
        "detail": "could not play",
    }
    main = threading.main_thread().ident
    assert all(deck.threads == {main} for deck in rig.decks)  # no deck call off the GUI thread


def test_ending_the_session_writes_the_last_track_end_with_it_then_fades_out(
    qtbot, music_view: LiveView, music_live: LiveSession, rig: Rig, modal
) -> None:
    music = music_view.music
    assert music is not None
    rig.advance(40, music)
    closing = music.ending_entries()
    music_live.end("test ends early", closing=closing)
    music.session_ended()
    assert kinds(music_live)[-2:] == ["track_ended", "session_ended"]
    rig.advance(PAUSE_FADE_S + 0.5, music)
    assert rig.playing() == [] and rig.released
    assert music_view.music_line.text() == "Music ended with the session."
    assert kinds(music_live)[-1] == "session_ended"


def test_after_the_end_the_live_screen_goes_at_once_and_the_fade_out_finishes_alone(
    qtbot, music_view: LiveView, music_live: LiveSession, rig: Rig
) -> None:
    music = music_view.music
    assert music is not None
    rig.advance(10, music)
    music_live.end("test ends early", closing=music.ending_entries())
    music.session_ended()
    music_view.stop_music()  # the live screen is dropped: no blocking fade (it would release)
    assert not rig.released and rig.playing() == ["a.ogg"]  # still fading out, on its own
    rig.advance(PAUSE_FADE_S + 0.5, music)
    assert rig.released and rig.playing() == []
    assert kinds(music_live)[-1] == "session_ended"


def test_closing_the_app_records_the_track_end_and_lets_libvlc_go(
    music_view: LiveView, music_live: LiveSession, rig: Rig
) -> None:
    music = music_view.music
    assert music is not None
    rig.advance(10, music)
    music_view.stop_music()
    assert kinds(music_live)[-1] == "track_ended"
    assert rig.released and rig.playing() == []


def test_a_failed_music_save_says_so_once_and_the_music_goes_on(
    music_view: LiveView, music_live: LiveSession, rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    music = music_view.music
    assert music is not None

    def full(*_args: object, **_kwargs: object) -> object:
        raise sqlite3.OperationalError("database or disk is full")

    rig.advance(5, music)
    monkeypatch.setattr(music_live.store, "append", full)
    music.skip()
    rig.advance(3, music)
    music.step_volume(-10)
    rig.advance(3, music)
    assert rig.reports == [MUSIC_NOT_SAVED]  # said once, not once per entry
    assert music_view.status.text() == MUSIC_NOT_SAVED
    assert rig.playing() == ["b.ogg"]  # the skip and the volume still happened
    assert rig.decks[1].volume == 60
    monkeypatch.undo()
    music.skip()  # saving works again: a later failure would be reported again
    assert kinds(music_live)[-3:] == ["skip", "track_ended", "track_started"]


@pytest.mark.parametrize(
    ("opener_result", "expected"),
    [
        (
            "Music unavailable: libVLC could not be loaded (OSError).",
            "Music unavailable: libVLC could not be loaded (OSError). "
            "The session works fully without it.",
        ),
    ],
)
def test_without_libvlc_the_screen_says_why_and_the_session_works(
    qtbot, music_live: LiveSession, opener_result: str, expected: str
) -> None:
    def make(live: LiveSession, report: Callable[[str], None]) -> MusicController:
        return MusicController(live, live.record.arc, opener=lambda _h: opener_result)

    view = LiveView(music_live, music=make)
    qtbot.addWidget(view)
    show_active(qtbot, view)
    try:
        assert view.music_line.text() == expected
        qtbot.keyClick(view.note, Qt.Key.Key_M, ALT)
        assert view.status.text() == expected
        qtbot.keyClicks(view.note, "still taking notes")
        qtbot.keyClick(view.note, Qt.Key.Key_Return)
        assert kinds(music_live) == ["dose", "note"]
    finally:
        view.stop()


def test_a_broken_or_missing_arc_file_is_named_and_the_session_works(
    qtbot, service: SessionService, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.arc.toml"
    broken.write_text("[arc\nid = ", encoding="utf-8")
    for arc, says in (
        (broken, "Music unavailable: broken.arc.toml"),
        (tmp_path / "gone.arc.toml", "Music unavailable:"),
        (None, "No music arc was chosen for this session."),
    ):
        record = service.plan(
            SessionPlan("C-022", "KAP IM", "intramuscular", 50.0, 45, "", arc=str(arc or ""))
        )
        live = service.give_dose(record.id)
        view = LiveView(live, music=lambda lv, rep: MusicController(lv, lv.record.arc))
        qtbot.addWidget(view)
        try:
            assert view.music_line.text().startswith(says), view.music_line.text()
            assert [e.kind for e in live.events()] == ["dose"]
        finally:
            view.stop()
            live.end("test")


def test_the_live_screen_shows_the_prepared_intention_quietly(
    qtbot, service: SessionService
) -> None:
    from kapsession.integration.preparation import Preparation, save_preparation

    record = service.plan(SessionPlan("C-040", "KAP IM", "intramuscular", 50.0, 45, "plan's words"))
    save_preparation(
        service.store,
        record.id,
        Preparation(intention="to rest in what comes"),
        service.clock.now(),
        service.tz,
        service.author,
    )
    live = service.give_dose(record.id)
    view = LiveView(live)
    qtbot.addWidget(view)
    try:
        assert view.intention.text() == "Intention: to rest in what comes"
    finally:
        view.stop()


def test_alt_brackets_play_the_phases_softer_or_deeper_track_or_say_there_is_none(
    qtbot, service: SessionService, rig: Rig, tmp_path: Path
) -> None:
    """Issue 17: Alt+[ crossfades at once to the softer track the phase holds, recorded on the
    timeline; Alt+] where the phase holds no deeper one says so and changes nothing."""
    path = tmp_path / "alt.arc.toml"
    path.write_text(
        ARC.replace(
            '[[phases]]\nname = "onset"',
            '[[phases.alternates]]\nkind = "softer"\npath = "soft.ogg"\ntitle = "Softer bells"'
            '\n\n[[phases]]\nname = "onset"',
        ),
        encoding="utf-8",
    )
    record = service.plan(
        SessionPlan("C-021", "KAP IM", "intramuscular", 50.0, 45, "", arc=str(path))
    )
    live = service.give_dose(record.id)
    view = LiveView(live, music=rig.factory(str(path)))
    qtbot.addWidget(view)
    show_active(qtbot, view)
    try:
        music = view.music
        assert music is not None
        rig.advance(3, music)
        qtbot.keyClick(view.note, Qt.Key.Key_BracketLeft, ALT)
        rig.advance(3, music)
        assert rig.playing() == ["soft.ogg"]
        started = [e.data for e in live.events() if e.kind == "track_started"]
        assert [(d["title"], d.get("alternate")) for d in started] == [
            ("Low drone", None),
            ("Softer bells", "softer"),
        ]
        count = len(live.events())
        qtbot.keyClick(view.note, Qt.Key.Key_BracketRight, ALT)
        assert rig.reports[-1] == "This part of the arc has no deeper track to change to."
        assert view.status.text() == rig.reports[-1]
        assert len(live.events()) == count and rig.playing() == ["soft.ogg"]
        assert view.note.hasFocus()
    finally:
        view.stop()
