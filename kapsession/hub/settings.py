"""A data folder's hub settings, written by `kapsession hub join`: the hub's address without
its password (hub.json, readable), the room's login password (hub.password, 0600) and a copy of
the clinic key (hub-clinic.key, 0600). A folder without hub.json has not joined a hub."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from kapsession.hub import clinic_key
from kapsession.hub.connection import HubError, parse_dsn, without_secrets
from kapsession.hub.server_schema import check_room_name

SETTINGS_FILE = "hub.json"
PASSWORD_FILE = "hub.password"
KEY_FILE = "hub-clinic.key"


@dataclass(frozen=True)
class HubSettings:
    dsn: str  # without the password
    room: str
    key: bytes
    password: str | None


def joined(folder: Path) -> bool:
    return (folder / SETTINGS_FILE).is_file()


def join(folder: Path, dsn: str, room: str, key_file: Path) -> HubSettings:
    """Record the hub for this folder; checked whole before anything is written."""
    check_room_name(room)
    key = clinic_key.read(key_file)
    password = parse_dsn(dsn).get("password")
    settings = HubSettings(without_secrets(dsn), room, key, password)
    clinic_key.write_copy(folder / KEY_FILE, key)
    if password is not None:
        _write(folder / PASSWORD_FILE, password.encode(), 0o600)
    else:
        (folder / PASSWORD_FILE).unlink(missing_ok=True)
    # Last: a folder counts as joined only once everything it needs is in place.
    text = json.dumps({"dsn": settings.dsn, "room": room}, indent=2) + "\n"
    _write(folder / SETTINGS_FILE, text.encode(), 0o644)
    return settings


def load(folder: Path) -> HubSettings | None:
    path = folder / SETTINGS_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise HubError(
            f"{path} cannot be read ({type(exc).__name__}); run `kapsession hub join` again."
        ) from None
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("dsn"), str)
        or not isinstance(raw.get("room"), str)
    ):
        raise HubError(
            f"{path} is not a kapsession hub settings file; run `kapsession hub join` again."
        )
    key = clinic_key.read(folder / KEY_FILE)
    try:
        password: str | None = (folder / PASSWORD_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        password = None
    return HubSettings(raw["dsn"], check_room_name(raw["room"]), key, password)


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
