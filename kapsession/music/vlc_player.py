"""The libVLC adapter: the only module that imports `vlc`, and only when sound is first needed.

python-vlc can raise SystemExit, NotImplementedError or OSError at import when libVLC is missing,
or hand back a None instance when its plugins are; every one of those means "no sound", never a
crash. libVLC calls its callbacks on its own threads, and calling libVLC from one deadlocks: the
pre-flight probe's one `amem` audio callback only sets a flag, and the music decks' event callbacks
only hand the event to `on_event` (the UI queues it to the GUI thread). No libVLC call ever happens
on libVLC's threads."""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kapsession.music.cue import CuePlayer, SilentPlayer
from kapsession.music.levels import MAX_DECK_VOLUME
from kapsession.music.probe import DETAIL_NOT_PLAYED, MediaProbe, Status, check_file

log = logging.getLogger("kapsession.music.cue")


class VlcCuePlayer:
    def __init__(self, vlc: Any, instance: Any) -> None:
        self._instance = instance
        self._player = instance.media_player_new()  # libVLC creates its audio output here
        self._done_states = (vlc.State.Ended, vlc.State.Error, vlc.State.Stopped)

    def play_cue(self, path: Path, volume: int) -> None:
        if not path.is_file():
            log.warning("cue file missing")
            return
        # No stop() first: stop() destroys libVLC's audio output, and with it any volume set
        # before play() (the chime then played at 100 %). set_media() ends a cue still playing
        # and keeps the output, so the volume below is in force from the first buffer.
        media = self._instance.media_new_path(os.fsencode(path))
        self._player.set_media(media)
        media.release()  # the player holds its own reference
        play_at_volume(self._player, max(0, min(100, int(volume))), self._done_states)

    def release(self) -> None:
        self._player.stop()
        self._player.release()


def open_cue_player(args: Sequence[str] = ("--quiet", "--no-video")) -> CuePlayer:
    """A libVLC cue player, or a SilentPlayer saying why sound is unavailable."""
    try:
        import vlc
    except (ImportError, OSError, NotImplementedError, SystemExit) as exc:
        log.warning("libVLC unavailable: %s", type(exc).__name__)
        return SilentPlayer(f"libVLC could not be loaded ({type(exc).__name__}).")
    try:
        instance = vlc.Instance(list(args))
    except Exception as exc:  # python-vlc raises assorted errors from a broken install
        log.warning("libVLC instance failed: %s", type(exc).__name__)
        return SilentPlayer(f"libVLC did not start ({type(exc).__name__}).")
    if instance is None:
        return SilentPlayer("libVLC started without its plugins (is vlc-plugin-base installed?).")
    return VlcCuePlayer(vlc, instance)


# How long play_at_volume waits for an audio output to exist so the volume is set before it is
# heard (it appears ~10-20 ms after play() when there was none).
VOLUME_SETTLE_S = 0.15


def play_at_volume(player: Any, volume: int, done_states: Sequence[Any]) -> None:
    """`player.play()` with `volume` (0-100) in force from the first buffer wherever libVLC lets
    it be. Must be called on the thread that owns the player (never a libVLC callback).

    libVLC applies a volume only to an audio output that exists: `audio_set_volume` returns -1
    and the volume is lost when there is none. A new media player has one (libVLC creates it
    with the player) and keeps it across media, so the volume set before play() is the one the
    output starts with (seen at amem's volume callback: 0.35 before the first buffer).
    `stop()` destroys it, as does `audio_set_callbacks`; the next play() then opens a new output
    at 100 % ~10-20 ms later (measured through amem: 87 ms at full volume before a 250 ms GUI
    poll got the volume in). So the volume is also set again, waiting briefly, the moment an
    output exists."""
    player.audio_set_volume(volume)
    player.play()
    deadline = time.monotonic() + VOLUME_SETTLE_S
    while player.audio_set_volume(volume) != 0:
        if time.monotonic() >= deadline or player.get_state() in done_states:
            break
        time.sleep(0.002)


