"""Clinicians (schema m007): who charts and who signs. Each has a name (unique, fixed), credentials
(LCSW, MD, RN...), a role and a personal PIN kept only as an Argon2id hash (as the lock PIN,
kapsession.storage.security_settings). Never deleted: a clinician who leaves is deactivated and
their entries keep their name. Wrong PINs back off as the screen lock's do, on the audit trail
(kapsession.storage.unlock_tries), so a restart does not reset the wait.

The store knows who is charting (Store.set_charting): every entry written through it carries
that clinician's name and role, and every audit entry their name."""

from __future__ import annotations

import os
import sqlite3
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from kapsession.clock import Clock
from kapsession.errors import KapsessionError
from kapsession.storage import security_settings
from kapsession.storage.records import iso
from kapsession.storage.records import shown_author as shown_author
from kapsession.storage.records import unassigned as unassigned
from kapsession.storage.schema import CLINICIAN_ROLES
from kapsession.storage.unlock_tries import Backoff, UnlockTries

if TYPE_CHECKING:
    from kapsession.storage.store import Store

ROLES = CLINICIAN_ROLES
NAME_MAX = 80
CREDENTIALS_MAX = 40
PIN_DIGITS = security_settings.PIN_DIGITS
DEMO_NAME = "Demo clinician"
# Scripted runs and the test suites (DESIGN.md, "Clinicians, signatures, the medical record").
ENV_NAME = "KAPSESSION_CLINICIAN"
ENV_PIN = "KAPSESSION_CLINICIAN_PIN"
ENV_SIGNER_PIN = "KAPSESSION_SIGNER_PIN"


class ClinicianError(KapsessionError):
    """A clinician, a PIN or a signature refused; nothing was written."""


@dataclass(frozen=True)
class Clinician:
    id: int
    name: str
    credentials: str
    role: str
    active: bool
    demo: bool = False
    has_pin: bool = True

    @property
    def label(self) -> str:
        """ "A. Rivera, LCSW (therapist)"."""
        cred = f", {self.credentials}" if self.credentials else ""
        return f"{self.name}{cred} ({self.role})"


def charting_as(store: Store, clinician: Clinician) -> None:
    """From now on every entry and audit entry written through `store` is this clinician's."""
    if not clinician.active:
        raise ClinicianError(f"{clinician.name} is deactivated and can neither chart nor sign.")
    store.charting = (clinician.name, clinician.role)
    store.actor = clinician.name


def charting(store: Store) -> Clinician | None:
    """Who is charting on `store` now (None: nobody named)."""
    return by_name(store, store.charting[0]) if store.charting else None


def check_name(name: str) -> str:
    text = unicodedata.normalize("NFC", name).strip()
    if not text:
        raise ClinicianError("A clinician needs a name.")
    if len(text) > NAME_MAX:
        raise ClinicianError(f"A clinician's name is at most {NAME_MAX} characters.")
    if any(not c.isprintable() for c in text):
        raise ClinicianError("A clinician's name cannot hold control characters or line breaks.")
    if text.lower().startswith("unassigned"):
        raise ClinicianError("'unassigned' names entries written before clinicians; pick a name.")
    return text


def check_credentials(text: str) -> str:
    value = unicodedata.normalize("NFC", text).strip()
    if len(value) > CREDENTIALS_MAX or any(not c.isprintable() for c in value):
        raise ClinicianError(
            f"Credentials are one line of at most {CREDENTIALS_MAX} characters (e.g. LCSW, MD)."
        )
    return value


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ClinicianError(f"The role must be one of: {', '.join(ROLES)} (not {role!r}).")
    return role


def check_pin(pin: str) -> None:
    low, high = PIN_DIGITS
    if not (pin.isascii() and pin.isdigit() and low <= len(pin) <= high):
        raise ClinicianError(f"A clinician's PIN must be {low} to {high} digits.")


def _clinician(row: sqlite3.Row | tuple[object, ...]) -> Clinician:
    ident, name, cred, role, pin_hash, active, demo = row
    return Clinician(
        int(str(ident)),
        str(name),
        str(cred or ""),
        str(role),
        bool(active),
        bool(demo),
        pin_hash is not None,
    )


_COLS = "id, name, credentials, role, pin_hash, active, demo"


def all_clinicians(store: Store) -> list[Clinician]:
    rows = store.db.execute(f"SELECT {_COLS} FROM clinicians ORDER BY name COLLATE NOCASE")
    return [_clinician(r) for r in rows.fetchall()]


def active_clinicians(store: Store) -> list[Clinician]:
    return [c for c in all_clinicians(store) if c.active and not c.demo]


def by_name(store: Store, name: str) -> Clinician | None:
    row = store.db.execute(
        f"SELECT {_COLS} FROM clinicians WHERE name = ? COLLATE NOCASE",
        [unicodedata.normalize("NFC", name).strip()],
    ).fetchone()
    return _clinician(row) if row else None


