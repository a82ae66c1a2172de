"""The client's measures in a session's exports (issue 18): the JSON document carries the
course, the FHIR bundle one QuestionnaireResponse per administration (LOINC 44249-1 PHQ-9,
69737-5 GAD-7, item answers and the total) that the R4B models validate, and the PDF summary a
"Measures over the course" section with its chart."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest

from kapsession.clock import FakeClock
from kapsession.exports import session_export
from kapsession.integration import measures
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage import clinicians
from kapsession.storage.store import Store
from tests.unit.conftest import T0, TZ

PHQ = [
    (date(2026, 1, 12), [3, 3, 2, 2, 2, 2, 2, 1, 1]),
    (date(2026, 2, 2), [1, 1, 1, 1, 1, 1, 1, 1, 0]),
    (date(2026, 2, 23), [1, 1, 0, 0, 1, 0, 0, 0, 0]),
]
GAD = [(date(2026, 1, 12), [2, 2, 2, 2, 1, 1, 1]), (date(2026, 2, 23), [1, 1, 1, 0, 0, 0, 0])]


def _doc(tmp_path: Path, with_measures: bool = True) -> dict[str, object]:
    store = Store.open(tmp_path / "data")
    clock = FakeClock(T0)
    clinicians.charting_as(store, clinicians.add(store, "A. Rivera", "therapist", "", "1234", T0))
    service = SessionService(store, clock, TZ, "A. Rivera")
    record = service.plan(SessionPlan("K-021", "KAP sublingual", "sublingual", 200.0, 60, ""))
    live = service.give_dose(record.id)
    clock.advance(600)
    live.end("done")
    if with_measures:
        for instrument, series in (("phq9", PHQ), ("gad7", GAD)):
            for day, answers in series:
                measures.add_measure(
                    store, tmp_path / "data", "K-021", instrument, answers, clock, taken_on=day
                )
        measures.add_measure(
            store,
            tmp_path / "data",
            "K-021",
            "phq9",
            [0, 0, 1],
            clock,
            complete=False,
            source="client",
            timed=True,
        )
    doc = session_export.timeline(store, record.id, clock.now())
    store.close()
    return doc


def test_the_json_document_carries_the_course(tmp_path: Path) -> None:
    doc = _doc(tmp_path)
    course = doc["measures"]
    assert isinstance(course, dict)
    assert [i["id"] for i in course["instruments"]] == ["gad7", "phq9"]  # the files' order
    phq = [a for a in course["administrations"] if a["instrument"] == "phq9"]
    assert [a["total"] for a in phq] == [18.0, 8.0, 3.0, None]
    assert [a["flags"] for a in phq][1:] == [
        ["response"],
        ["response", "remission"],
        ["incomplete"],
    ]
    assert course["sessions"] == [{"id": 1, "number": 1, "date": "2026-03-02", "rehearsal": False}]
    json.dumps(doc)


def test_no_measures_no_key(tmp_path: Path) -> None:
    assert "measures" not in _doc(tmp_path, with_measures=False)


def test_the_fhir_bundle_has_a_validated_questionnaire_response_per_administration(
    tmp_path: Path,
) -> None:
    doc = _doc(tmp_path)
    bundle = json.loads(session_export.render(doc, "fhir", validate=True))
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    responses = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
        and str(e["resource"]["questionnaire"]).startswith("http://loinc.org/q/")
    ]
    by_q: dict[str, list[dict[str, object]]] = {}
    for r in responses:
        by_q.setdefault(str(r["questionnaire"]), []).append(r)
    assert sorted(by_q) == ["http://loinc.org/q/44249-1", "http://loinc.org/q/69737-5"]
    assert (
        len(by_q["http://loinc.org/q/44249-1"]) == 4
        and len(by_q["http://loinc.org/q/69737-5"]) == 2
    )
    first = by_q["http://loinc.org/q/44249-1"][0]
    [group] = first["item"]  # type: ignore[misc]
    assert group["linkId"] == "44249-1"
    links = [i["linkId"] for i in group["item"]]
    assert links[0] == "44250-9" and links[8] == "44260-8" and links[-1] == "44261-6"
    assert group["item"][-1]["answer"] == [{"valueInteger": 18}]
    assert group["item"][0]["answer"][0]["valueCoding"]["display"] == "Nearly every day"
    assert first["status"] == "completed" and first["authored"] == "2026-01-12"
    incomplete = by_q["http://loinc.org/q/44249-1"][-1]
    assert incomplete["status"] == "in-progress"
    assert "44261-6" not in [i["linkId"] for i in incomplete["item"][0]["item"]]  # type: ignore[index]


def test_the_pdf_summary_has_the_measures_section(tmp_path: Path) -> None:
    doc = _doc(tmp_path)
    pdf = session_export.render(doc, "pdf")
    plain = session_export.render(_doc(tmp_path / "b", with_measures=False), "pdf")
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf, tmp_path)
    assert "Measures over the course" in text and "PHQ-9 total" in text
    assert "moderately severe" in text and "S1" in text
    assert "Measures over the course" not in _pdf_text(plain, tmp_path)


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "x.pdf"
    path.write_bytes(pdf)
    try:
        return subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
    except FileNotFoundError:
        pytest.skip("pdftotext is not installed")
