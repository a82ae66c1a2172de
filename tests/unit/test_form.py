"""The monitoring form (issue 15): a rich medical session exports to one page laid out like the
REMS Patient Monitoring Form; pdftotext finds every field with its value and source T+, a field
with no source says "not recorded", and the export is noted on the timeline."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapsession.cli.commands import main
from kapsession.clock import FakeClock
from kapsession.exports import form, session_export
from kapsession.monitoring import adverse
from kapsession.monitoring.protocol import builtin_protocols
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.store import Store

from .exporthelpers import pdf_pages, pdftotext
from .rich_session import PREPARATION, T0, TZ

AUTHOR = "Dr. Test"


def build_medical(folder: Path) -> tuple[Store, int]:
    """A 75-minute sublingual session with a pre-dose BP, a booster, a desaturation recorded as a
    minor adverse event, vomiting, sedation and dissociation, a BP near 40 min, a discharge."""
    clock = FakeClock(T0)
    store = Store.open(folder)
    service = SessionService(store, clock, TZ, AUTHOR, builtin_protocols())
    record = service.plan(SessionPlan("C-044", "sublingual", "sublingual", 200.0, 75, "rest"))
    store.append(record.id, "preparation", clock.now(), TZ, None, PREPARATION, AUTHOR)
    clock.advance(300)
    live = service.give_dose(record.id)
    live.add_vitals("132/84 72 98 14")  # T+00:00 baseline
    live.add_observation("moaas", 5)
    clock.advance(17 * 60 + 5)
    _v, alert = live.add_vitals("128/80 70 86 12")  # T+17:05
    live.add_observation("moaas", 3)
    live.add_observation("dissociation", 3)
    clock.advance(40)
    live.add_vitals("126/80 70 95 14")  # T+17:45
    live.record_adverse_event("Oxygen desaturation (86)", "minor", "oxygen", "resolved", alert.seq)
    clock.advance(5 * 60)
    live.quick_event("booster_dose", mg=50, route="sublingual", lot="L-22")  # T+22:45
    clock.advance(4 * 60)
    live.quick_event("vomiting")  # T+26:45
    clock.advance(12 * 60 + 30)
    live.add_vitals("141/88 76 97 14")  # T+39:15
    live.add_observation("moaas", 5)
    clock.advance(16 * 60)
    live.add_vitals("130/82 70 97 14")  # T+55:15
    clock.advance(15 * 60)
    live.add_vitals("124/80 68 98 14")  # T+70:15
    live.add_observation("moaas", 5)
    clock.advance(60)
    passing = {
        "scores": {
            "activity": 2,
            "respiration": 2,
            "circulation": 2,
            "consciousness": 2,
            "spo2": 2,
        },
        "ride_home": True,
        "ready_at_t": 71 * 60.0,
    }
    live.end(discharge=passing)  # T+71:15
    return store, record.id


EXPECTED = [
    ("Medicine, dose, lot", "ketamine · 200 mg · sublingual · lot not recorded", "T+00:00"),
    ("Medicine, dose, lot", "ketamine booster · 50 mg · sublingual · lot L-22", "T+22:45"),
    ("Total monitoring time", "71 minutes", "T+1:11:15"),
    ("Would have been ready to leave", "yes, at T+55:15: criteria held from T+39:15", "T+55:15"),
    ("Ready to leave, as recorded by the clinician", "T+1:11:00", "T+1:11:15"),
    ("Blood pressure before the dose", "132/84 mmHg (baseline at the dose)", "T+00:00"),
    ("Blood pressure around 40 minutes", "141/88 mmHg", "T+39:15"),
    ("Blood pressure before discharge", "124/80 mmHg", "T+1:10:15"),
    ("Sedation (MOAA/S below 5)", "yes: Responds only to loud or repeated name (3)", "T+17:05"),
    ("Dissociation", "yes: Marked (3)", "T+17:05"),
    ("Respiratory depression", "yes: SpO2 86 %, RR 12/min", "T+17:05"),
    ("Serious adverse events", "none (1 minimal or minor recorded", "T+17:45"),
    ("Concomitant CNS depressants", "not recorded", "not recorded"),
]


def test_every_field_of_the_form_is_filled_from_the_timeline(tmp_path: Path) -> None:
    store, sid = build_medical(tmp_path / "data")
    doc = session_export.timeline(store, sid, T0)
    fields = form.form_fields(doc)
    got = [(f.label, f.value, f.source) for f in fields]
    assert len(got) == len(EXPECTED)
    for (label, value, source), (want_label, want_value, want_source) in zip(
        got, EXPECTED, strict=True
    ):
        assert label == want_label
        assert value.startswith(want_value), (label, value)
        assert source == want_source, (label, source)
    pdf = form.render(doc)
    assert len(pdf_pages(pdf, tmp_path)) == 1
    lines = pdftotext(pdf, tmp_path, layout=True).splitlines()
    for label, value, source in EXPECTED:
        # The row's first line holds the label's start, the value's start and the source T+.
        row = [ln for ln in lines if label[:15] in ln and source in ln]
        assert row, f"{label}: no line with its source {source}"
        assert any(value.split(" · ")[0][:14] in ln for ln in row), (label, row)
    store.close()


def test_the_cli_writes_the_form_and_notes_it_on_the_timeline(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    store, sid = build_medical(folder)
    store.close()
    out = tmp_path / "form.pdf"
    code = main(
        [
            "export",
            "--data-dir",
            str(folder),
            "--session",
            str(sid),
            "--format",
            "form",
            "-o",
            str(out),
        ]
    )
    assert code == 0 and out.read_bytes().startswith(b"%PDF")
    store = Store.open(folder)
    noted = [e for e in store.events(sid) if e.kind == "export"]
    assert [e.data["format"] for e in noted] == ["form"]
    store.close()


def test_a_planned_session_says_not_recorded_never_invents(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "data")
    service = SessionService(store, FakeClock(T0), TZ, AUTHOR, builtin_protocols())
    record = service.plan(SessionPlan("C-045", "sublingual", "sublingual", 200.0, 75, "rest"))
    doc = session_export.timeline(store, record.id, T0)
    fields = form.form_fields(doc)
    assert all(f.value == form.NOT_RECORDED or f.label == "Serious adverse events" for f in fields)
    text = pdftotext(form.render(doc), tmp_path)
    assert text.count("not recorded") >= 2 * (len(fields) - 1)
    store.close()


def test_adverse_events_reach_json_markdown_pdf_and_fhir(tmp_path: Path) -> None:
    from fhir.resources.R4B.bundle import Bundle

    from kapsession.exports import fhir_bundle, markdown_summary, pdf_summary

    from .exporthelpers import flowing

    store, sid = build_medical(tmp_path / "data")
    doc = session_export.timeline(store, sid, T0)
    (entry,) = [e for e in doc["events"] if e["kind"] == "adverse_event"]
    assert (entry["tier"], entry["intervention"], entry["outcome"]) == (
        "minor",
        "oxygen",
        "resolved",
    )
    line = "Oxygen desaturation (86) - minor; oxygen; outcome: resolved"
    assert line in markdown_summary.render(doc)
    assert line in flowing(pdftotext(pdf_summary.render(doc), tmp_path))
    bundle = Bundle.model_validate_json(fhir_bundle.render(doc))
    (event,) = [x.resource for x in bundle.entry if x.resource.__resource_type__ == "AdverseEvent"]
    assert event.actuality == "actual"
    assert [c.code for c in event.severity.coding] == ["mild", "minor"]
    assert event.seriousness.coding[0].code == "non-serious"
    assert event.outcome.text == "resolved"
    assert event.event.text == "Oxygen desaturation (86); intervention: oxygen"
    store.close()


def test_sessions_whose_form_is_not_exported_are_listed_oldest_first(tmp_path: Path) -> None:
    from datetime import timedelta

    from kapsession.exports.form_waiting import forms_waiting, waiting_line

    folder = tmp_path / "data"
    store, first = build_medical(folder)
    clock = FakeClock(T0 + timedelta(days=3))
    service = SessionService(store, clock, TZ, AUTHOR, builtin_protocols())
    second = service.plan(SessionPlan("C-046", "sublingual", "sublingual", 150.0, 75, "x"))
    live = service.give_dose(second.id)
    clock.advance(600)
    live.end("client left early")
    service.plan_rehearsal(time_scale=1.0, clock_origin=clock.now())  # never listed
    now = T0 + timedelta(days=5, hours=1)
    waiting = forms_waiting(store, now)
    assert [(w.session.id, w.days) for w in waiting] == [(first, 5), (second.id, 2)]
    assert waiting_line(waiting[0]) == "#1 · C-044 · session 5 days ago · form not exported"
    store.close()
    out = tmp_path / "f.pdf"
    argv = ["export", "--data-dir", str(folder), "--session", str(first), "--format", "form"]
    assert main([*argv, "-o", str(out)]) == 0
    store = Store.open(folder)
    assert [w.session.id for w in forms_waiting(store, now)] == [second.id]
    # Another format does not count as the form.
    argv = ["export", "--data-dir", str(folder), "--session", str(second.id), "--format", "pdf"]
    assert main([*argv, "-o", str(tmp_path / "s.pdf")]) == 0
    assert [w.session.id for w in forms_waiting(store, now)] == [second.id]
    store.close()


def _doc_with_events(events: list[dict[str, object]]) -> dict[str, object]:
    session = {
        "id": 7,
        "client": "C-1",
        "protocol": "sublingual",
        "route": "sublingual",
        "dose_mg": 100.0,
        "rehearsal": False,
        "state": "ended",
        "signatures": [],
    }
    return {
        "format": "kapsession.timeline/1",
        "exported_at": "2026-03-02T12:00:00Z",
        "session": session,
        "events": events,
    }


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=200),
            st.sampled_from(adverse.TIERS),
            st.text(max_size=500),
        ),
        max_size=12,
    )
)
def test_any_adverse_events_keep_the_form_on_one_page(
    tmp_path_factory: pytest.TempPathFactory, items: list[tuple[str, str, str]]
) -> None:
    events: list[dict[str, object]] = [
        {
            "seq": 1,
            "kind": "dose",
            "t": 0.0,
            "at": "2026-03-02T10:00:00Z",
            "tz": "UTC",
            "mg": 100.0,
        },
    ]
    for i, (event, tier, outcome) in enumerate(items, start=2):
        events.append(
            {
                "seq": i,
                "kind": "adverse_event",
                "t": 60.0 * i,
                "at": "",
                "tz": "UTC",
                "event": event,
                "tier": tier,
                "intervention": "none",
                "outcome": outcome,
            }
        )
    doc = _doc_with_events(events)
    fields = form.form_fields(doc)
    serious = [f for f in fields if f.label == "Serious adverse events"]
    assert serious and all(f.source for f in serious)
    pdf = form.render(doc)
    assert len(pdf_pages(pdf, tmp_path_factory.mktemp("form"))) == 1


def test_medication_entries_are_listed_once_with_the_dose_and_a_medicine_links_to_one(
    tmp_path: Path,
) -> None:
    """Entries shaped as DESIGN.md's `medication` kind (the medication log writes them): the one
    at the dose's moment is the dose, listed once; a rescue medicine is listed at its T+ and an
    adverse event treated with it links to its entry."""
    clock = FakeClock(T0)
    store = Store.open(tmp_path / "data")
    service = SessionService(store, clock, TZ, AUTHOR, builtin_protocols())
    record = service.plan(SessionPlan("C-047", "sublingual", "sublingual", 200.0, 75, "x"))
    live = service.give_dose(record.id)

    def medication(**data: object) -> int:
        event = live.timeline.append("medication", dict(data))
        return event.seq

    medication(
        drug="ketamine",
        dose=200,
        unit="mg",
        route="sublingual",
        lot="K-7",
        given_by="A. Rivera",
        total_mg=200,
    )
    clock.advance(26 * 60)
    vomit = live.quick_event("vomiting")
    clock.advance(60)
    rescue = medication(
        drug="ondansetron",
        dose=4,
        unit="mg",
        route="sublingual",
        lot="A12",
        given_by="B. Chen",
        total_mg=200,
    )
    live.record_adverse_event("Vomiting", "minimal", "medicine", "settled", linked_seq=rescue)
    with pytest.raises(Exception, match="not a medication entry"):
        live.record_adverse_event("Vomiting", "minimal", "medicine", "", linked_seq=vomit.seq)
    doc = session_export.timeline(store, record.id, T0)
    meds = [f for f in form.form_fields(doc) if f.label == "Medicine, dose, lot"]
    assert [(f.value, f.source) for f in meds] == [
        ("ketamine · 200 mg · sublingual · lot K-7 · by A. Rivera", "T+00:00"),
        ("ondansetron · 4 mg · sublingual · lot A12 · by B. Chen", "T+27:00"),
    ]
    text = pdftotext(form.render(doc), tmp_path, layout=True)
    assert any("ondansetron" in ln and "T+27:00" in ln for ln in text.splitlines())
    store.close()


def test_the_forms_waiting_query_works_on_an_encrypted_folder(tmp_path: Path) -> None:
    import secrets

    from kapsession.exports.form_waiting import forms_waiting

    store = Store.open(tmp_path / "data", key=secrets.token_bytes(32))
    clock = FakeClock(T0)
    service = SessionService(store, clock, TZ, AUTHOR, builtin_protocols())
    record = service.plan(SessionPlan("C-048", "sublingual", "sublingual", 150.0, 75, "x"))
    live = service.give_dose(record.id)
    live.end("ended early")
    assert [w.session.id for w in forms_waiting(store, clock.now())] == [record.id]
    doc = session_export.timeline(store, record.id, clock.now())
    payload = form.render(doc)
    session_export.record_output(
        store,
        store.session(record.id),
        "export",
        {"format": "form", "to": "file"},
        payload,
        TZ,
        AUTHOR,
        clock,
    )
    assert forms_waiting(store, clock.now()) == []
    store.close()
