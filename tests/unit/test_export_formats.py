"""A session rich in every kind of entry, exported to JSON, Markdown, PDF and FHIR, and each
read back with a real tool: json, a CommonMark renderer, pdftotext, the FHIR R4 models."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
from fhir.resources.R4B.bundle import Bundle

from kapsession.clock import FakeClock
from kapsession.exports import fhir_bundle, markdown_summary, pdf_summary, timeline_json
from kapsession.monitoring.protocol import builtin_protocols
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.store import Store

from . import rich_session as rs
from .exporthelpers import Html, flowing, pdf_pages, pdftotext, render_markdown

EVERY_KIND = {
    "preparation",
    "dose",
    "check_due",
    "check_late",
    "check_missed",
    "check_snoozed",
    "check_skipped",
    "vitals",
    "alert",
    "alert_ack",
    "observation",
    "note",
    "amendment",
    "booster_dose",
    "phase",
    "track_started",
    "track_ended",
    "volume",
    "silence",
    "skip",
    "app_closed",
    "gap",
    "discharge",
    "session_ended",
    "worksheet",
}


@pytest.fixture
def rich(tmp_path: Path) -> Iterator[rs.Rich]:
    built = rs.build(tmp_path / "data")
    yield built
    built.store.close()


@pytest.fixture
def rehearsal(tmp_path: Path) -> Iterator[rs.Rich]:
    built = rs.build(tmp_path / "data", rehearsal=True)
    yield built
    built.store.close()


def _doc(r: rs.Rich) -> dict[str, Any]:
    return timeline_json.timeline(r.store, r.session_id, r.clock.now())


# --- JSON --------------------------------------------------------------------------------------


def test_the_session_holds_every_kind_of_entry_and_json_round_trips(rich: rs.Rich) -> None:
    doc = _doc(rich)
    assert {e["kind"] for e in doc["events"]} >= EVERY_KIND
    text = timeline_json.dumps(doc)
    assert json.loads(text) == doc
    # The file on disk (real SQLite) gives the same document after a reopen.
    rich.store.close()
    again = Store.open(rich.folder)
    try:
        assert timeline_json.timeline(again, rich.session_id, rich.clock.now()) == doc
    finally:
        again.close()
        rich.store = Store.open(rich.folder)


# --- Markdown ----------------------------------------------------------------------------------


def test_markdown_shows_every_section_in_order(rich: rs.Rich) -> None:
    md = markdown_summary.render(_doc(rich))
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Preparation",
        "## Vitals",
        "## Medication log",  # issue 15: the dose and booster with the ketamine total
        "## Alerts",
        "## Observations",
        "## Checks",
        "## Music",
        "## Notes",
        "## Integration worksheet",
        "## Follow-up",
        "## Session events",
        "## Signatures",
    ]
    assert "| Dose given | 2026-03-02 10:05 CET |" in md  # the dose time in the local zone
    assert "| Actual length | 75 min |" in md
    assert "| T+15:00 (10:20) | 181/84 | 77 | 97 | 14 | 36.8 |" in md
    assert "**ALERT** systolic" in md
    assert "acknowledged T+15:00 by unassigned (account Dr. Test): repeat in 5 min" in md
    assert "Monitoring: missed (due T+30:00)" in md
    assert "| client speaking, do not interrupt |" in md
    assert "- onset: T+15:00 to T+55:00" in md
    assert "Gap of 2 min: the app was closed" in md
    assert "Version 2 of 2" in md  # the current worksheet, not the first draft
    assert "first draft of what I experienced" not in md
    assert "REHEARSAL" not in md


def test_markdown_keeps_the_original_note_and_shows_its_amendment(rich: rs.Rich) -> None:
    html = render_markdown(markdown_summary.render(_doc(rich)))
    text = Html(html).text
    assert rs.AMENDED_ORIGINAL in text and rs.AMENDED_TEXT in text
    assert "reason: misheard: warm, not cold" in text
    assert "<blockquote>" in html


def test_hostile_note_text_renders_literally_and_intact(rich: rs.Rich) -> None:
    md = markdown_summary.render(_doc(rich))
    html = render_markdown(md)
    page = Html(html)
    # Nothing the therapist typed became markup: only the summary's own elements appear.
    assert set(page.tags) <= {
        "h1", "h2", "h3", "p", "strong", "em", "br", "ul", "li", "blockquote",
        "table", "thead", "tbody", "tr", "th", "td",
    }  # fmt: skip
    # Every table row has as many cells as its header: pipes in text did not split cells.
    # (7: the medication log, issue 15)
    assert len(set(page.rows[:11])) == 1 and all(n in (2, 3, 5, 7, 9) for n in page.rows)
    # The hostile note, rendered on its own, reads back exactly (line breaks included).
    alone = Html(render_markdown(markdown_summary.text(rs.HOSTILE)))
    assert set(alone.tags) <= {"p", "br"}
    assert alone.text.strip() == rs.HOSTILE
    assert markdown_summary.text(rs.HOSTILE) in md
    # The observation remark with a pipe, markup and a line break stays in its cell.
    assert "smiling | settled, <calm>\nbreathing slowly" in page.text
    # 100 kB survive whole.
    assert rs.LONG_NOTE.strip() in page.text


# --- PDF ---------------------------------------------------------------------------------------


def test_pdf_holds_the_notes_the_worksheet_and_the_vitals(rich: rs.Rich, tmp_path: Path) -> None:
    pdf = pdf_summary.render(_doc(rich))
    assert pdf.startswith(b"%PDF-")
    text = pdftotext(pdf, tmp_path)
    flow = flowing(text)
    for note in (rs.QUOTE, rs.INSIGHT, rs.AMENDED_ORIGINAL, rs.AMENDED_TEXT):
        assert note in flow
    assert "reason: misheard: warm, not cold" in flow
    for answer in (rs.SHARED_ANSWER, rs.NEXT_STEP, rs.UNSHARED_ANSWER, "I can choose softness."):
        assert answer in flow
    assert "Integration appointment in 3 days" in flow and "Check sleep <2 weeks>" in flow
    assert "What small next step will you take? (shared with the client)" in flow
    # Vitals table and the alert.
    assert "T+15:00 (10:20) 181/84 77 97 14 36.8" in flow
    assert "Systolic 181 mmHg is above 180" in flow
    # The hostile note's markup characters are text, not reportlab markup.
    assert "<b>no</b> <script>alert(1)</script> &amp; [link](http://x)" in flow
    assert "Ünïcödé ☯" in flow and "😀" in flow
    # 100 kB over many pages, every sentence there.
    assert flow.count("Long reflection, word after word.") == 3_000
    assert "REHEARSAL" not in text


def test_pdf_prints_what_dejavu_lacks_in_a_fallback_font(tmp_path: Path) -> None:
    note = "海は私と一緒に呼吸している 🌊 <i>not italic</i> ˪"
    built = rs.build(tmp_path / "data", note=note)
    pdf = pdf_summary.render(_doc(built))
    built.store.close()
    assert note in flowing(pdftotext(pdf, tmp_path))
    path = tmp_path / "s.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    assert "DroidSansFallback" in fonts.stdout and "Symbola" in fonts.stdout


def test_pdf_embeds_dejavu_and_draws_the_timeline(rich: rs.Rich, tmp_path: Path) -> None:
    pdf = pdf_summary.render(_doc(rich))
    path = tmp_path / "s.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    used = [line.split() for line in fonts.stdout.splitlines()[2:]]
    dejavu = [f for f in used if "DejaVuSans" in f[0]]
    assert dejavu and all(f[-5] == "yes" for f in dejavu), fonts.stdout  # embedded
    first = pdf_pages(pdf, tmp_path)[0]
    # Chart labels: panels, music phases and tracks as bands, the time axis.
    for label in ("BP mmHg / HR per min", "SpO2 %", "settling", "onset", "return"):
        assert label in first
    assert "Tide & <Breath>" in first and "minutes since dose" in first


def test_rehearsal_pdf_is_marked_on_every_page(rehearsal: rs.Rich, tmp_path: Path) -> None:
    pages = pdf_pages(pdf_summary.render(_doc(rehearsal)), tmp_path)
    assert len(pages) > 5
    assert all("REHEARSAL - training data, not a clinical record" in p for p in pages)


def test_rehearsal_markdown_and_json_are_marked(rehearsal: rs.Rich) -> None:
    doc = _doc(rehearsal)
    md = markdown_summary.render(doc)
    assert md.startswith("**REHEARSAL - training data, not a clinical record**\n")
    assert "| Rehearsal | **yes - training data** |" in md
    assert doc["notice"].startswith("REHEARSAL")


# --- FHIR --------------------------------------------------------------------------------------


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _coded(resources: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    return [r for r in resources if code in {c["code"] for c in r["code"].get("coding", [])}]


def test_fhir_bundle_validates_and_carries_codes_units_and_values(rich: rs.Rich) -> None:
    text = fhir_bundle.render(_doc(rich))
    model = Bundle.model_validate_json(text)  # the R4(B) models validate every resource
    assert model.type == "collection"
    bundle = json.loads(text)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("Patient") == 1 and kinds.count("Encounter") == 1
    assert all(e["fullUrl"].startswith("urn:uuid:") for e in bundle["entry"])

    (patient,) = _resources(bundle, "Patient")
    assert patient["identifier"] == [{"system": "urn:kapsession:client-code", "value": "C-017"}]
    assert "name" not in patient and "birthDate" not in patient
    (encounter,) = _resources(bundle, "Encounter")
    assert encounter["status"] == "finished"
    assert encounter["period"] == {
        "start": "2026-03-02T09:05:00.000Z",
        "end": "2026-03-02T10:20:00.000Z",
    }

    dose, booster = _resources(bundle, "MedicationAdministration")
    assert dose["medicationCodeableConcept"]["text"] == "ketamine"
    assert dose["dosage"]["dose"] == {
        "value": 200.0,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }
    routes = {(c["system"], c["code"]) for c in dose["dosage"]["route"]["coding"]}
    assert routes == {
        ("http://snomed.info/sct", "37839007"),
        ("http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration", "SL"),
    }
    assert booster["dosage"]["dose"]["value"] == 50.0
    assert dose["context"]["reference"] == bundle["entry"][1]["fullUrl"]

    observations = _resources(bundle, "Observation")
    for o in observations:
        assert o["category"][0]["coding"][0]["code"] == "vital-signs"
        assert o["subject"]["reference"] == bundle["entry"][0]["fullUrl"]
    panels = _coded(observations, "85354-9")
    assert len(panels) == 4
    alerted = next(p for p in panels if p["effectiveDateTime"] == "2026-03-02T09:20:00.000Z")
    systolic, diastolic = alerted["component"]
    assert systolic["code"]["coding"][0]["code"] == "8480-6"
    assert systolic["valueQuantity"] == {
        "value": 181.0,
        "unit": "mmHg",
        "system": "http://unitsofmeasure.org",
        "code": "mm[Hg]",
    }
    assert systolic["interpretation"][0]["coding"][0]["code"] == "H"
    assert diastolic["code"]["coding"][0]["code"] == "8462-4"
    assert diastolic["valueQuantity"]["value"] == 84.0 and "interpretation" not in diastolic
    units = {
        "8867-4": ("/min", [70.0, 77.0, 68.0, 66.0]),
        "9279-1": ("/min", [14.0, 14.0, 12.0]),
        "59408-5": ("%", [98.0, 97.0, 99.0, 98.0]),
        "8310-5": ("Cel", [36.6, 36.8, 36.7]),
    }
    for code, (unit, values) in units.items():
        found = _coded(observations, code)
        assert [o["valueQuantity"]["value"] for o in found] == values
        assert {o["valueQuantity"]["code"] for o in found} == {unit}
    assert all(
        {c["code"] for c in o["code"]["coding"]} == {"2708-6", "59408-5"}
        for o in _coded(observations, "2708-6")
    )

    responses = _resources(bundle, "QuestionnaireResponse")
    moaas = [r for r in responses if r["questionnaire"].endswith(":moaas")]
    assert [r["item"][0]["answer"][0]["valueCoding"]["code"] for r in moaas] == [
        "5", "4", "5", "5",
    ]  # fmt: skip
    (worksheet,) = [r for r in responses if r["questionnaire"].endswith(":integration-worksheet")]
    answers = {
        i["linkId"]: [a["valueString"] for a in i.get("answer", [])] for i in worksheet["item"]
    }
    assert answers["experienced"] == [rs.SHARED_ANSWER]
    assert answers["next_step"] == [rs.NEXT_STEP]
    assert answers["follow_up"] == ["Integration appointment in 3 days", "Check sleep <2 weeks>"]
    assert worksheet["status"] == "amended"  # the second version
    assert "meta" not in bundle


@pytest.mark.parametrize(
    "spoil",
    [
        lambda o: o.pop("status"),  # a required element missing
        lambda o: o.pop("code"),
        lambda o: o["valueQuantity"].update(value="ninety-eight"),  # wrong type
        lambda o: o.update(effectiveDateTime="at the peak"),  # not a FHIR dateTime
        lambda o: o.update(valueString="98"),  # two value[x] at once
        lambda o: o.update(comment_typo="x"),  # an element R4 does not have
    ],
)
def test_fhir_models_refuse_a_spoiled_observation(rich: rs.Rich, spoil: Any) -> None:
    """The validation is real: the exported bundle with one observation spoiled is refused."""
    bundle = json.loads(fhir_bundle.render(_doc(rich)))
    heart_rate = _coded(_resources(bundle, "Observation"), "8867-4")[0]
    spoil(heart_rate)
    with pytest.raises(pydantic.ValidationError):
        fhir_bundle.validate(bundle)  # what render(validate=True) runs before it writes
    with pytest.raises(pydantic.ValidationError):
        Bundle.model_validate(bundle)


def test_rehearsal_bundle_is_tagged_as_test_data(rehearsal: rs.Rich) -> None:
    bundle = json.loads(fhir_bundle.render(_doc(rehearsal)))
    Bundle.model_validate(bundle)
    tags = {(t["system"], t["code"]) for t in bundle["meta"]["tag"]}
    assert ("http://terminology.hl7.org/CodeSystem/v3-ActReason", "HTEST") in tags
    for entry in bundle["entry"]:
        assert entry["resource"]["meta"]["tag"] == bundle["meta"]["tag"]
    (encounter,) = _resources(bundle, "Encounter")
    assert "REHEARSAL" in encounter["type"][0]["text"]


def test_esketamine_protocol_exports_esketamine_by_nasal_route(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "data")
    clock = FakeClock(rs.T0)
    service = SessionService(store, clock, rs.TZ, rs.AUTHOR, builtin_protocols())
    record = service.plan(SessionPlan("C-9", "esketamine-rems", "intranasal", 84.0, 120))
    live = service.give_dose(record.id)
    live.add_vitals("132/84 72 97")
    bundle = json.loads(fhir_bundle.render(timeline_json.timeline(store, record.id, clock.now())))
    store.close()
    (dose,) = _resources(bundle, "MedicationAdministration")
    assert dose["medicationCodeableConcept"]["text"] == "esketamine"
    assert dose["dosage"]["dose"]["value"] == 84.0
    assert {c["code"] for c in dose["dosage"]["route"]["coding"]} == {"46713006", "NASINHL"}
    (encounter,) = _resources(bundle, "Encounter")
    assert encounter["status"] == "in-progress" and "end" not in encounter["period"]


def test_a_planned_session_without_entries_exports_to_every_format(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "data")
    service = SessionService(store, FakeClock(rs.T0), rs.TZ, rs.AUTHOR)
    record = service.plan(SessionPlan("C-3", "KAP", "intramuscular", 50, 45))
    doc = timeline_json.timeline(store, record.id, rs.T0)
    store.close()
    md = markdown_summary.render(doc)
    assert "No notes were taken." in md and "| Dose given | - |" in md
    text = flowing(pdftotext(pdf_summary.render(doc), tmp_path))
    assert "No vitals were recorded." in text and "No worksheet has been saved yet." in text
    bundle = json.loads(fhir_bundle.render(doc))
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Patient", "Encounter"]
    assert bundle["entry"][1]["resource"]["status"] == "planned"
