"""Where the data folder is: --data-dir, then KAPSESSION_DATA_DIR, then the platform's user data folder."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import platformdirs

ENV_VAR = "KAPSESSION_DATA_DIR"
BACKUP_ENV_VAR = "KAPSESSION_BACKUP_DIR"
DB_NAME = "kapsession.sqlite3"
LOCK_NAME = "kapsession.lock"


def data_dir(
    explicit: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Path:
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit).expanduser()
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR]).expanduser()
    return Path(platformdirs.user_data_dir("kapsession", appauthor=False))


def resource_root() -> Path:
    """Where the shipped resources (``playlists/``: demo arcs, their audio, the cue chime) live:
    inside a PyInstaller bundle its unpacked folder (``sys._MEIPASS``), else the source tree."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent.parent