# --- Pre-flight probe -------------------------------------------------------------------------
#
# Measured on libVLC 3.0.24 (Debian), one instance, `--aout=dummy`, files made by `wave`/sox:
# - parse (`parse_with_options(local)`): valid WAV/OGG/FLAC are `done` in 4-25 ms with their
#   duration and an audio track. Garbage is `done` too: 200 kB random bytes named .mp3 takes
#   ~500 ms and yields an audio track with 0 channels/0 Hz and duration 0; random bytes named
#   .ogg/.wav, a 44-byte WAV header, and a truncated OGG give duration 0 and no tracks; a FLAC
#   with an intact header and a random body parses with its full 2 s duration and an audio track.
#   A zero-length file and a missing file give `failed`.
# - decoding under `--aout=dummy`: valid files reach `Playing` in ~10 ms but `get_time()` does not
#   move for OGG at all (stayed 0 while playing), and the `played_abuffers` statistic is updated
#   lazily (a 2 s OGG reported `Ended` with 0 played buffers): neither is a usable signal.
# - decoding into `amem` callbacks (the signal used here): the first decoded samples of a valid
#   WAV/OGG/FLAC (8 kHz mono and 44.1 kHz stereo) arrive 2-30 ms after `play()`, faster than
#   real time; every garbage file above, including the FLAC that parsed with a duration, reaches
#   `Ended` after 5-200 ms having delivered no sample at all. The callback only sets a flag (no
#   libVLC call on libVLC's thread); all libVLC calls happen on the caller's thread.
# A track that decodes at first and breaks later is not caught here; playback catches it (an end
# far earlier than the duration, or time not advancing, skips to the next track).

PROBE_ARGS: tuple[str, ...] = ("--quiet", "--no-video", "--vout=dummy", "--aout=dummy")
_PARSE_DONE = 4  # libvlc_media_parsed_status_done; 0 is "not parsed yet"
_PARSE_STATUS = {1: "skipped", 2: "failed", 3: "timed out"}
_POLL_S = 0.003


class _DecodeFlag:
    """Set from libVLC's audio thread; read from ours. Only a bool assignment: no libVLC call."""

    def __init__(self) -> None:
        self.samples = False


class _ProbeJob:
    def __init__(self, vlc: Any, instance: Any, path: Path, timeout_s: float) -> None:
        self.vlc = vlc
        self.instance = instance
        self.path = path
        self.timeout_s = timeout_s
        self.media: Any = instance.media_new_path(os.fsencode(path))
        self.player: Any = None
        self.callback: Any = None
        self.flag = _DecodeFlag()
        self.duration_s: float | None = None
        self.deadline = time.monotonic() + timeout_s + 0.5  # libVLC's own timeout fires first
        self.parsing = True
        if self.media is None:
            raise OSError("libVLC could not create a media for this path")
        timeout_ms = max(1, int(timeout_s * 1000))
        if self.media.parse_with_options(vlc.MediaParseFlag.local, timeout_ms) == -1:
            self.media.release()
            raise OSError("libVLC could not start parsing it")

    def step(self, decode_check: bool) -> MediaProbe | None:
        """Advance without blocking; a verdict when there is one."""
        return self._step_parse(decode_check) if self.parsing else self._step_decode()

    def _step_parse(self, decode_check: bool) -> MediaProbe | None:
        status = int(self.media.get_parsed_status().value)
        if status == 0:
            if time.monotonic() > self.deadline:
                self.media.parse_stop()
                return self._verdict("undecodable", f"parsing took over {self.timeout_s:g} s")
            return None
        if status != _PARSE_DONE:
            what = _PARSE_STATUS.get(status, f"status {status}")
            return self._verdict("undecodable", f"libVLC parsing {what}")
        length_ms = self.media.get_duration()
        has_audio = _has_audio_track(self.vlc, self.media)
        if not length_ms or length_ms <= 0:
            return self._verdict("undecodable", "no duration: not an audio file libVLC knows")
        self.duration_s = length_ms / 1000.0
        if not has_audio:
            return self._verdict("undecodable", "no audio stream")
        if not decode_check:
            return self._verdict("ok", "parsed (decoding not checked)")
        self._start_decode()
        return None

    def _start_decode(self) -> None:
        flag = self.flag

        @self.vlc.CallbackDecorators.AudioPlayCb  # type: ignore[untyped-decorator]
        def on_samples(_data: Any, _samples: Any, count: int, _pts: int) -> None:
            if count:
                flag.samples = True

        self.callback = on_samples  # ctypes must keep it alive as long as the player
        self.player = self.instance.media_player_new()
        self.player.set_media(self.media)
        self.player.audio_set_callbacks(on_samples, None, None, None, None, None)
        self.player.audio_set_format("S16N", 44100, 2)
        self.parsing = False
        self.deadline = time.monotonic() + self.timeout_s
        self.player.play()

    def _step_decode(self) -> MediaProbe | None:
        state = self.player.get_state()
        if self.flag.samples:  # read after the state: samples before an end count
            return self._verdict("ok", "")
        State = self.vlc.State
        if state == State.Error:
            return self._verdict("undecodable", "libVLC error while decoding")
        if state in (State.Ended, State.Stopped):
            return self._verdict("undecodable", DETAIL_NOT_PLAYED)
        if time.monotonic() > self.deadline:
            return self._verdict("undecodable", f"no sound within {self.timeout_s:g} s")
        return None

    def _verdict(self, status: Status, detail: str) -> MediaProbe:
        return MediaProbe(self.path, status, self.duration_s, detail)

    def release(self) -> None:
        if self.player is not None:
            self.player.stop()
            self.player.release()
            self.player = None
        if self.media is not None:
            self.media.release()
            self.media = None
        self.callback = None


