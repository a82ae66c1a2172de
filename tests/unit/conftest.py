"""Shared fixtures for the core's unit tests: a fake clock, a store, a session service."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kapsession.clock import FakeClock
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TZ = "Europe/Berlin"
AUTHOR = "Dr. Test"

PlanFactory = Callable[..., SessionPlan]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store.memory()
    yield s
    s.close()


@pytest.fixture
def file_store(tmp_path: Path) -> Iterator[Store]:
    """A real SQLite file through the one connection factory."""
    s = Store.open(tmp_path / "data")
    yield s
    s.close()


@pytest.fixture
def service(store: Store, clock: FakeClock) -> SessionService:
    return SessionService(store, clock, TZ, AUTHOR)


@pytest.fixture
def file_service(file_store: Store, clock: FakeClock) -> SessionService:
    return SessionService(file_store, clock, TZ, AUTHOR)


@pytest.fixture
def make_plan() -> PlanFactory:
    def make(**changes: object) -> SessionPlan:
        values: dict[str, object] = {
            "client_code": "C-017",
            "protocol": "Sublingual 75",
            "route": "sublingual",
            "dose_mg": 200.0,
            "planned_minutes": 75,
            "intention": "Meet the fear with curiosity.",
        }
        values.update(changes)
        return SessionPlan(**values)  # type: ignore[arg-type]

    return make
