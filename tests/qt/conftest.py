"""Widget tests run on real Qt, offscreen, with real SQLite stores and a fake clock."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402

from kapsession.clock import FakeClock  # noqa: E402
from kapsession.session import LiveSession, SessionPlan, SessionService  # noqa: E402
from kapsession.store import Store  # noqa: E402


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    s = Store.open(tmp_path / "data")
    yield s
    s.close()


@pytest.fixture
def service(store: Store, clock: FakeClock) -> SessionService:
    return SessionService(store, clock, "Europe/Berlin", "therapist")


@pytest.fixture
def live(service: SessionService) -> LiveSession:
    record = service.plan(SessionPlan("C-014", "KAP sublingual", "sublingual", 200.0, 75, "to rest"))
    return service.give_dose(record.id)
