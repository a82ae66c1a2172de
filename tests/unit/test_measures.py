"""Measures (issue 18): instruments as data, scoring at every band boundary (worked examples),
the refusals (each names its field and writes nothing), storage in a real SQLite file with the
audit trail, the PHQ-9 item-9 prompt and its acknowledgement, and response/remission."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from kapsession.clock import FakeClock
from kapsession.integration import measures
from kapsession.integration.instrument import (
    InstrumentError,
    MeasureError,
    available_instruments,
    builtin_instruments,
    parse_instrument,
)
from kapsession.storage import audit, clinicians
from kapsession.storage.store import Store
from tests.unit.conftest import T0

PHQ9 = builtin_instruments()["phq9"]
GAD7 = builtin_instruments()["gad7"]
EBI = builtin_instruments()["ebi"]


def _answers(total: int, n: int, high: int = 3, last_zero: bool = False) -> list[int]:
    """A worked example: items filled from the first, each up to `high`, adding to `total`."""
    out = []
    for _ in range(n):
        out.append(min(high, total))
        total -= out[-1]
    assert total == 0
    if last_zero:
        assert out[-1] == 0
    return out


# PHQ-9: 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe.
PHQ9_EDGES = [
    (0, "minimal"),
    (4, "minimal"),
    (5, "mild"),
    (9, "mild"),
    (10, "moderate"),
    (14, "moderate"),
    (15, "moderately severe"),
    (19, "moderately severe"),
    (20, "severe"),
    (27, "severe"),
]
GAD7_EDGES = [
    (0, "minimal"),
    (4, "minimal"),
    (5, "mild"),
    (9, "mild"),
    (10, "moderate"),
    (14, "moderate"),
    (15, "severe"),
    (21, "severe"),
]


@pytest.mark.parametrize(("total", "band"), PHQ9_EDGES)
def test_phq9_scores_every_band_boundary(total: int, band: str) -> None:
    answers = _answers(total, 9)
    score = PHQ9.score(answers)
    assert (score.total, score.severity) == (total, band)


def test_phq9_worked_examples_by_hand() -> None:
    # 1+2+1+2+0+1+1+1+0 = 9 (mild); one more on item 5 makes 10 (moderate).
    assert PHQ9.score([1, 2, 1, 2, 0, 1, 1, 1, 0]).severity == "mild"
    assert PHQ9.score([1, 2, 1, 2, 1, 1, 1, 1, 0]).severity == "moderate"
    # 3+3+3+2+2+2+2+2+0 = 19 / + item 9 = 20: severe, and item 9 raises the flag.
    assert PHQ9.score([3, 3, 3, 2, 2, 2, 2, 2, 0]) == measures_score(19, "moderately severe", ())
    assert PHQ9.score([3, 3, 3, 2, 2, 2, 2, 2, 1]) == measures_score(20, "severe", ("self_harm",))


def measures_score(total: float, severity: str, flags: tuple[str, ...]) -> object:
    from kapsession.integration.instrument import Score

    return Score(total, severity, flags)


@pytest.mark.parametrize(("total", "band"), GAD7_EDGES)
def test_gad7_scores_every_band_boundary(total: int, band: str) -> None:
    score = GAD7.score(_answers(total, 7))
    assert (score.total, score.severity) == (total, band)


def test_the_ebi_ships_its_structure_and_scores_the_mean() -> None:
    assert len(EBI.items) == 6 and (EBI.low, EBI.high) == (0, 100)
    assert EBI.wording == "clinic" and all(i.text == "" for i in EBI.items)
    assert EBI.items[0].shown() == "Statement 1"
    assert EBI.score([100, 80, 60, 40, 20, 0]).total == 50.0
    assert EBI.score([0, 0, 0, 0, 0, 1]).total == 0.2


def test_only_phq9_item_9_raises_the_self_harm_flag() -> None:
    for item in range(9):
        answers = [0] * 9
        answers[item] = 3
        assert PHQ9.score(answers).flags == (("self_harm",) if item == 8 else ())


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ([1, 0, 2, 1, 0, 1, 1, 0], "item 9"),  # one missing
        ([1, 0, None, 1, 0, 1, 1, 0, 0], "item 3"),  # a gap
        ([1, 0, 4, 1, 0, 1, 1, 0, 0], "item 3"),  # out of range
        ([1, 0, -1, 1, 0, 1, 1, 0, 0], "item 3"),
        ([0] * 10, "items"),  # too many
    ],
)
def test_bad_answers_are_refused_with_the_field_named(
    answers: list[int | None], field: str
) -> None:
    with pytest.raises(MeasureError) as caught:
        PHQ9.score(answers)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def _count(store: Store) -> int:
    return int(store.conn.execute("SELECT count(*) FROM measures").fetchone()[0])


@pytest.fixture
def data(tmp_path: Path) -> Iterator[tuple[Store, FakeClock, Path]]:
    folder = tmp_path / "data"
    store = Store.open(folder)
    clock = FakeClock(T0)
    with store.db.atomic():
        store.add_client("K-001", None, False, T0)
    clinicians.charting_as(
        store, clinicians.add(store, "A. Rivera", "therapist", "LCSW", "1234", T0)
    )
    yield store, clock, folder
    store.close()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"instrument_id": "bdi2"}, "instrument"),
        ({"client_code": "NOPE"}, "client"),
        ({"taken_on": date(2026, 3, 3)}, "date"),  # T0 is 2026-03-02
        ({"answers": [1, 0, 2]}, "item 4"),
        ({"answers": [1, 0, 9, 0, 0, 0, 0, 0, 0]}, "item 3"),
    ],
)
def test_refusals_name_the_field_and_store_nothing(
    data: tuple[Store, FakeClock, Path], change: dict[str, object], field: str
) -> None:
    store, clock, folder = data
    args: dict[str, object] = {
        "client_code": "K-001",
        "instrument_id": "phq9",
        "answers": [1, 0, 2, 1, 0, 1, 1, 0, 0],
        "taken_on": None,
    } | change
    before = store.conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    with pytest.raises(MeasureError) as caught:
        measures.add_measure(
            store,
            folder,
            str(args["client_code"]),
            str(args["instrument_id"]),
            args["answers"],  # type: ignore[arg-type]
            clock,
            taken_on=args["taken_on"],  # type: ignore[arg-type]
        )
    assert caught.value.field == field
    assert _count(store) == 0
    assert store.conn.execute("SELECT count(*) FROM audit").fetchone()[0] == before


def test_a_measure_is_stored_scored_and_audited_in_a_real_file(
    data: tuple[Store, FakeClock, Path],
) -> None:
    store, clock, folder = data
    m = measures.add_measure(
        store,
        folder,
        "K-001",
        "PHQ9",
        [1, 0, 2, 1, 0, 1, 1, 0, 0],
        clock,
        taken_on=date(2026, 2, 20),
    )
    assert (m.instrument, m.taken_on, m.total, m.severity, m.complete) == (
        "phq9",
        "2026-02-20",
        6.0,
        "mild",
        True,
    )
    assert (m.source, m.author, m.author_role, m.flags) == ("paper", "A. Rivera", "therapist", ())
    entry = store.conn.execute(
        "SELECT author, action FROM audit WHERE target = 'measures' AND target_id = ?", [m.id]
    ).fetchone()
    assert tuple(entry) == ("A. Rivera", "create")
    assert audit.verify(store.conn).ok
    # append-only, and a raw edit is named by verify
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.conn.execute("UPDATE measures SET total = 0 WHERE id = ?", [m.id])
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.conn.execute("DELETE FROM measures WHERE id = ?", [m.id])
    store.conn.execute("DROP TRIGGER measures_no_update")
    store.conn.execute("DROP TRIGGER measures_audit_update")
    store.conn.execute("UPDATE measures SET total = 1 WHERE id = ?", [m.id])
    store.conn.commit()
    problems = [str(p) for p in audit.verify(store.conn).problems]
    assert any("measures id" in p and "total" in p for p in problems), problems


def test_an_incomplete_run_is_kept_as_incomplete_never_scored(
    data: tuple[Store, FakeClock, Path],
) -> None:
    store, clock, folder = data
    m = measures.add_measure(
        store,
        folder,
        "K-001",
        "phq9",
        [2, 2, 2],
        clock,
        source="client",
        complete=False,
        timed=True,
    )
    assert (m.complete, m.total, m.severity) == (False, None, "")
    assert m.answers == (2, 2, 2, None, None, None, None, None, None)
    assert m.taken_at == "2026-03-02T09:00:00.000Z"
    # the database itself refuses a total on an incomplete row
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute(
            "INSERT INTO measures (client_id, instrument, taken_on, answers, complete, total, "
            "source, author, recorded_at) VALUES (1, 'phq9', '2026-03-02', '[]', 0, 3, "
            "'client', 'x', 'now')"
        )
    [listed] = measures.measures_json(store, folder, "K-001")
    assert listed["total"] is None and "incomplete" in listed["flags"]
    assert measures.course(store, folder, "K-001")[0].points == ()


def test_item_9_raises_a_prompt_until_a_clinician_acknowledges_it(
    data: tuple[Store, FakeClock, Path],
) -> None:
    store, clock, folder = data
    calm = measures.add_measure(store, folder, "K-001", "phq9", [0] * 9, clock)
    flagged = measures.add_measure(store, folder, "K-001", "phq9", [0] * 8 + [1], clock)
    assert calm.flags == () and flagged.flags == ("self_harm",)
    [prompt] = measures.open_prompts(store)
    assert prompt.measure.id == flagged.id and "item 9" in prompt.text()
    assert "unacknowledged" in measures.measures_json(store, folder, "K-001")[1]["flags"]
    # nobody named: refused
    charting = store.charting
    store.charting = None
    with pytest.raises(Exception, match="named clinician"):
        measures.acknowledge(store, flagged.id, clock)
    store.charting = charting
    clock.advance(300)
    done = measures.acknowledge(store, flagged.id, clock)
    assert (done.acknowledged_by, done.acknowledged_at) == ("A. Rivera", "2026-03-02T09:05:00.000Z")
    assert measures.open_prompts(store) == []
    row = store.conn.execute(
        "SELECT author, action FROM audit WHERE target = 'measure_acks'"
    ).fetchone()
    assert tuple(row) == ("A. Rivera", "create")
    # an incomplete run that reached item 9 still raises it
    measures.add_measure(
        store, folder, "K-001", "phq9", [0] * 8 + [2], clock, complete=False, source="client"
    )
    assert len(measures.open_prompts(store)) == 1


def test_a_deactivated_clinician_cannot_acknowledge(data: tuple[Store, FakeClock, Path]) -> None:
    store, clock, folder = data
    flagged = measures.add_measure(store, folder, "K-001", "phq9", [0] * 8 + [3], clock)
    clinicians.deactivate(store, "A. Rivera", T0)
    with pytest.raises(sqlite3.DatabaseError, match="active clinician"):
        measures.acknowledge(store, flagged.id, clock)
    assert len(measures.open_prompts(store)) == 1


def test_response_and_remission_are_marked_against_the_first_score(
    data: tuple[Store, FakeClock, Path],
) -> None:
    store, clock, folder = data
    totals = [
        (date(2026, 1, 5), 18),
        (date(2026, 1, 19), 10),
        (date(2026, 2, 2), 9),
        (date(2026, 2, 16), 4),
    ]
    for day, total in totals:
        measures.add_measure(
            store, folder, "K-001", "phq9", _answers(total, 9), clock, taken_on=day
        )
    [phq] = measures.course(store, folder, "K-001")
    marks = [(p.total, p.response, p.remission) for p in phq.points]
    # 10 is not half of 18; 9 is exactly half (a drop of 50 %); 4 is under 5.
    assert marks == [(18, False, False), (10, False, False), (9, True, False), (4, True, True)]
    listed = measures.measures_json(store, folder, "K-001")
    assert [m["flags"] for m in listed] == [[], [], ["response"], ["response", "remission"]]
    assert [m["severity"] for m in listed] == ["moderately severe", "moderate", "mild", "minimal"]


def test_a_clinic_adds_its_own_instrument_and_the_ebi_wording(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "instruments"
    folder.mkdir(parents=True)
    (folder / "who5.toml").write_text(
        '[instrument]\nid = "who5"\nname = "WHO-5"\nscoring = "sum"\nlow = 0\nhigh = 5\n'
        + '[[items]]\ntext = "I have felt cheerful"\n' * 5,
        encoding="utf-8",
    )
    ebi = '[instrument]\nid = "ebi"\nname = "EBI"\nscoring = "mean"\nlow = 0\nhigh = 100\n'
    (folder / "ebi.toml").write_text(
        ebi + "".join(f'[[items]]\ntext = "Statement text {n}"\n' for n in range(1, 7)),
        encoding="utf-8",
    )
    (folder / "phq9.toml").write_text(
        '[instrument]\nid = "phq9"\nname = "Mine"\nlow = 0\nhigh = 3\n[[items]]\ntext = "x"\n',
        encoding="utf-8",
    )
    found, errors = available_instruments(tmp_path / "data")
    assert found["who5"].max_total == 25
    assert found["ebi"].items[0].text == "Statement text 1"
    assert found["phq9"].name == "PHQ-9"
    assert [(e.file, e.field) for e in errors] == [("phq9.toml", "instrument.id")]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('[instrument]\nid = "x"\n', "instrument.name"),
        ('[instrument]\nid = "x"\nname = "X"\nlow = 0\nhigh = 3\n', "items"),
        (
            '[instrument]\nid = "x"\nname = "X"\nlow = 3\nhigh = 3\n[[items]]\ntext="a"\n',
            "instrument.high",
        ),
        (
            '[instrument]\nid = "x"\nname = "X"\nlow = 0\nhigh = 3\n[[items]]\ntext="a"\n'
            '[[bands]]\nlow = 0\nhigh = 1\nlabel = "a"\n',
            "bands[0].high",
        ),
        (
            '[instrument]\nid = "x"\nname = "X"\nlow = 0\nhigh = 3\n[[items]]\ntext="a"\n'
            "colour = 1\n",
            "items[0].colour",
        ),
    ],
)
def test_a_bad_instrument_file_names_the_field(text: str, field: str) -> None:
    with pytest.raises(InstrumentError) as caught:
        parse_instrument(text, "x.toml")
    assert caught.value.field == field


def test_measures_json_fields(data: tuple[Store, FakeClock, Path]) -> None:
    store, clock, folder = data
    measures.add_measure(
        store, folder, "K-001", "gad7", [3, 3, 3, 3, 3, 0, 0], clock, taken_on=date(2026, 3, 1)
    )
    [m] = measures.measures_json(store, folder, "K-001")
    assert {k: m[k] for k in ("instrument", "date", "total", "severity", "flags")} == {
        "instrument": "gad7",
        "date": "2026-03-01",
        "total": 15,
        "severity": "severe",
        "flags": [],
    }
    assert isinstance(m["total"], int)  # a sum is a whole number in the JSON, never 15.0
    json.dumps(m)