def probe_media(
    paths: Sequence[Path],
    timeout_s: float = 5.0,
    *,
    decode_check: bool = True,
    concurrency: int = 4,
    instance: Any = None,
    args: Sequence[str] = PROBE_ARGS,
) -> list[MediaProbe]:
    """Pre-flight check of audio files, one `MediaProbe` per entry, in order.

    The file system decides missing / unreadable / not_a_file / empty (kapsession.music.preflight);
    libVLC then parses each remaining file for its duration and an audio stream and, with
    `decode_check`, decodes it into `amem` callbacks until the first samples arrive (a few ms
    for a valid file; garbage ends with none). `concurrency` files are in flight at once, on
    one libVLC instance, all polled from the calling thread. `timeout_s` bounds each of the
    two steps for one file, so nothing blocks forever. Duplicate entries (same real path) are
    probed once. Without libVLC, files that pass the file-system check are "unchecked"."""
    entries = [Path(p) for p in paths]
    results: list[MediaProbe | None] = [check_file(p) for p in entries]
    todo = [i for i, r in enumerate(results) if r is None]
    if not todo:
        return [r for r in results if r is not None]

    owned = instance is None
    if owned:
        instance, reason = _new_instance(args)
        if instance is None:
            detail = f"libVLC unavailable: {reason}"
            return [
                r or MediaProbe(entries[i], "unchecked", None, detail)
                for i, r in enumerate(results)
            ]
    import vlc  # already imported by _new_instance or by whoever built `instance`

    by_key: dict[str, list[int]] = {}
    for i in todo:
        by_key.setdefault(os.path.realpath(entries[i]), []).append(i)
    pending = deque(by_key.values())
    active: list[tuple[list[int], _ProbeJob]] = []
    try:
        while pending or active:
            while pending and len(active) < max(1, concurrency):
                indexes = pending.popleft()
                try:
                    active.append(
                        (indexes, _ProbeJob(vlc, instance, entries[indexes[0]], timeout_s))
                    )
                except OSError as exc:
                    for i in indexes:
                        results[i] = MediaProbe(entries[i], "undecodable", None, str(exc))
            still: list[tuple[list[int], _ProbeJob]] = []
            for indexes, job in active:
                verdict = job.step(decode_check)
                if verdict is None:
                    still.append((indexes, job))
                    continue
                job.release()
                for i in indexes:
                    results[i] = dataclasses.replace(verdict, path=entries[i])
            active = still
            if active:
                time.sleep(_POLL_S)
    finally:
        for _, job in active:
            job.release()
        if owned:
            instance.release()
    return [r for r in results if r is not None]


def _has_audio_track(vlc: Any, media: Any) -> bool:
    """Whether libVLC's parse found an audio stream.

    Not python-vlc's `Media.tracks_get()`: it caches a C prototype typed with one
    `POINTER(MediaTrack)` class and checks each call's argument against it by class identity.
    In one full CI run that check began failing for every file ("expected LP_LP_MediaTrack
    instance instead of pointer to LP_MediaTrack": a second pointer class had appeared), which
    made every track "undecodable". Here the prototype takes untyped pointers, so no class
    identity is involved, and the array is released as libVLC asks."""
    track_pp = ctypes.POINTER(ctypes.POINTER(vlc.MediaTrack))
    get = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p)(
        ("libvlc_media_tracks_get", vlc.dll)
    )
    release = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint)(
        ("libvlc_media_tracks_release", vlc.dll)
    )
    tracks = track_pp()
    count = int(get(media, ctypes.byref(tracks)))
    try:
        return any(
            tracks[i].contents.type == vlc.TrackType.audio for i in range(count) if tracks[i]
        )
    finally:
        if count:
            release(tracks, count)


