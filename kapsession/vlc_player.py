"""The libVLC adapter: the only module that imports `vlc`, and only when sound is first needed.

python-vlc can raise SystemExit, NotImplementedError or OSError at import when libVLC is missing,
or hand back a None instance when its plugins are; every one of those means "no sound", never a
crash. No libVLC event callbacks are used here, so nothing runs on libVLC's threads."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .audio import CuePlayer, SilentPlayer

log = logging.getLogger("kapsession.audio")


class VlcCuePlayer:
    def __init__(self, instance: Any) -> None:
        self._instance = instance
        self._player = instance.media_player_new()

    def play_cue(self, path: Path, volume: int) -> None:
        if not path.is_file():
            log.warning("cue file missing")
            return
        self._player.stop()
        self._player.set_media(self._instance.media_new_path(str(path)))
        self._player.audio_set_volume(max(0, min(100, volume)))
        self._player.play()

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
    return VlcCuePlayer(instance)
