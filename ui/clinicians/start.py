"""Who is charting when the app opens (DESIGN.md, "Clinicians, signatures, the medical record"):

- $KAPSESSION_CLINICIAN with $KAPSESSION_CLINICIAN_PIN (scripted runs, the test suites): that
  clinician, with no prompt (registered first, as a therapist, on a folder with none yet);
  a wrong PIN gets the usual prompt;
- a rehearsal without it: the demo clinician;
- a folder with no clinician yet: the first one is created (after the encryption question);
- else: who is charting, with their PIN.

And the screen lock: any active clinician's PIN opens it, and they are then charting."""

from __future__ import annotations

import logging
from collections.abc import Callable

from kapsession.clock import SystemClock
from kapsession.errors import KapsessionError
from kapsession.storage import clinicians
from kapsession.storage.store import Store

log = logging.getLogger("kapsession.ui.clinicians")


def choose_at_start(store: Store, rehearsal: bool, smoke: bool) -> bool:
    """Set who is charting on `store`. False when the person at the screen chose to quit.
    --smoke charts nothing and asks nothing: no PIN check (an Argon2id verify, ~175 ms) in the
    start-up it measures, and no clinician registered by a packaging check."""
    if smoke:
        return True
    clock = SystemClock()
    try:
        found = clinicians.from_environment(store, clock, rehearsal=rehearsal)
    except KapsessionError as exc:  # a wrong PIN in the environment: the usual prompt
        log.warning("clinician from the environment refused: %s", type(exc).__name__)
        found = None
    if found is not None:
        clinicians.charting_as(store, found)
        return True
    from .dialogs import AddClinicianDialog, SwitchDialog

    if not [c for c in clinicians.active_clinicians(store) if c.has_pin]:
        first = AddClinicianDialog(store, first=True, clock=clock)
        if not first.exec() or first.added is None:
            return False
        clinicians.charting_as(store, first.added)
        return True
    return bool(SwitchDialog(store, title="Who is charting?", clock=clock).exec())


def lock_verifier(
    store: Store, base: Callable[[str], bool] | None, opened: Callable[[], None]
) -> Callable[[str], bool] | None:
    """The screen lock's check: an active clinician's PIN (who is then charting, and `opened`
    runs), else the lock's own (its PIN or the passphrase). None when there is neither."""
    if base is None and not clinicians.active_clinicians(store):
        return None

    def verify(typed: str) -> bool:
        try:
            who = clinicians.with_pin(store, typed)
        except KapsessionError:
            who = None
        if who is not None:
            clinicians.charting_as(store, who)
            opened()
            return True
        return base(typed) if base is not None else False

    return verify
