"""Sound enters the program only here: the cue-player interface the core and UI talk to.

The libVLC adapter (kapsession.music.vlc_player) is the only module that imports `vlc`, lazily; when
libVLC is missing or broken, a SilentPlayer stands in and says why. The music arc (a later issue)
grows this interface; today it plays the optional check-due chime."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from kapsession.storage.paths import resource_root

# The repository's playlists/ folder, or the bundle's copy when frozen (sys._MEIPASS).
PLAYLISTS = resource_root() / "playlists"
CHIME = PLAYLISTS / "cues" / "soft-chime.wav"
# The arc a rehearsal plays (the lozenge protocol's 75 minutes), when it is there.
REHEARSAL_ARC = PLAYLISTS / "lozenge-75.arc.toml"
# Quiet on purpose: a cue for the therapist, not a sound the client should notice (0-100).
CHIME_VOLUME = 35


class CuePlayer(Protocol):
    def play_cue(self, path: Path, volume: int) -> None: ...


class SilentPlayer:
    """No sound: libVLC is unavailable. `reason` says why, for the one line the UI shows."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def play_cue(self, path: Path, volume: int) -> None:
        return None
