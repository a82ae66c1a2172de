"""The app's settings in one typed place: what the therapist chose (chime, music volume, backup
folder, window places; kept by QSettings in the user's configuration folder) and what the
environment says (the audio output). Built once in ui/app.py and handed to the screens that
need it; no other module reads QSettings or the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QWidget

AUDIO_OUTPUT_ENV = "KAPSESSION_AUDIO_OUTPUT"
DEFAULT_VOLUME = 70


class Settings:
    def __init__(self, store: QSettings | None = None, env: Mapping[str, str] | None = None):
        self._store = store if store is not None else QSettings()
        self._env = dict(os.environ if env is None else env)

    # --- the live screen ---------------------------------------------------------------------
    @property
    def chime(self) -> bool:
        """A soft chime when a check falls due (off by default: the room is quiet)."""
        return bool(self._store.value("checks/chime", False, type=bool))

    @chime.setter
    def chime(self, on: bool) -> None:
        self._store.setValue("checks/chime", on)

    @property
    def music_volume(self) -> int:
        value = self._store.value("music/volume", DEFAULT_VOLUME, type=int)
        return max(0, min(100, int(value))) if isinstance(value, int) else DEFAULT_VOLUME

    @music_volume.setter
    def music_volume(self, volume: int) -> None:
        self._store.setValue("music/volume", volume)

    @property
    def audio_output(self) -> str:
        """libVLC's audio output (`dummy` for tests and headless machines); empty: the system's."""
        return self._env.get(AUDIO_OUTPUT_ENV, "").strip()

    # --- backups -------------------------------------------------------------------------------
    @property
    def backup_folder(self) -> str | None:
        """The folder the clinic chose for automatic backups (None: the default rule)."""
        chosen = self._store.value("backup/folder")
        return chosen if isinstance(chosen, str) and chosen else None

    @backup_folder.setter
    def backup_folder(self, folder: str | None) -> None:
        if folder:
            self._store.setValue("backup/folder", folder)
        else:
            self._store.remove("backup/folder")

    # --- windows remember their size and place ----------------------------------------------
    def restore_geometry(self, window: QWidget, key: str, width: int, height: int) -> None:
        """The window's last geometry, else the given size."""
        saved = self._store.value(f"{key}/geometry")
        if not (isinstance(saved, QByteArray) and window.restoreGeometry(saved)):
            window.resize(width, height)

    def remember_geometry(self, window: QWidget, key: str) -> None:
        self._store.setValue(f"{key}/geometry", window.saveGeometry())
