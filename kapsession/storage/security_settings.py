"""The data folder's security settings (`security.json`, 0600, written atomically): whether the
clinic chose to encrypt (or "not now"), and the screen lock: an optional PIN (stored only as an
Argon2id hash) and the idle time after which the screen locks.

Nothing here is clinical, and no secret is stored in the clear."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kapsession.errors import KapsessionError
from kapsession.storage.datakey import write_private_atomically

SETTINGS_FILE = "security.json"
DEFAULT_IDLE_MINUTES = 5.0
PIN_DIGITS = (4, 12)


@dataclass(frozen=True)
class SecuritySettings:
    encryption: str | None = None  # "on", "declined" or None (never asked)
    pin_hash: str | None = None
    idle_minutes: float = DEFAULT_IDLE_MINUTES

    @property
    def idle_ms(self) -> int:
        return int(self.idle_minutes * 60_000)

    def with_pin(self, pin: str | None) -> SecuritySettings:
        return replace(self, pin_hash=hash_pin(pin) if pin else None)


def load(folder: Path) -> SecuritySettings:
    """The folder's settings; defaults where the file is missing or a value makes no sense
    (a damaged settings file must never keep the therapist out of a running session)."""
    try:
        doc: Any = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return SecuritySettings()
    if not isinstance(doc, dict):
        return SecuritySettings()
    encryption = doc.get("encryption")
    pin_hash = doc.get("pin_hash")
    idle = doc.get("idle_minutes", DEFAULT_IDLE_MINUTES)
    if not isinstance(idle, int | float) or isinstance(idle, bool) or not 0.05 <= idle <= 240:
        idle = DEFAULT_IDLE_MINUTES
    return SecuritySettings(
        encryption if encryption in ("on", "declined") else None,
        pin_hash if isinstance(pin_hash, str) and pin_hash.startswith("$argon2id$") else None,
        float(idle),
    )


def save(folder: Path, settings: SecuritySettings) -> None:
    doc = {
        "encryption": settings.encryption,
        "pin_hash": settings.pin_hash,
        "idle_minutes": settings.idle_minutes,
    }
    write_private_atomically(
        folder / SETTINGS_FILE, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
    )


def check_pin(pin: str) -> None:
    low, high = PIN_DIGITS
    if not (pin.isascii() and pin.isdigit() and low <= len(pin) <= high):
        raise KapsessionError(f"The screen-lock PIN must be {low} to {high} digits.")


def hash_pin(pin: str) -> str:
    from argon2 import PasswordHasher

    check_pin(pin)
    return PasswordHasher().hash(pin)  # Argon2id, argon2-cffi's RFC 9106 low-memory profile


def pin_matches(pin_hash: str, pin: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return PasswordHasher().verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


def unlocker(
    settings: SecuritySettings, folder: Path, encrypted: bool
) -> Callable[[str], bool] | None:
    """How the screen lock checks what was typed: the PIN if one is set, else the clinic
    passphrase of an encrypted folder; None when there is neither (Enter unlocks; the lock
    then only hides the screen)."""
    if settings.pin_hash:
        pin_hash = settings.pin_hash
        return lambda typed: pin_matches(pin_hash, typed)
    if encrypted:
        from kapsession.storage import datakey

        def passphrase_ok(typed: str) -> bool:
            try:
                datakey.unlock(folder, typed)
            except KapsessionError:
                return False
            return True

        return passphrase_ok
    return None