def _new_instance(args: Sequence[str]) -> tuple[Any, str]:
    """A libVLC instance, or None and the reason it could not be made."""
    try:
        import vlc
    except (ImportError, OSError, NotImplementedError, SystemExit) as exc:
        return None, f"could not be loaded ({type(exc).__name__})"
    try:
        instance = vlc.Instance(list(args))
    except Exception as exc:  # python-vlc raises assorted errors from a broken install
        return None, f"did not start ({type(exc).__name__})"
    if instance is None:
        return None, "started without its plugins (is vlc-plugin-base installed?)"
    return instance, ""


# --- Music decks ----------------------------------------------------------------------------
#
# Measured on libVLC 3.0.24 (Debian), `--aout=dummy`, a 1.5 s 8 kHz mono WAV made by `wave`:
# - `EndReached` arrives on a libVLC thread (never the caller's) ~0.5 s after `play()`: early by
#   about the `file-caching` value (1000 ms by default), as DESIGN.md says; `get_time()` stayed 0
#   for ~0.2 s, then read 300 ms until the end; `get_length()` is -1 before playback and 1500 once
#   playing. 200 kB of random bytes named .mp3 "end" (no error) after ~0.3 s with length 0; a
#   missing file raises `EncounteredError` within 1 ms of `play()` (the state then reads Ended).
# - volume: with `--aout=dummy`, `audio_set_volume` returns 0 at any time but `audio_get_volume`
#   always reads 0, so nothing is observable. With `amem` callbacks, `audio_set_volume` before
#   the audio output exists (before and right after `play()`) returns -1 and is lost: the output
#   starts at 100 % ~10 ms after `play()`; a volume set once playing reaches the volume callback
#   at once (70 -> 0.70). `stop()` destroys the output, so a track after a stop started again at
#   100 % (callbacks seen over two tracks at volume 40 then 70: 1.0, 0.4, 0.7, 1.0, 0.7). So a
#   deck never calls `stop()` on its player: `set_media()` ends a track as stop() would (it joins
#   the input thread) and keeps the output, whose volume, set before `play()`, is then in force
#   from the next track's first buffer (see play_at_volume). Where there is no output yet the deck
#   keeps the wanted volume and re-applies it after `play()` and on each `position_s()` poll until
#   a call succeeds while the player is playing and its time has moved (the first position
#   change), anew after every `play()`/`load()`: the GUI polls `position_s()` while a track starts.
# - volume above 100 (issue 17, loudness gain): libVLC's software volume is cubic, amplitude
#   (p/100)^3, with no cap at 100 (through amem without a volume callback, a 0.1 sine at 58, 100,
#   150, 200, 400 % peaked at 0.195, 1.0, 3.38, 8.0, 64 times its level), so the decks go to 200 %
#   (+18 dB). amem without a volume callback loses that gain on every new stream (the next track
#   on a deck played at 100 % while the deck's volume stood at 58): an amem quirk, the outputs
#   that play for real keep their volume (PulseAudio's stream volume) or ask for it again at each
#   start (ALSA's software volume); the tests observe volume through amem's volume callback.


# Called on libVLC's own thread with (deck index, "ended" | "error", detail, generation): it
# must only hand the event on (the UI emits a queued Qt signal), never call back into libVLC.
# `generation` is the deck's media generation when the event was raised: an event that reaches
# the GUI after the deck was stopped or loaded anew belongs to the media it replaced (compare
# with `VlcDeck.generation` and drop it), or a queued "ended" would end the next track.
DeckEventHandler = Callable[[int, str, str, int], None]
ERROR_DETAIL = "libVLC could not play this file (missing, unreadable or not audio)"
# Music decks play through the default audio output; no video, no console chatter.
DECK_ARGS: tuple[str, ...] = ("--quiet", "--no-video")


