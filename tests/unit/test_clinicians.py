"""Clinicians and signatures (issue 14): attribution on every entry, a switch mid-session, signing
and co-signing, the refusals (each writes nothing), verify naming a changed signed record and a
forged signature, and the migration of entries written before clinicians existed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kapsession.clock import FakeClock
from kapsession.exports import session_export, signing
from kapsession.session.live import SessionService
from kapsession.storage import audit, clinicians
from kapsession.storage.clinicians import ClinicianError
from kapsession.storage.store import Store
from kapsession.storage.unlock_tries import FREE_TRIES
from tests.unit import rich_session
from tests.unit.conftest import T0, TZ

PIN_A, PIN_B = "1234", "987654"


def _two(store: Store, clock: FakeClock) -> tuple[clinicians.Clinician, clinicians.Clinician]:
    a = clinicians.add(store, "A. Rivera", "therapist", "LCSW", PIN_A, clock.now())
    b = clinicians.add(store, "B. Chen", "prescriber", "MD", PIN_B, clock.now())
    return a, b


def _counts(store: Store) -> tuple[int, int, int]:
    one = store.db.execute
    return (
        one("SELECT count(*) FROM events").fetchone()[0],
        one("SELECT count(*) FROM clinicians").fetchone()[0],
        one("SELECT count(*) FROM audit WHERE action NOT IN ('pin_failed')").fetchone()[0],
    )


def _ended(store: Store, clock: FakeClock) -> int:
    service = SessionService(store, clock, TZ, "account")
    record = service.plan_rehearsal(time_scale=1.0, clock_origin=clock.now())
    live = service.give_dose(record.id)
    clock.advance(60)
    live.add_note("settling in")
    clock.advance(60)
    live.end("test ends it")
    return record.id


def test_every_kind_of_entry_carries_the_charting_clinician_and_role(tmp_path: Path) -> None:
    rich = rich_session.build(tmp_path / "data", charting=True)
    try:
        events = rich.store.events(rich.session_id)
        kinds = {e.kind for e in events}
        assert len(kinds) > 15  # notes, vitals, observations, checks, alerts, music, ...
        assert {(e.author, e.author_role) for e in events} == {("A. Rivera", "therapist")}
        doc = session_export.timeline(rich.store, rich.session_id, T0)
        assert {(e["author"], e["author_role"]) for e in doc["events"]} == {
            ("A. Rivera", "therapist")
        }
        # The audit trail names the clinician too, for the rows and for what writes none.
        authors = {r[0] for r in rich.store.db.execute("SELECT author FROM audit WHERE id > 3")}
        assert "A. Rivera" in authors
    finally:
        rich.store.close()


def test_a_switch_mid_session_changes_who_the_next_entry_is_by(
    file_store: Store, clock: FakeClock
) -> None:
    a, _b = _two(file_store, clock)
    clinicians.charting_as(file_store, a)
    service = SessionService(file_store, clock, TZ, "account")
    live = service.give_dose(service.plan_rehearsal(1.0, clock.now()).id)
    first = live.add_note("by the therapist")
    who = clinicians.authenticate(file_store, "b. chen", PIN_B, clock)  # names: any case
    clinicians.charting_as(file_store, who)
    second = live.add_vitals("120/80 70 98")[0]
    assert (first.author, first.author_role) == ("A. Rivera", "therapist")
    assert (second.author, second.author_role) == ("B. Chen", "prescriber")
    stored = {e.seq: e for e in file_store.events(live.record.id)}
    assert stored[second.seq].author == "B. Chen"
    assert clinicians.charting(file_store) == who


def test_entries_from_before_clinicians_show_as_unassigned_with_their_account(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path / "d")
    clock = FakeClock(T0)
    sid = _ended(store, clock)  # nobody named: the account's name only
    events = store.events(sid)
    assert {e.author for e in events} == {"account"}  # the rows are untouched (append-only)
    doc = session_export.timeline(store, sid, T0)
    assert {e["author"] for e in doc["events"]} == {"unassigned (account account)"}
    assert all("author_role" not in e for e in doc["events"])
    assert {e.author_role for e in events} == {None}
    raw = {r[0] for r in store.db.execute("SELECT author FROM events")}
    assert raw == {"account"}  # the rows themselves are untouched (append-only)
    assert audit.verify(store.db.conn).ok
    store.close()


def test_a_deactivated_clinician_can_neither_chart_nor_sign_and_is_kept(
    file_store: Store, clock: FakeClock
) -> None:
    _a, b = _two(file_store, clock)
    clinicians.charting_as(file_store, b)
    sid = _ended(file_store, clock)
    clinicians.deactivate(file_store, "B. Chen", clock.now())
    before = _counts(file_store)
    with pytest.raises(ClinicianError, match="deactivated"):
        signing.sign(file_store, sid, "B. Chen", PIN_B, clock, TZ)
    with pytest.raises(sqlite3.IntegrityError, match="deactivated"):
        file_store.append(sid, "amendment", clock.now(), TZ, None, {}, amends=1, reason="x")
    with pytest.raises(ClinicianError, match="deactivated"):
        clinicians.charting_as(file_store, clinicians.by_name(file_store, "B. Chen"))  # type: ignore[arg-type]
    assert _counts(file_store) == before
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        file_store.db.execute("DELETE FROM clinicians WHERE name = 'B. Chen'")
    with pytest.raises(sqlite3.IntegrityError, match="only ever deactivated"):
        file_store.db.execute("UPDATE clinicians SET active = 1 WHERE name = 'B. Chen'")
    assert [c.name for c in clinicians.all_clinicians(file_store)] == ["A. Rivera", "B. Chen"]


def test_sign_refuse_a_new_entry_amend_after_signing_and_co_sign(
    file_store: Store, clock: FakeClock
) -> None:
    a, b = _two(file_store, clock)
    clinicians.charting_as(file_store, a)
    sid = _ended(file_store, clock)
    note = next(e for e in file_store.events(sid) if e.kind == "note")
    assert [w.reason for w in signing.waiting(file_store)] == []  # rehearsals wait for nobody
    clock.advance(60)
    first = signing.sign(file_store, sid, "A. Rivera", PIN_A, clock, TZ)
    assert (first.name, first.credentials, first.role) == ("A. Rivera", "LCSW", "therapist")
    assert first.meaning == "reviewed and approved" and not first.cosignature
    # A signed session refuses new entries (the database itself), but takes amendments.
    with pytest.raises(sqlite3.IntegrityError, match="signed"):
        file_store.append(sid, "worksheet", clock.now(), TZ, None, {"answers": {}})
    amendment = file_store.append(
        sid, "amendment", clock.now(), TZ, None, {"text": "x"}, amends=note.seq, reason="typo"
    )
    doc = session_export.timeline(file_store, sid, clock.now())
    shown = next(e for e in doc["events"] if e["seq"] == amendment.seq)
    assert shown["after_signing"] is True
    # The prescriber co-signs; the therapist signs the amended record again.
    clinicians.charting_as(file_store, b)
    co = signing.sign(file_store, sid, "B. Chen", PIN_B, clock, TZ)
    assert co.cosignature and co.meaning == "co-signed"
    assert co.record_sha256 != first.record_sha256  # it covers the amendment
    again = signing.sign(file_store, sid, "A. Rivera", PIN_A, clock, TZ)
    assert again.record_sha256 == co.record_sha256
    doc = session_export.timeline(file_store, sid, clock.now())
    sigs = doc["session"]["signatures"]
    assert [(s["name"], s["role"], s["meaning"]) for s in sigs] == [
        ("A. Rivera", "therapist", "reviewed and approved"),
        ("B. Chen", "prescriber", "co-signed"),
        ("A. Rivera", "therapist", "reviewed and approved"),
    ]
    assert set(sigs[0]) >= {"name", "credentials", "role", "meaning", "at", "record_sha256"}
    assert all(e["kind"] != "signature" for e in doc["events"])
    actions = [r[0] for r in file_store.db.execute("SELECT action FROM audit")]
    assert actions.count("sign") == 2 and actions.count("cosign") == 1
    assert signing.signature_problems(file_store) == []
    assert audit.verify(file_store.db.conn).ok


def test_refusals_are_clear_and_write_nothing(file_store: Store, clock: FakeClock) -> None:
    _two(file_store, clock)
    service = SessionService(file_store, clock, TZ, "account")
    running = service.give_dose(service.plan_rehearsal(1.0, clock.now()).id)
    before = _counts(file_store)
    with pytest.raises(ClinicianError, match="running; only an ended session"):
        signing.sign(file_store, running.record.id, "A. Rivera", PIN_A, clock, TZ)
    running.end("test ends it")
    sid = running.record.id
    signing.sign(file_store, sid, "A. Rivera", PIN_A, clock, TZ)
    before = _counts(file_store)
    with pytest.raises(ClinicianError, match="already signed"):
        signing.sign(file_store, sid, "A. Rivera", PIN_A, clock, TZ)
    with pytest.raises(ClinicianError, match="no clinician named"):
        signing.sign(file_store, sid, "Nobody", PIN_A, clock, TZ)
    with pytest.raises(ClinicianError, match="meaning"):
        signing.sign(file_store, sid, "B. Chen", PIN_B, clock, TZ, meaning="  ")
    with pytest.raises(ClinicianError, match="already a clinician"):
        clinicians.add(file_store, "a. rivera", "nurse", "", "5555", clock.now())
    with pytest.raises(ClinicianError, match="role must be one of"):
        clinicians.add(file_store, "C", "surgeon", "", "5555", clock.now())
    with pytest.raises(ClinicianError, match="4 to 12 digits"):
        clinicians.add(file_store, "C", "nurse", "", "12a4", clock.now())
    assert _counts(file_store) == before


def test_wrong_pins_back_off_like_the_lock_and_the_wait_survives_a_restart(
    tmp_path: Path,
) -> None:
    clock = FakeClock(T0)
    store = Store.open(tmp_path / "d")
    clinicians.add(store, "A. Rivera", "therapist", "", PIN_A, clock.now())
    for _ in range(FREE_TRIES):
        with pytest.raises(ClinicianError, match="Wrong PIN"):
            clinicians.authenticate(store, "A. Rivera", "0000", clock)
    store.close()
    store = Store.open(tmp_path / "d")  # a restart
    with pytest.raises(ClinicianError, match="Too many wrong PINs"):
        clinicians.authenticate(store, "A. Rivera", PIN_A, clock)  # even the right one waits
    clock.advance(6)
    assert clinicians.authenticate(store, "A. Rivera", PIN_A, clock).name == "A. Rivera"
    assert clinicians.PinTries(store, clock).state().failures == 0  # reset by pin_ok
    store.close()


def test_verify_names_a_signed_record_that_changed_and_a_forged_signature(
    file_store: Store, clock: FakeClock
) -> None:
    _two(file_store, clock)
    sid = _ended(file_store, clock)
    sig = signing.sign(file_store, sid, "A. Rivera", PIN_A, clock, TZ)
    note = next(e for e in file_store.events(sid) if e.kind == "note")
    conn = file_store.db.conn
    # A raw edit, with the append-only trigger dropped and put back.
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute(
        "UPDATE events SET data = json_set(data, '$.text', 'rewritten') WHERE seq = ?", [note.seq]
    )
    problems = signing.signature_problems(file_store)
    assert problems == [
        f"session {sid} signature #{sig.seq} (A. Rivera, reviewed and approved): "
        "the record changed after it was signed"
    ]
    conn.execute("UPDATE events SET data = ? WHERE seq = ?", [json.dumps(note.data), note.seq])
    assert signing.signature_problems(file_store) == []
    # A forged signature: B's name written in by hand, with A's digest but no valid seal.
    row = file_store.event(sig.seq)
    assert row is not None
    forged = {**row.data, "name": "B. Chen", "role": "prescriber", "seal": "0" * 64}
    cur = conn.execute(
        "INSERT INTO events (session_id, kind, at, tz, data) VALUES (?, 'signature', ?, ?, ?)",
        [sid, row.at, TZ, json.dumps(forged)],
    )
    problems = signing.signature_problems(file_store)
    assert problems == [
        f"session {sid} signature #{cur.lastrowid} (B. Chen, reviewed and approved): "
        "forged (its seal does not match this record)"
    ]
    with pytest.raises(ClinicianError, match="fails verify"):
        signing.sign(file_store, sid, "B. Chen", PIN_B, clock, TZ)


def test_a_protocol_can_require_a_co_signature_and_the_waiting_list_is_oldest_first(
    tmp_path: Path,
) -> None:
    from kapsession.monitoring.protocol import builtin_protocols
    from kapsession.session.live import SessionPlan

    clock = FakeClock(T0)
    store = Store.open(tmp_path / "d")
    _two(store, clock)
    service = SessionService(store, clock, TZ, "account", builtin_protocols())
    ids = []
    for code in ("C-1", "C-2"):
        plan = SessionPlan(code, "sublingual", "sublingual", 200.0, 75, "")
        live = service.give_dose(service.plan(plan).id)
        clock.advance(3600)
        live.end("test ends it")
        ids.append(live.record.id)
    assert [(w.session.id, w.reason) for w in signing.waiting(store)] == [
        (ids[0], "signature"),
        (ids[1], "signature"),
    ]
    signing.sign(store, ids[0], "A. Rivera", PIN_A, clock, TZ)
    assert [w.session.id for w in signing.waiting(store)] == [ids[1]]
    needing = {"sublingual"}
    assert [(w.session.id, w.reason) for w in signing.waiting(store, needing)] == [
        (ids[0], "co-signature"),
        (ids[1], "signature"),
    ]
    signing.sign(store, ids[0], "B. Chen", PIN_B, clock, TZ)
    assert [w.session.id for w in signing.waiting(store, needing)] == [ids[1]]
    store.close()


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=100)
pins = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=14)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names, pin=pins)
def test_any_name_and_pin_is_added_whole_or_refused_with_nothing_written(
    name: str, pin: str
) -> None:
    store = Store.memory()
    clock = FakeClock(T0)
    try:
        added = clinicians.add(store, name, "nurse", "RN", pin, clock.now())
    except ClinicianError as exc:
        assert str(exc)
        assert store.db.execute("SELECT count(*) FROM clinicians").fetchone()[0] == 0
        return
    assert pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 12
    assert clinicians.by_name(store, name) == added
    assert clinicians.authenticate(store, added.name, pin, clock) == added
    row = store.db.execute("SELECT pin_hash FROM clinicians").fetchone()[0]
    assert row.startswith("$argon2id$") and pin not in row
    store.close()


def test_every_export_shows_both_clinicians_their_roles_and_both_signatures(
    tmp_path: Path,
) -> None:
    from kapsession.exports import fhir_bundle, markdown_summary
    from tests.unit.exporthelpers import collapse, pdftotext

    rich = rich_session.build(tmp_path / "data", charting=True)
    store, sid, clock = rich.store, rich.session_id, rich.clock
    try:
        b = clinicians.add(store, "B. Chen", "prescriber", "MD", PIN_B, clock.now())
        clinicians.charting_as(store, b)
        note = rich.seqs["quote"]
        store.append(
            sid,
            "amendment",
            clock.now(),
            TZ,
            None,
            {"text": "x"},
            amends=note,
            reason="before signing",
        )
        signing.sign(store, sid, "A. Rivera", rich_session.CLINICIAN_PIN, clock, TZ)
        signing.sign(store, sid, "B. Chen", PIN_B, clock, TZ)
        doc = session_export.timeline(store, sid, clock.now())
        roles = {(e["author"], e["author_role"]) for e in doc["events"]}
        assert roles == {("A. Rivera", "therapist"), ("B. Chen", "prescriber")}
        signed = "Signed by A. Rivera, LCSW (therapist) · "
        cosigned = "Co-signed by B. Chen, MD (prescriber) · "
        md = markdown_summary.render(doc)
        assert "| Charted by | A. Rivera (therapist), B. Chen (prescriber) |" in md
        assert signed in md and cosigned in md and "· reviewed and approved" in md
        pdf = collapse(pdftotext(session_export.render(doc, "pdf"), tmp_path))
        assert signed.strip() in pdf and cosigned.strip() in pdf, pdf[-600:]
        assert "Charted by A. Rivera (therapist), B. Chen (prescriber)" in pdf
        bundle = json.loads(fhir_bundle.render(doc))
        kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
        assert kinds.count("Practitioner") == 2 and kinds.count("PractitionerRole") == 2
        provenances = [
            e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Provenance"
        ]
        assert [p["activity"]["text"] for p in provenances] == [
            "reviewed and approved",
            "co-signed",
        ]
        assert [p["signature"][0]["who"]["display"] for p in provenances] == [
            "A. Rivera",
            "B. Chen",
        ]
        practitioners = {
            e["resource"]["name"][0]["text"]: e["resource"]
            for e in bundle["entry"]
            if e["resource"]["resourceType"] == "Practitioner"
        }
        assert practitioners["B. Chen"]["qualification"][0]["code"]["text"] == "MD"
    finally:
        store.close()


def test_an_entry_written_by_another_process_while_signing_refuses_the_signature(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(T0)
    store = Store.open(tmp_path / "d")
    _two(store, clock)
    sid = _ended(store, clock)
    note = next(e for e in store.events(sid) if e.kind == "note")
    real = clinicians.authenticate

    def then_another_writes(*args: object, **kwargs: object) -> clinicians.Clinician:
        who = real(*args, **kwargs)  # type: ignore[arg-type]
        other = Store.open(tmp_path / "d")  # another process, after the digest was taken
        other.append(
            sid,
            "amendment",
            clock.now(),
            TZ,
            None,
            {"text": "y"},
            amends=note.seq,
            reason="late correction",
        )
        other.close()
        return who

    monkeypatch.setattr(clinicians, "authenticate", then_another_writes)
    with pytest.raises(ClinicianError, match="changed while it was being signed"):
        signing.sign(store, sid, "A. Rivera", PIN_A, clock, TZ)
    assert signing.signatures(store.events(sid)) == []
    assert store.db.execute("SELECT count(*) FROM audit WHERE action = 'sign'").fetchone()[0] == 0
    assert audit.verify(store.db.conn).ok
    store.close()


def test_scripted_runs_name_the_clinician_and_rehearsals_chart_as_the_demo_clinician(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(clinicians.ENV_NAME, raising=False)
    assert clinicians.from_environment(store, clock) is None
    demo = clinicians.from_environment(store, clock, rehearsal=True)
    assert demo is not None and demo.demo and not demo.has_pin
    with pytest.raises(ClinicianError, match="Wrong PIN"):
        clinicians.authenticate(store, clinicians.DEMO_NAME, "1234", clock)  # it cannot sign
    monkeypatch.setenv(clinicians.ENV_NAME, "C. Okafor")
    monkeypatch.setenv(clinicians.ENV_PIN, "4455")
    first = clinicians.from_environment(store, clock)  # none yet: registered, as a therapist
    assert first is not None and (first.name, first.role) == ("C. Okafor", "therapist")
    assert clinicians.from_environment(store, clock) == first  # then only authenticated
    monkeypatch.setenv(clinicians.ENV_PIN, "0000")
    with pytest.raises(ClinicianError, match="Wrong PIN"):
        clinicians.from_environment(store, clock)
    monkeypatch.setenv(clinicians.ENV_NAME, "Somebody Else")
    assert clinicians.from_environment(store, clock, register=False) is None  # a command's note
    with pytest.raises(ClinicianError, match="no clinician named"):
        clinicians.from_environment(store, clock)  # the app: the usual prompt follows
