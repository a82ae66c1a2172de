"""Planning a session: every bad field is refused with a message that names it, nothing is stored,
and rehearsal clients never mix with real ones."""

from __future__ import annotations

import math
import re
import sqlite3
from datetime import UTC, datetime

import pytest

from kapsession.errors import InvalidEntry
from kapsession.session.live import REHEARSAL_CLIENT, SessionService, validate_plan
from kapsession.storage.store import Store

from .conftest import PlanFactory

BAD_FIELDS = [
    ({"route": "oral"}, "Route must be one of: sublingual, intramuscular"),
    ({"route": ""}, "Route"),
    ({"route": "Sublingual"}, "Route"),
    ({"dose_mg": math.nan}, "Dose must be a number"),
    ({"dose_mg": math.inf}, "Dose must be a number"),
    ({"dose_mg": -math.inf}, "Dose must be a number"),
    ({"dose_mg": True}, "Dose must be a number"),
    ({"dose_mg": "200"}, "Dose must be a number"),
    ({"dose_mg": -50.0}, "Dose must be more than 0 and at most 1000 mg"),
    ({"dose_mg": 0}, "Dose must be more than 0"),
    ({"dose_mg": 0.0}, "Dose must be more than 0"),
    ({"dose_mg": 1000.0001}, "at most 1000 mg"),
    ({"dose_mg": 1001}, "at most 1000 mg"),
    ({"planned_minutes": 44}, "Planned length must be a whole number of minutes from 45 to 120"),
    ({"planned_minutes": 121}, "Planned length"),
    ({"planned_minutes": 0}, "Planned length"),
    ({"planned_minutes": 60.0}, "Planned length must be a whole number"),
    ({"planned_minutes": 60.5}, "Planned length"),
    ({"planned_minutes": True}, "Planned length"),
    ({"client_code": ""}, "Client code is required"),
    ({"client_code": "   \t"}, "Client code is required"),
    ({"client_code": "C\x00017"}, "Client code contains control characters"),
    ({"client_code": "C-0\n17"}, "Client code contains control characters"),
    ({"client_code": "C\u200b017"}, "Client code contains control characters"),  # zero-width
    ({"client_code": "C" * 41}, "Client code can be at most 40 characters"),
    ({"protocol": ""}, "Protocol is required"),
    ({"protocol": "IM\x1b[31m"}, "Protocol contains control characters"),
    ({"protocol": "p" * 101}, "Protocol can be at most 100 characters"),
    ({"display_name": "Ada\x07"}, "Display name contains control characters"),
    ({"intention": "x" * 10_001}, "Intention can be at most 10,000 characters"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_FIELDS, ids=[repr(c) for c, _ in BAD_FIELDS])
def test_each_bad_field_is_refused_with_a_message_naming_it(
    make_plan: PlanFactory,
    service: SessionService,
    store: Store,
    changes: dict[str, object],
    message: str,
) -> None:
    with pytest.raises(InvalidEntry, match=re.escape(message)):
        validate_plan(make_plan(**changes))
    with pytest.raises(InvalidEntry, match=re.escape(message)):
        service.plan(make_plan(**changes))
    assert store.sessions() == [] and store.clients() == [], "a refused plan stores nothing"


@pytest.mark.parametrize(
    "changes",
    [
        {"dose_mg": 1000},
        {"dose_mg": 0.5},
        {"planned_minutes": 45},
        {"planned_minutes": 120},
        {"route": "intramuscular"},
        {"route": "intravenous"},
        {"route": "intranasal"},
        {"client_code": "C" * 40},
        {"client_code": "Kæthe-Ø"},
    ],
)
def test_the_edges_of_every_range_are_accepted(
    make_plan: PlanFactory, service: SessionService, changes: dict[str, object]
) -> None:
    record = service.plan(make_plan(**changes))
    assert record.state == "planned"


def test_a_valid_plan_is_cleaned(make_plan: PlanFactory) -> None:
    plan = validate_plan(
        make_plan(
            client_code="  C-017 ",
            protocol=" Sublingual 75\t",
            dose_mg=200,
            display_name="   ",
            intention="  Meet the fear.  ",
        )
    )
    assert (plan.client_code, plan.protocol, plan.intention) == (
        "C-017",
        "Sublingual 75",
        "Meet the fear.",
    )
    assert plan.dose_mg == 200.0 and isinstance(plan.dose_mg, float)
    assert plan.display_name is None


def test_the_database_refuses_what_validation_would_have_caught(store: Store) -> None:
    """The CHECK constraints stand behind validate_plan if some code skips it."""
    client = store.add_client("C-1", None, False, datetime(2026, 3, 2, tzinfo=UTC))
    for bad in ({"dose_mg": 0}, {"route": "oral"}, {"planned_minutes": 200}):
        values = {
            "client_id": client.id,
            "protocol": "p",
            "route": "sublingual",
            "dose_mg": 200.0,
            "planned_minutes": 75,
            "created_at": "2026-03-02T09:00:00.000Z",
            **bad,
        }
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            store.plan_session(values)
    assert store.sessions() == []


def test_a_real_client_code_cannot_be_used_for_a_rehearsal(
    make_plan: PlanFactory, service: SessionService, store: Store
) -> None:
    real = service.plan(make_plan(client_code="C-017"))

    with pytest.raises(InvalidEntry, match="belongs to a real client; rehearsals use the demo"):
        service.plan(make_plan(client_code="C-017"), rehearsal=True)

    assert [s.id for s in store.sessions()] == [real.id]
    client = store.client_by_code("C-017")
    assert client is not None and client.rehearsal is False


def test_the_demo_client_cannot_be_used_for_a_real_session(
    make_plan: PlanFactory, service: SessionService, store: Store
) -> None:
    rehearsal = service.plan_rehearsal(time_scale=60, clock_origin=datetime(2026, 3, 2, tzinfo=UTC))
    assert rehearsal.rehearsal is True and rehearsal.client_code == REHEARSAL_CLIENT
    assert rehearsal.time_scale == 60 and rehearsal.clock_origin == "2026-03-02T00:00:00.000Z"

    with pytest.raises(InvalidEntry, match="belongs to a rehearsal client"):
        service.plan(make_plan(client_code=REHEARSAL_CLIENT))

    assert [s.id for s in store.sessions()] == [rehearsal.id]
    again = service.plan_rehearsal(time_scale=1, clock_origin=datetime(2026, 3, 3, tzinfo=UTC))
    assert again.client_id == rehearsal.client_id, "rehearsals share the one demo client"


def test_a_huge_integer_dose_is_refused_not_an_overflow() -> None:
    from kapsession.errors import InvalidEntry
    from kapsession.session.live import SessionPlan, validate_plan

    with pytest.raises(InvalidEntry, match="Dose"):
        validate_plan(SessionPlan("C-1", "KAP", "sublingual", 10**400, 60))  # type: ignore[arg-type]