class VlcDeck:
    """A `Deck` on one `vlc.MediaPlayer` of a shared instance. Every method must be called from
    the same (GUI) thread; libVLC's event callbacks only call `on_event`."""

    def __init__(self, vlc: Any, instance: Any, index: int, on_event: DeckEventHandler) -> None:
        self.index = index
        self._vlc = vlc
        self._instance = instance
        self._player: Any = instance.media_player_new()
        self._volume = 100
        self._volume_pending = True
        # Bumped after every stop and load. libVLC 3 raises a media's events on its input
        # thread, which set_media() joins: once it has returned, the old media raises nothing
        # more, so an event read with the new generation is the new media's.
        self.generation = 0
        # python-vlc keeps the callbacks on this wrapper: it must live as long as the player.
        self._events: Any = self._player.event_manager()
        self._done_states = (vlc.State.Ended, vlc.State.Error, vlc.State.Stopped)
        self._event_types = (
            vlc.EventType.MediaPlayerEndReached,
            vlc.EventType.MediaPlayerEncounteredError,
        )

        def ended(_event: Any) -> None:  # libVLC thread: hand on, nothing else
            on_event(index, "ended", "", self.generation)

        def error(_event: Any) -> None:  # libVLC thread: hand on, nothing else
            on_event(index, "error", ERROR_DETAIL, self.generation)

        self._events.event_attach(self._event_types[0], ended)
        self._events.event_attach(self._event_types[1], error)

    def load(self, path: Path | str | bytes) -> None:
        """Stop whatever plays and load `path` (str, Path or raw bytes: undecodable names work)."""
        media = self._instance.media_new_path(os.fsencode(path))
        self._player.set_media(media)  # ends what played, keeps the audio output (see above)
        self.generation += 1
        if media is None:
            raise OSError("libVLC could not create a media for this path")
        media.release()  # the player holds its own reference
        self._volume_pending = True

    def play(self) -> None:
        self._volume_pending = True
        play_at_volume(self._player, self._volume, self._done_states)
        self._apply_volume()

    def pause(self) -> None:
        """Pause if playing (never toggles back to playing)."""
        self._player.set_pause(1)

    def stop(self) -> None:
        """Stop and unload. Not libVLC's stop(): it would destroy the audio output (see above)."""
        self._player.set_media(None)
        self.generation += 1

    def set_volume(self, volume: int) -> None:
        """0-200, clamped (above 100 a track is brought up: amplitude is (volume/100)^3,
        measured through `amem`, kapsession.music.levels). Kept and re-applied once the audio
        output exists (see above)."""
        self._volume = max(0, min(MAX_DECK_VOLUME, int(volume)))
        self._volume_pending = True
        self._apply_volume()

    @property
    def volume(self) -> int:
        """The volume last asked for (libVLC's own reading is not reliable; see above)."""
        return self._volume

    def position_s(self) -> float:
        ms: int = self._player.get_time()
        if self._volume_pending:
            self._apply_volume()
        return max(0, ms) / 1000.0

    def length_s(self) -> float | None:
        ms: int = self._player.get_length()
        return ms / 1000.0 if ms and ms > 0 else None

    def _apply_volume(self) -> None:
        ok = self._player.audio_set_volume(self._volume) == 0
        if (
            ok
            and self._player.get_state() == self._vlc.State.Playing
            and self._player.get_time() > 0
        ):
            self._volume_pending = False

    def release(self) -> None:
        """Detach the callbacks, stop and free the player. Idempotent."""
        if self._player is None:
            return
        for kind in self._event_types:
            self._events.event_detach(kind)
        self._player.stop()
        self._player.release()
        self._player = None


def open_decks(
    on_event: DeckEventHandler, args: Sequence[str] = DECK_ARGS
) -> tuple[VlcDeck, VlcDeck] | str:
    """Two music decks (index 0 and 1) on one new libVLC instance, or why music is unavailable.

    `on_event(deck_index, "ended" | "error", detail)` is called on a libVLC thread and must only
    hand the event on. The decks share the instance; releasing both decks leaves it to the garbage
    collector (use `release_decks` to free it at once)."""
    instance, reason = _new_instance(args)
    if instance is None:
        return f"Music unavailable: libVLC {reason}."
    import vlc  # already imported by _new_instance

    try:
        return VlcDeck(vlc, instance, 0, on_event), VlcDeck(vlc, instance, 1, on_event)
    except Exception as exc:  # a broken install fails here in assorted ways
        instance.release()
        return f"Music unavailable: libVLC players did not start ({type(exc).__name__})."


def release_decks(decks: tuple[VlcDeck, VlcDeck]) -> None:
    """Release both decks and their shared instance."""
    for deck in decks:
        deck.release()
    decks[0]._instance.release()