def add(store: Store, name: str, role: str, credentials: str, pin: str, at: datetime) -> Clinician:
    """A new clinician (its PIN hashed with Argon2id); refused with a clear reason, and then
    nothing is written."""
    name, role = check_name(name), check_role(role)
    credentials = check_credentials(credentials)
    check_pin(pin)
    if by_name(store, name) is not None:
        raise ClinicianError(f"There is already a clinician named {name!r}.")
    pin_hash = security_settings.hash_pin(pin)
    with store.db.atomic():
        cur = store.db.execute(
            "INSERT INTO clinicians (name, credentials, role, pin_hash, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [name, credentials, role, pin_hash, iso(at)],
        )
        ident = int(cur.lastrowid or 0)
        store.audit("clinician_add", "clinicians", target_id=ident, detail=role, at=at)
    return Clinician(ident, name, credentials, role, True)


def demo(store: Store, at: datetime) -> Clinician:
    """The clinician a rehearsal charts as when none is named: no PIN, so it can neither sign
    nor be switched to."""
    found = by_name(store, DEMO_NAME)
    if found is not None:
        return found
    with store.db.atomic():
        cur = store.db.execute(
            "INSERT INTO clinicians (name, credentials, role, pin_hash, demo, created_at) "
            "VALUES (?, '', 'therapist', NULL, 1, ?)",
            [DEMO_NAME, iso(at)],
        )
        ident = int(cur.lastrowid or 0)
        store.audit("clinician_add", "clinicians", target_id=ident, detail="demo", at=at)
    return Clinician(ident, DEMO_NAME, "", "therapist", True, True, False)


def deactivate(store: Store, name: str, at: datetime) -> Clinician:
    found = by_name(store, name)
    if found is None:
        raise ClinicianError(f"There is no clinician named {name!r}.")
    if not found.active:
        raise ClinicianError(f"{found.name} is already deactivated.")
    with store.db.atomic():
        store.db.execute("UPDATE clinicians SET active = 0 WHERE id = ?", [found.id])
        store.audit("clinician_deactivate", "clinicians", target_id=found.id, at=at)
    return Clinician(found.id, found.name, found.credentials, found.role, False, found.demo)


class PinTries(UnlockTries):
    """Wrong clinician PINs (switching who charts, signing), with the screen lock's back-off,
    read from and written to the audit trail (`pin_failed`, reset by `pin_ok`)."""

    FAILED = "pin_failed"
    SUCCEEDED = "pin_ok"

    def ok(self) -> None:
        if self._store is not None and self._failures:
            self._store.audit(self.SUCCEEDED, "clinicians")
        self.succeeded()


def authenticate(store: Store, name: str, pin: str, clock: Clock) -> Clinician:
    """The active clinician NAME if PIN is theirs. A wrong PIN counts toward the back-off (kept
    across restarts); while a wait is pending no PIN is even checked."""
    tries = PinTries(store, clock)
    waiting = tries.state()
    if waiting.wait_s > 0:
        raise ClinicianError(_wait_text(waiting))
    found = by_name(store, name)
    if found is None:
        raise ClinicianError(f"There is no clinician named {name!r}.")
    if not found.active:
        raise ClinicianError(f"{found.name} is deactivated and can neither chart nor sign.")
    row = store.db.execute("SELECT pin_hash FROM clinicians WHERE id = ?", [found.id]).fetchone()
    pin_hash = row[0] if row else None
    if not pin_hash or not security_settings.pin_matches(str(pin_hash), pin):
        after = tries.failed()
        wait = f" {_wait_text(after)}" if after.wait_s > 0 else ""
        raise ClinicianError(f"Wrong PIN for {found.name}.{wait}")
    tries.ok()
    return found


def with_pin(store: Store, pin: str) -> Clinician | None:
    """The active clinician whose PIN this is (the screen lock opens with any of them)."""
    for clinician in active_clinicians(store):
        row = store.db.execute(
            "SELECT pin_hash FROM clinicians WHERE id = ?", [clinician.id]
        ).fetchone()
        if row and row[0] and security_settings.pin_matches(str(row[0]), pin):
            return clinician
    return None


def _wait_text(state: Backoff) -> str:
    return f"Too many wrong PINs ({state.failures}); try again in {max(1, round(state.wait_s))} s."


def from_environment(
    store: Store, clock: Clock, rehearsal: bool = False, register: bool = True
) -> Clinician | None:
    """Who charts in a scripted run: $KAPSESSION_CLINICIAN with $KAPSESSION_CLINICIAN_PIN (on a
    folder with no clinician yet it is registered first, as a therapist). None when it is not
    set (a rehearsal then charts as the demo clinician). A wrong PIN raises ClinicianError."""
    name = os.environ.get(ENV_NAME, "").strip()
    if not name:
        return demo(store, clock.now()) if rehearsal else None
    pin = os.environ.get(ENV_PIN, "")
    if by_name(store, name) is None:
        if not register:
            return None  # a command that only notes who ran it: unassigned
        if not active_clinicians(store):
            return add(store, name, "therapist", "", pin, clock.now())
    return authenticate(store, name, pin, clock)
