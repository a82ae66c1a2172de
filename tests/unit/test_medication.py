"""The medication log (issue 15): the medicines list, the one-line entry (examples and
property-based), the running ketamine total and its ceiling alert over every shipped protocol
on the fake clock, and the start gate over every shipped protocol."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kapsession.clock import FakeClock
from kapsession.errors import InvalidEntry
from kapsession.exports import timeline_json
from kapsession.integration.preparation import (
    Preparation,
    Screening,
    save_preparation,
    session_gate,
    validate_preparation,
)
from kapsession.monitoring.dose_rules import GateFacts, gate_items, require_reason
from kapsession.monitoring.medication import (
    MAX_LOT_CHARS,
    UNITS,
    available_catalogue,
    builtin_catalogue,
    ceiling_alert,
    ketamine_total,
    parse_medication,
)
from kapsession.monitoring.protocol import builtin_protocols, parse_protocol
from kapsession.session.live import LiveSession, SessionPlan, SessionService
from kapsession.storage.store import Store

from .conftest import AUTHOR, TZ

PROTOCOLS = builtin_protocols()
CAT = builtin_catalogue()


# --- the medicines list -----------------------------------------------------------------------


def test_the_shipped_list_has_the_rescue_medicines_with_atc_codes() -> None:
    atc = {name: m.atc for name, m in CAT.medicines.items()}
    assert atc["ketamine"] == "N01AX03"
    assert atc["esketamine"] == "N06AX27"
    assert atc["ondansetron"] == "A04AA01"
    assert atc["lorazepam"] == "N05BA06"
    assert atc["midazolam"] == "N05CD08"
    assert atc["clonidine"] == "C02AC01"
    assert atc["oxygen"] == "V03AN01"
    assert CAT.find("Zofran") is CAT.medicines["ondansetron"]
    for m in CAT.medicines.values():
        assert m.route in m.max or m.max, m.name


def test_a_clinic_adds_its_own_and_a_bad_file_hides_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "medicines"
    folder.mkdir()
    (folder / "clinic.toml").write_text(
        '[[medicines]]\nname = "promethazine"\nroute = "oral"\nunit = "mg"\nmax = { oral = 25 }\n',
        encoding="utf-8",
    )
    (folder / "broken.toml").write_text('[[medicines]]\nname = "x"\nroute = "ear"\n')
    (folder / "twice.toml").write_text(
        '[[medicines]]\nname = "ondansetron"\nroute = "oral"\nunit = "mg"\nmax = { oral = 8 }\n'
    )
    cat, problems = available_catalogue(tmp_path)
    assert cat.find("promethazine") is not None
    assert cat.find("ondansetron") is CAT.medicines["ondansetron"]
    assert len(problems) == 2
    assert any("broken.toml" in p and "route" in p for p in problems)
    assert any("used twice" in p for p in problems)
    assert parse_medication("promethazine 25 mg", cat).known
    with pytest.raises(InvalidEntry, match="plausible maximum of 25 mg"):
        parse_medication("promethazine 50 mg", cat)


# --- the one-line entry -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "drug", "dose", "unit", "route", "lot"),
    [
        ("ondansetron 4 mg SL lot A12", "ondansetron", 4.0, "mg", "sublingual", "A12"),
        ("Ondansetron 4mg sl", "ondansetron", 4.0, "mg", "sublingual", ""),
        ("ketamine 50 IM", "ketamine", 50.0, "mg", "intramuscular", ""),
        ("zofran 8", "ondansetron", 8.0, "mg", "sublingual", ""),
        ("clonidine 0,1 mg PO", "clonidine", 0.1, "mg", "oral", ""),
        ("clonidine 100 mcg", "clonidine", 100.0, "mcg", "oral", ""),
        ("O2 2 L/min", "oxygen", 2.0, "L/min", "inhalation", ""),
        ("midazolam 1 mg IV lot M-7 ", "midazolam", 1.0, "mg", "intravenous", "M-7"),
    ],
)
def test_typed_lines_read_as_administrations(
    line: str, drug: str, dose: float, unit: str, route: str, lot: str
) -> None:
    got = parse_medication(line, CAT)
    assert (got.drug, got.dose, got.unit, got.route, got.lot) == (drug, dose, unit, route, lot)
    assert got.known and got.warnings == ()


def test_an_unknown_medicine_is_allowed_with_a_warning() -> None:
    got = parse_medication("hydroxyzine 25 mg PO", CAT)
    assert not got.known and "not in the medicines list" in got.warnings[0]
    assert got.as_dict()["unlisted"] is True
    with pytest.raises(InvalidEntry, match="Route is missing"):
        parse_medication("hydroxyzine 25 mg", CAT)
    with pytest.raises(InvalidEntry, match="Unit is missing"):
        parse_medication("hydroxyzine 25", CAT)


REFUSED = [
    ("ondansetron 40 mg SL", "Dose is above the plausible maximum of 16 mg for ondansetron SL"),
    ("lorazepam 10 mg", "Dose is above the plausible maximum of 4 mg for lorazepam SL"),
    ("clonidine 400 mcg", "plausible maximum of 0.3 mg for clonidine PO"),
    ("esketamine 112 mg", "plausible maximum of 84 mg for esketamine IN"),
    ("ondansetron -4 mg", "Dose must be more than 0"),
    ("ondansetron 0 mg", "Dose must be more than 0"),
    ("ondansetron 4.4.4 mg", "Dose must be a number"),
    ("ondansetron four mg", "Dose is missing"),
    ("ondansetron", "Dose is missing"),
    ("ondansetron 4 L/min", "Unit does not fit ondansetron: use mg"),
    ("oxygen 2 mg", "Unit does not fit oxygen: use L/min"),
    ("ondansetron 4 mg/kg", "Unit must be one of"),
    ("ondansetron 4 mg SL lot " + "A" * (MAX_LOT_CHARS + 1), "Lot is longer than 40"),
    ("ondansetron 4 mg SL lot", "Lot is missing"),
    ("ondansetron 4 mg ear", "Route must be one of"),
    ("ondansetron 4 mg SL at T+99", "Time is in the future"),
    ("ondansetron 4 mg SL at 10:30", "Time must be written T\\+MM"),
    ("4 mg SL", "Medicine is missing"),
    ("", "Type the medicine"),
    ("ondansetron 4\tmg", "control characters"),
    ("x" * 201, "longer than 200"),
]


@pytest.mark.parametrize(("line", "message"), REFUSED)
def test_bad_lines_are_refused_naming_the_field(line: str, message: str) -> None:
    with pytest.raises(InvalidEntry, match=message):
        parse_medication(line, CAT, elapsed=30 * 60.0)


def test_an_earlier_time_is_taken_and_the_limit_holds_in_other_units() -> None:
    got = parse_medication("ondansetron 4 mg SL at T+12:30", CAT, elapsed=20 * 60.0)
    assert got.t == 750.0
    assert parse_medication("clonidine 300 mcg", CAT).dose == 300.0


# Property-based: whatever is typed, the parser either refuses with InvalidEntry (never another
# exception) or returns an administration that is valid by every rule, and reads back the same.
TOKENS = st.sampled_from(
    [
        "ondansetron", "ketamine", "lorazepam", "oxygen", "clonidine", "zofran", "aspirin",
        "4", "0.5", "-2", "1e3", "٤", "４", "4mg", "40", "900", ",5", "mg", "mcg", "g",
        "L/min", "SL", "IM", "iv", "IN", "PO", "lot", "A12", "at", "T+5", "T+5:30", "T+999",
        "µg", "%", "\u00a0", "",
    ]
)  # fmt: skip


@given(st.lists(TOKENS, max_size=8).map(" ".join))
@settings(max_examples=400, deadline=None)
@example("ondansetron 4 mg SL lot A12")
def test_any_line_is_refused_cleanly_or_stored_fully_valid(line: str) -> None:
    try:
        got = parse_medication(line, CAT, elapsed=600.0)
    except InvalidEntry as exc:
        assert str(exc).strip()
        return
    assert got.dose > 0 and got.unit in UNITS and len(got.lot) <= MAX_LOT_CHARS
    assert got.t is None or 0 <= got.t <= 600.0
    medicine = CAT.find(got.drug)
    assert (medicine is not None) == got.known
    if medicine is not None:
        assert got.unit in medicine.units
        limit = medicine.max.get(got.route)
        if limit is not None:
            factor = UNITS[got.unit]
            base = UNITS[medicine.unit]
            value = got.dose * (factor[1] / base[1] if factor and base else 1)
            assert value <= limit * (1 + 1e-9)
    again = parse_medication(
        f"{got.drug} {got.dose} {got.unit} {got.route}" + (f" lot {got.lot}" if got.lot else ""),
        CAT,
    )
    assert again.as_dict() == got.as_dict()


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80))
@settings(max_examples=300, deadline=None)
@example("ondansetron 4 mg SL lot A12")  # the accepted branch runs too
@example("midazolam 2,5 mg IV")
def test_arbitrary_text_never_escapes_as_another_error(line: str) -> None:
    """Any text is either a whole, plausible administration or one refusal that says why."""
    try:
        given = parse_medication(line, CAT, elapsed=600.0)
    except InvalidEntry as refused:
        assert str(refused).strip(), "a refusal says what is wrong"
        return
    assert given.drug.strip()
    assert given.dose > 0 and math.isfinite(given.dose)
    assert given.unit and given.route


# --- the running total and the ceiling, over every shipped protocol ---------------------------


def _start(
    store: Store, clock: FakeClock, protocol: str, mg: float, weight: float | None = None
) -> LiveSession:
    service = SessionService(store, clock, TZ, AUTHOR, PROTOCOLS)
    p = PROTOCOLS[protocol]
    record = service.plan(SessionPlan("C-015", protocol, p.route, mg, p.planned_minutes, "rest"))
    if weight is not None:
        prep = Preparation(screening=Screening(weight_kg=weight))
        save_preparation(store, record.id, prep, clock.now(), TZ, AUTHOR)
    return service.give_dose(record.id)


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_the_total_passes_the_ceiling_once_and_raises_an_alert(
    store: Store, clock: FakeClock, protocol: str
) -> None:
    rules = PROTOCOLS[protocol].dose_rules
    assert rules.ketamine_ceiling_mg is not None and rules.ceiling_source
    assert rules.last_food_hours is not None and rules.hold_systolic is not None
    drug = "esketamine" if "esketamine" in protocol else "ketamine"
    route = {"esketamine-rems": "IN"}.get(protocol, "IM" if drug == "ketamine" else "IN")
    first = 56.0 if drug == "esketamine" else 60.0
    live = _start(store, clock, protocol, first, weight=70.0)
    ceiling = min(
        rules.ketamine_ceiling_mg,
        (rules.ketamine_ceiling_mg_per_kg or 1e9) * 70.0,
    )
    assert live.medication.total_mg() == first
    clock.advance(20 * 60)
    # Rescue medicines do not count.
    (ond,) = live.add_medication("ondansetron 4 mg SL lot A12")
    assert ond.data["total_mg"] == first and ond.data["given_by"] == AUTHOR
    # Up to the ceiling: no alert (a total exactly at the ceiling is within it).
    step = ceiling - first
    events = live.add_medication(f"{drug} {step:g} mg {route}")
    assert [e.kind for e in events] == ["medication"]
    assert events[0].data["total_mg"] == pytest.approx(ceiling)
    clock.advance(5 * 60)
    med, alert = live.add_medication(f"{drug} 10 mg {route}")
    assert med.data["total_mg"] == pytest.approx(ceiling + 10)
    assert alert.kind == "alert" and alert.data["field"] == "ketamine_total_mg"
    assert alert.data["high"] == pytest.approx(ceiling)
    assert rules.ceiling_source in alert.data["message"]
    assert [a.seq for a in live.open_alerts()] == [alert.seq]
    live.acknowledge_alert(alert.seq, "prescriber informed")
    # Already past it: no second alert.
    assert [e.kind for e in live.add_medication(f"{drug} 1 mg {route}")] == ["medication"]
    assert "mg/kg" in live.medication.total_text()
    rows = live.medication.log()
    assert [r.entry.kind for r in rows] == [
        "dose",
        "medication",
        "medication",
        "medication",
        "medication",
    ]
    assert rows[-1].total_mg == pytest.approx(ceiling + 11)
    # A resumed session reads the ceiling frozen at the dose.
    again = SessionService(store, clock, TZ, AUTHOR, protocols={}).resume()
    assert again is not None and again.medication.rules == rules


def test_a_booster_counts_and_can_pass_the_ceiling(store: Store, clock: FakeClock) -> None:
    live = _start(store, clock, "sublingual", 200.0)
    assert live.medication.total_text() == "Ketamine 200 mg"
    clock.advance(30 * 60)
    booster = live.quick_event("booster_dose", mg=100.0, route="sublingual")
    assert booster.kind == "booster_dose"
    assert live.open_alerts() == []
    live.quick_event("booster_dose", mg=50.0, route="sublingual")
    (alert,) = live.open_alerts()
    assert "above the ceiling of 300 mg" in alert.data["message"]
    assert ketamine_total(live.events()) == 350.0


def test_per_kg_ceiling_needs_a_weight() -> None:
    assert ceiling_alert(0, 200, None, 1.5, None, "x") is None
    found = ceiling_alert(60, 120, 150, 1.5, 70, "src")
    assert found is not None and found["high"] == 105.0
    assert "1.5 mg/kg × 70 kg" in found["message"]


def test_a_refused_line_stores_nothing(store: Store, clock: FakeClock) -> None:
    live = _start(store, clock, "intramuscular", 50.0)
    before = len(live.events())
    for line, _ in REFUSED:
        with pytest.raises(InvalidEntry):
            live.add_medication(line)
    assert len(live.events()) == before
    assert len(store.events(live.record.id)) == before


def test_json_export_carries_the_medication_fields(store: Store, clock: FakeClock) -> None:
    live = _start(store, clock, "intramuscular", 50.0)
    clock.advance(600)
    live.add_medication("lorazepam 1 mg SL lot L-9")
    live.end(reason="test")
    doc = timeline_json.timeline(store, live.record.id, clock.now())
    (entry,) = [e for e in doc["events"] if e["kind"] == "medication"]
    for key in ("drug", "dose", "unit", "route", "lot", "given_by", "total_mg"):
        assert key in entry, key
    assert entry["total_mg"] == 50.0 and entry["lot"] == "L-9"
    # Every administration carries the total after it: the dose too.
    (dose,) = [e for e in doc["events"] if e["kind"] == "dose"]
    assert dose["total_mg"] == 50.0


# --- the start gate, over every shipped protocol ----------------------------------------------

NOW = datetime(2026, 3, 2, 10, 0)


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_the_gate_lists_what_is_unmet(protocol: str) -> None:
    rules = PROTOCOLS[protocol].dose_rules
    food_h, clear_h = rules.last_food_hours or 0, rules.last_clear_liquid_hours or 0
    ok = GateFacts(
        last_food=NOW - timedelta(hours=food_h),  # exactly at the rule: met
        last_clear_liquid=NOW - timedelta(hours=clear_h),
        predose_systolic=int(rules.hold_systolic or 0),
        predose_diastolic=int(rules.hold_diastolic or 0),
    )
    assert gate_items(rules, ok, NOW) == []
    bad = GateFacts(
        last_food=NOW - timedelta(hours=food_h) + timedelta(minutes=1),
        last_clear_liquid=None,
        predose_systolic=int(rules.hold_systolic or 0) + 1,
        predose_diastolic=80,
        readiness=("consent not signed", "no ride home arranged"),
    )
    items = gate_items(rules, bad, NOW)
    assert items[:2] == ["consent not signed", "no ride home arranged"]
    assert any(i.startswith("Last food") and f"{food_h:g} h" in i for i in items)
    assert any(i.startswith("Last clear liquid time not recorded") for i in items)
    assert any("above the hold threshold" in i for i in items)
    future = GateFacts(last_food=NOW + timedelta(hours=1))
    assert "Last food time is after now: check it" in gate_items(rules, future, NOW)
    assert "Pre-dose blood pressure not recorded" in gate_items(rules, future, NOW)


def test_going_ahead_needs_a_reason_which_is_recorded(store: Store, clock: FakeClock) -> None:
    service = SessionService(store, clock, TZ, AUTHOR, PROTOCOLS)
    record = service.plan(SessionPlan("C-016", "intramuscular", "intramuscular", 50.0, 60, "x"))
    prep = Preparation(
        screening=Screening(
            consent_signed=True,
            ride_home=True,
            contraindications_confirmed=True,
            medical_oversight=True,
            prescriber="Dr. P",
            fasting=True,
            weight_kg=70,
            last_food="2026-03-02 03:00",
            last_clear_liquid="2026-03-02 09:30",
            predose_bp="172/96",
        )
    )
    save_preparation(store, record.id, prep, clock.now(), TZ, AUTHOR)
    items = session_gate(store, record.id, PROTOCOLS["intramuscular"].dose_rules, NOW)
    assert len(items) == 2
    assert items[0].startswith("Last clear liquid 0 h 30 min ago")
    assert "172/96" in items[1] and "160/100" in items[1]
    with pytest.raises(InvalidEntry, match="needs a reason"):
        service.give_dose(record.id, (items, "  "))
    assert store.session(record.id).state == "planned"
    live = service.give_dose(record.id, (items, "prescriber reviewed BP, agreed"))
    dose = live.events()[[e.kind for e in live.events()].index("dose")]
    assert dose.data["start_gate"] == {"unmet": items, "reason": "prescriber reviewed BP, agreed"}
    assert require_reason([], "anything") == ""


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"weight_kg": 0.5}, "Weight must be"),
        ({"weight_kg": float("nan")}, "Weight must be"),
        ({"last_food": "yesterday"}, "Last food must be a date and time"),
        ({"last_food": "٢٠٢٦-03-02 07:30"}, "Last food must be a date and time"),
        ({"last_clear_liquid": "2026-13-01 10:00"}, "Last clear liquid must be"),
        ({"predose_bp": "120"}, "SYS/DIA"),
        ({"predose_bp": "80/120"}, "higher than the diastolic"),
        ({"predose_bp": "300/80"}, "Pre-dose systolic must be from"),
    ],
)
def test_preparation_gate_fields_are_checked(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidEntry, match=message):
        validate_preparation(Preparation(screening=Screening(**changes)))  # type: ignore[arg-type]


def test_a_protocol_file_with_a_bad_ceiling_names_the_field() -> None:
    base = (
        '[protocol]\nid = "x"\nname = "X"\nroute = "sublingual"\nplanned_minutes = 60\n'
        "late_after_minutes = 5\nmissed_after_minutes = 15\n"
        '[[checks]]\nlabel = "B"\nat = 0\nvitals = true\nscales = ["moaas"]\n'
    )
    with pytest.raises(InvalidEntry, match="ketamine_ceiling_mg"):
        parse_protocol(base + "[medication]\nketamine_ceiling_mg = 5000\n", "x.toml")
    with pytest.raises(InvalidEntry, match="ceiling_source"):
        parse_protocol(base + "[medication]\nketamine_ceiling_mg = 200\n", "x.toml")
    with pytest.raises(InvalidEntry, match="unknown field"):
        parse_protocol(base + "[start_gate]\nfood = 6\n", "x.toml")
    assert parse_protocol(base, "x.toml").dose_rules.ketamine_ceiling_mg is None


# --- the exports: JSON, Markdown, PDF, FHIR ---------------------------------------------------


def test_every_export_shows_the_log_with_its_totals(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    import json

    from fhir.resources.R4B.bundle import Bundle

    from kapsession.exports import fhir_bundle, markdown_summary, pdf_summary

    from .exporthelpers import flowing, pdftotext

    live = _start(store, clock, "intramuscular", 60.0, weight=70.0)
    clock.advance(20 * 60)
    live.add_medication("ondansetron 4 mg SL lot A12")
    clock.advance(5 * 60)
    live.quick_event("booster_dose", mg=30.0, route="intramuscular")
    clock.advance(5 * 60)
    live.add_medication("ketamine 20 mg IM lot K-77")
    live.add_medication("hydroxyzine 25 mg PO")
    live.end(reason="test")
    doc = timeline_json.timeline(store, live.record.id, clock.now())

    md = markdown_summary.render(doc)
    assert "## Medication log" in md
    assert "| T+20:00 | ondansetron | 4 mg | SL | A12 | Dr. Test | 60 mg |" in md
    booster = "| T+25:00 | ketamine (booster) | 30 mg | IM |  | unassigned (account Dr. Test) |"
    assert booster + " 90 mg |" in md
    assert "| T+30:00 | ketamine | 20 mg | IM | K-77 | Dr. Test | 110 mg |" in md
    assert "hydroxyzine (not in the list)" in md
    assert "| T+00:00 | ketamine (dose) | 60 mg |" in md

    text = flowing(pdftotext(pdf_summary.render(doc), tmp_path))
    assert "Medication log" in text
    for needle in ("ondansetron", "A12", "K-77", "110 mg", "ketamine (booster)"):
        assert needle in text, needle

    raw = fhir_bundle.render(doc)
    Bundle.model_validate_json(raw)
    bundle = json.loads(raw)
    given = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationAdministration"
    ]
    assert len(given) == 5  # the dose, the booster and three medication entries
    ond = next(g for g in given if g["medicationCodeableConcept"].get("text") == "ondansetron")
    assert ond["medicationCodeableConcept"]["coding"][0]["code"] == "A04AA01"
    assert ond["dosage"]["dose"] == {
        "value": 4.0,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }
    assert ond["dosage"]["route"]["coding"][0]["code"] == "37839007"
    assert {"text": "Lot A12"} in ond["note"]
    assert ond["performer"] == [{"actor": {"display": AUTHOR}}]
    unlisted = next(g for g in given if g["medicationCodeableConcept"] == {"text": "hydroxyzine"})
    assert unlisted["dosage"]["route"] == {"text": "oral"}


def test_the_start_gate_is_in_the_summaries(store: Store, clock: FakeClock) -> None:
    from kapsession.exports import markdown_summary

    service = SessionService(store, clock, TZ, AUTHOR, PROTOCOLS)
    record = service.plan(SessionPlan("C-017", "sublingual", "sublingual", 200.0, 75, "x"))
    live = service.give_dose(record.id, (["consent not signed"], "verbal consent witnessed"))
    live.end(reason="test")
    md = markdown_summary.render(timeline_json.timeline(store, record.id, clock.now()))
    assert "Start gate: unmet before the dose: consent not signed." in md
    assert "Reason for going ahead: verbal consent witnessed" in md


def test_a_ceiling_alert_is_not_taken_for_an_alert_on_the_vitals_before_it(
    store: Store, clock: FakeClock
) -> None:
    from kapsession.exports import markdown_summary

    live = _start(store, clock, "sublingual", 200.0)
    live.add_vitals("120/80 70 98")
    clock.advance(60)
    live.add_medication("ketamine 150 mg SL")
    live.end(reason="test")
    md = markdown_summary.render(timeline_json.timeline(store, live.record.id, clock.now()))
    assert "Ketamine total 350 mg is above the ceiling of 300 mg" in md  # in the alerts
    assert "**ALERT**" not in md, "the vitals before it raised nothing"


# --- the preparation's gate fields, property-based like the vitals form ------------------------

GATE_TEXT = st.one_of(
    st.sampled_from(
        ["", " ", "72", "72,5", "0", "-3", "nan", "1e3", "٧٢", "2026-03-02 07:30",
         "2026-02-30 07:30", "07:30", "128/82", " 128 / 82 ", "82/128", "300/80", "12/8"]
    ),
    st.text(max_size=30),
)  # fmt: skip


@given(weight=st.one_of(st.none(), st.floats(allow_nan=True), st.integers(-10, 1000)),
       food=GATE_TEXT, clear=GATE_TEXT, bp=GATE_TEXT)  # fmt: skip
@settings(max_examples=300, deadline=None)
def test_gate_fields_are_refused_cleanly_or_saved_canonical(
    weight: float | None, food: str, clear: str, bp: str
) -> None:
    from kapsession.integration.preparation import gate_facts

    screening = Screening(weight_kg=weight, last_food=food, last_clear_liquid=clear, predose_bp=bp)
    try:
        saved = validate_preparation(Preparation(screening=screening))
    except InvalidEntry as exc:
        assert str(exc).strip()
        return
    s = saved.screening
    assert s.weight_kg is None or 2 <= s.weight_kg <= 400
    # What is saved reads back the same and validates to itself (nothing half-valid).
    again = Preparation.from_data(saved.to_data())
    assert again == saved == validate_preparation(again)
    facts = gate_facts(again)
    assert (facts.last_food is None) == (s.last_food == "")
    assert (facts.predose_systolic is None) == (s.predose_bp == "")
    if facts.predose_systolic is not None:
        assert facts.predose_diastolic is not None
        assert facts.predose_systolic > facts.predose_diastolic
