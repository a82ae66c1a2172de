"""The music arc in the running app: libVLC's events handed to the GUI thread, the arc player
ticked a few times a second, every musical moment recorded on the session's timeline.

libVLC calls its event callbacks on its own threads, and calling libVLC from one of them
deadlocks. So the decks' callback only emits `deck_event` (a Qt signal, queued to this object's
thread); every libVLC call happens in `_on_deck_event` or `_tick`, on the GUI thread."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal

from kapsession.errors import KapsessionError
from kapsession.music.arc import Arc, load_arc
from kapsession.music.arc_player import ArcPlayer
from kapsession.music.deck_pair import Deck
from kapsession.music.levels import Level
from kapsession.music.loudness import PAUSE_FADE_S
from kapsession.session.live import LiveSession

from ..format import minutes_seconds
from ..settings import Settings

log = logging.getLogger("kapsession.ui.music")

TICK_MS = 250  # ramps move at most 2 volume units a step at 8 units a second
VOLUME_STEP = 5
FAREWELL_FADE_S = 1.0  # closing the app fades out this fast, blocking, rather than cutting

# A deck opener: given libVLC's event hand-over, two decks, or why music is unavailable.
DeckOpener = Callable[[Callable[[int, str, str, int], None]], "tuple[Deck, Deck] | str"]
MUSIC_NOT_SAVED = (
    "A music entry could not be saved (is the disk full or read-only?); the music goes on."
)


def open_vlc_decks(
    on_event: Callable[[int, str, str, int], None], output: str = ""
) -> tuple[Deck, Deck] | str:
    """The real decks; libVLC is imported only now, and only through its adapter. `output` is
    libVLC's audio output (``dummy`` for tests and headless machines; empty: the system's
    default; the app passes ``settings.audio_output``)."""
    from kapsession.music.vlc_player import DECK_ARGS, open_decks

    args = DECK_ARGS + ((f"--aout={output}",) if output else ())
    return open_decks(on_event, args)


def release_vlc_decks(decks: tuple[Deck, Deck]) -> None:
    from kapsession.music.vlc_player import VlcDeck, release_decks

    if all(isinstance(d, VlcDeck) for d in decks):
        release_decks(decks)  # type: ignore[arg-type]


class MusicController(QObject):
    """Plays a session's arc and records it; never lets a music problem reach the session."""

    deck_event = Signal(int, str, str, int)  # deck, "ended" | "error", detail, media generation
    changed = Signal()  # the now-playing line changed outside a tick (a key, an event)

    def __init__(
        self,
        live: LiveSession,
        arc_path: str | None,
        opener: DeckOpener | None = None,
        release: Callable[[tuple[Deck, Deck]], None] = release_vlc_decks,
        audio_time: Callable[[], float] = time.monotonic,
        report: Callable[[str], None] = lambda _text: None,
        parent: QObject | None = None,
        settings: Settings | None = None,
        levels: Callable[[Path], Level | None] = lambda _path: None,
    ) -> None:
        """``levels``: each track's measured loudness (filled by the pre-flight's thread; read
        as a track starts): the arc player brings every track to the arc's target with it."""
        super().__init__(parent)
        self.live = live
        # Handed in by the composition root; a controller built alone (tests) reads its own.
        self._settings = settings if settings is not None else Settings()
        if opener is None:  # libVLC's decks on the audio output the settings name
            opener = lambda hand_on: open_vlc_decks(hand_on, self._settings.audio_output)  # noqa: E731
        self._release = release
        self._audio_time = audio_time
        self._report = report
        self.player: ArcPlayer | None = None
        self.decks: tuple[Deck, Deck] | None = None
        self.arc: Arc | None = None
        self.unavailable = ""  # why there is no music, in one line
        self._record_failed = False
        self._detached = False
        self.deck_event.connect(self._on_deck_event, Qt.ConnectionType.QueuedConnection)
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        if not arc_path:
            self.unavailable = "No music arc was chosen for this session."
            return
        try:
            self.arc = load_arc(Path(arc_path))
        except KapsessionError as exc:
            self.unavailable = f"Music unavailable: {exc}"
            return
        except OSError as exc:
            self.unavailable = f"Music unavailable: the arc could not be read ({exc.strerror})."
            return
        decks = opener(self._hand_on)
        if isinstance(decks, str):
            self.unavailable = decks + " The session works fully without it."
            log.warning("music unavailable")
            return
        self.decks = decks
        self.player = ArcPlayer(
            self.arc, decks, self._record, self._settings.music_volume, levels=levels
        )
        self._tick()
        self._timer.start()

    # --- libVLC's threads: hand on, nothing else ---------------------------------------------------
    def _hand_on(self, deck: int, kind: str, detail: str, generation: int) -> None:
        self.deck_event.emit(deck, kind, detail, generation)

    # --- the GUI thread ----------------------------------------------------------------------------
    def _on_deck_event(self, deck: int, kind: str, detail: str, generation: int) -> None:
        if self.player is None or self.decks is None:
            return
        current = getattr(self.decks[deck], "generation", generation)
        if generation != current:
            return  # raised by a media the deck has since replaced or stopped
        if kind == "error":
            self.player.on_error(deck, detail)
        else:
            self.player.on_track_ended(deck)
        self.changed.emit()

    def _tick(self) -> None:
        player = self.player
        if player is None:
            return
        player.tick(self.live.elapsed(), self._audio_time())
        if player.stopped:
            self._timer.stop()
            self._free_decks()
            self.changed.emit()
            if self._detached:
                self.deleteLater()

    def _record(self, kind: str, data: dict[str, object]) -> None:
        try:
            self.live.record_music(kind, data)
        except (sqlite3.Error, OSError) as exc:
            log.error("music entry not saved: %s", type(exc).__name__)
            if not self._record_failed:
                self._record_failed = True
                self._report(MUSIC_NOT_SAVED)
            return
        except KapsessionError:
            # The session ended between a deck event and this record: nothing to add.
            return
        self._record_failed = False

    # --- the therapist's keys ----------------------------------------------------------------------
    def toggle_silence(self) -> None:
        if self.player is not None:
            self.player.unsilence() if self.player.silenced else self.player.silence()
            self.changed.emit()

    def toggle_pause(self) -> None:
        if self.player is not None:
            self.player.resume() if self.player.paused else self.player.pause()
            self.changed.emit()

    def skip(self) -> None:
        if self.player is not None:
            self.player.skip()
            self.changed.emit()

    def alternate(self, kind: str) -> None:
        """Alt+[ (softer) / Alt+] (deeper): the phase's alternate of that kind, at once with a
        crossfade; where the phase has none, one line says so and nothing changes."""
        if self.player is None:
            return
        if self.player.alternate(kind) is None:
            self._report(f"This part of the arc has no {kind} track to change to.")
        self.changed.emit()

    def step_volume(self, step: int) -> None:
        if self.player is None:
            return
        target = max(0, min(100, self.target_volume + step))
        self.player.set_master_volume(target)
        self._settings.music_volume = target
        self.changed.emit()

    @property
    def target_volume(self) -> int:
        return 0 if self.player is None else self.player.target_volume

    # --- the session's end and the app's close ----------------------------------------------------
    def ending_entries(self) -> list[tuple[str, dict[str, object]]]:
        return [] if self.player is None else self.player.ending_entries()

    def session_ended(self) -> None:
        """The end (with ``ending_entries()``) was committed: fade out, record nothing more."""
        if self.player is not None:
            self.player.finish(record=False)
            self.changed.emit()

    def close(self) -> None:
        """The app closes with the session running: record the track's end, fade out quickly
        (a short blocking fade rather than a cut) and let libVLC go."""
        player = self.player
        app = QCoreApplication.instance()
        if player is not None and player.finished and not player.stopped and app is not None:
            # The session ended and its fade-out is under way: let it finish on its own timer
            # (the live screen is going away; the home screen must not wait for it).
            self.setParent(app)
            self._detached = True
            return
        self._timer.stop()
        if player is not None and not player.stopped:
            player.finish(record=self.live.record.state != "ended")
            start = self._audio_time()
            steps = 10
            for i in range(1, steps + 1):
                time.sleep(FAREWELL_FADE_S / steps)
                # The finish fade takes PAUSE_FADE_S; its clock runs faster here to end in 1 s.
                player.tick(self.live.elapsed(), start + i * PAUSE_FADE_S / steps)
                if player.stopped:
                    break
        self._free_decks()

    def _free_decks(self) -> None:
        decks, self.decks = self.decks, None
        if decks is not None:
            try:
                self._release(decks)
            except Exception as exc:  # libVLC teardown must never take the app down
                log.warning("music decks not released cleanly: %s", type(exc).__name__)

    # --- the live screen's line --------------------------------------------------------------------
    def line(self) -> str:
        """One line: what plays, in which phase, how long the phase has left; or why not."""
        if self.player is None:
            return self.unavailable
        if self.player.finished or self.decks is None:
            return "Music ended with the session."
        now = self.player.now_playing()
        volume = f"vol {self.target_volume}"
        if self.player.silenced:
            return f"Music faded to silence · Alt+M brings it back · {volume}"
        if self.player.paused:
            return f"Music paused · Alt+P resumes · {volume}"
        if now is None:
            return f"♪ Between phases: silence · {volume}"
        title, phase, left = now
        return (
            f"♪ {title} · {phase.capitalize()} · {minutes_seconds(left)} left in phase · {volume}"
        )

    def state(self) -> dict[str, Any]:
        """For tests and the benchmark: what the controller is doing."""
        return {
            "available": self.player is not None,
            "ticking": self._timer.isActive(),
            "line": self.line(),
        }
