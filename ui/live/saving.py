"""The live screen's one way for a failed save to reach the therapist: a refused entry says
why, a failed write says the disk could not take it; the typed text or the dialog stays."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from kapsession.errors import KapsessionError

log = logging.getLogger("kapsession.ui.live")

NOT_SAVED = (
    "Not saved: the database could not be written (is the disk full or read-only?). "
    "Your text is still in the field; press Enter to try again."
)


def save_or_say(action: Callable[[], object], what: str, say: Callable[[str], None]) -> bool:
    """Run a save; a refused entry or a failed write is said (never half-stored). The message
    is cleared on success."""
    try:
        action()
    except KapsessionError as exc:
        say(f"Not saved: {exc}")
        return False
    except (sqlite3.Error, OSError) as exc:
        log.error("%s not saved: %s", what, type(exc).__name__)
        say(NOT_SAVED)
        return False
    say("")
    return True


@contextmanager
def db_write(what: str) -> Iterator[None]:
    """Inside a dialog's save: a failed write becomes a message in that dialog (and a log
    line naming only what failed), so the dialog stays open with the therapist's input."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        log.error("%s not saved: %s", what, type(exc).__name__)
        raise KapsessionError("the database could not be written; try again.") from None
