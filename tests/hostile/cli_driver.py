"""What the hostile command-line tests share: a data folder with one dosed session (synthetic),
and running `kapsession` in-process with what it said and how it ended."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.cli import run

from kapsession.clock import FakeClock
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def dosed_store(folder: Path, key: bytes | None = None) -> Store:
    """FOLDER's store (opened, the caller closes it) with one session, dosed, and a note."""
    store = Store.open(folder, key=key)
    clock = FakeClock(T0)
    service = SessionService(store, clock, "Europe/Berlin", "Dr. Synthetic")
    plan = SessionPlan("C-HOSTILE", "sublingual", "sublingual", 200.0, 60, "synthetic")
    live = service.give_dose(service.plan(plan).id)
    clock.advance(60)
    live.add_note("synthetic note: the wave passed")
    return store


def expect_refused(argv: list[str], capsys: pytest.CaptureFixture[str], why: str) -> str:
    """Exit 2, nothing on standard output, one line on standard error that says WHY."""
    code, out, err = run(argv, capsys)
    assert (code, out) == (2, ""), (argv, code, out, err)
    assert err.count("\n") == 1 and err.startswith("kapsession: "), err
    assert why in err, err
    assert "Traceback" not in err
    return err
