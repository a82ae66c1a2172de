"""Helpers for the monitoring widget tests: a live session that follows a shipped protocol.

The shared `live` fixture (tests/qt/conftest.py) has no protocol; these tests build their own
session through a SessionService that knows the shipped protocols, with the sublingual one
chosen. The fixtures `pservice`, `mlive` and `mview` are offered to tests/qt by its conftest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt

from helpers.qt import show_active
from kapsession.clock import FakeClock
from kapsession.monitoring.protocol import builtin_protocols
from kapsession.session.live import LiveSession, SessionPlan, SessionService
from kapsession.storage.store import Event, Store
from ui.live.screen import LiveView

ALT = Qt.KeyboardModifier.AltModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
LEFT = Qt.MouseButton.LeftButton

# The sublingual protocol (kapsession/protocols/sublingual.toml), 75 minutes: baseline at the
# dose, monitoring every 15 minutes, late after 5 and missed after 15 minutes.
BASELINE = "c00-baseline"
C15 = "c15-monitoring"
LATE_AFTER_S = 5 * 60


def protocol_service(store: Store, clock: FakeClock) -> SessionService:
    return SessionService(store, clock, "Europe/Berlin", "therapist", protocols=builtin_protocols())


def start_sublingual(service: SessionService, code: str = "C-070") -> LiveSession:
    record = service.plan(SessionPlan(code, "sublingual", "sublingual", 200.0, 75, "to rest"))
    return service.give_dose(record.id)


def open_view(qtbot, live: LiveSession) -> LiveView:
    view = LiveView(live)
    qtbot.addWidget(view)
    view.resize(1100, 760)
    show_active(qtbot, view)
    return view


@pytest.fixture
def pservice(store: Store, clock: FakeClock) -> SessionService:
    return protocol_service(store, clock)


@pytest.fixture
def mlive(pservice: SessionService) -> LiveSession:
    return start_sublingual(pservice)


@pytest.fixture
def mview(qtbot, mlive: LiveSession) -> Iterator[LiveView]:
    v = open_view(qtbot, mlive)
    yield v
    v.stop()


def of_kind(live: LiveSession, kind: str) -> list[Event]:
    return [e for e in live.events() if e.kind == kind]


def step(view: LiveView, clock: FakeClock, seconds: float) -> None:
    """Time passes and the view wakes as its timers would: the check job, then the tick."""
    clock.advance(seconds)
    view._on_check_time()
    view._on_tick()
