"""`kapsession clinicians list|add|deactivate`, `kapsession sign` and `kapsession verify` naming a
signed record that changed (DESIGN.md, "Clinicians, signatures, the medical record")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kapsession.clock import FakeClock
from kapsession.session.live import SessionService
from kapsession.storage.store import Store
from tests.helpers.cli import run
from tests.unit.conftest import T0, TZ


def _session(folder: Path) -> int:
    store = Store.open(folder)
    clock = FakeClock(T0)
    service = SessionService(store, clock, TZ, "account")
    live = service.give_dose(service.plan_rehearsal(1.0, clock.now()).id)
    clock.advance(60)
    live.add_note("a note")
    live.end("test ends it")
    store.close()
    return live.record.id


def test_add_list_sign_cosign_export_and_verify(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = str(tmp_path / "d")
    d = ["--data-dir", folder]
    monkeypatch.setenv("KAPSESSION_CLINICIAN_PIN", "1234")
    code, out, err = run(
        [
            "clinicians",
            "add",
            *d,
            "--name",
            "A. Rivera",
            "--role",
            "therapist",
            "--credentials",
            "LCSW",
        ],
        capsys,
    )
    assert (code, out, err) == (0, "Added A. Rivera, LCSW (therapist).\n", "")
    monkeypatch.setenv("KAPSESSION_CLINICIAN_PIN", "98765")
    assert (
        run(
            [
                "clinicians",
                "add",
                *d,
                "--name",
                "B. Chen",
                "--role",
                "prescriber",
                "--credentials",
                "MD",
            ],
            capsys,
        )[0]
        == 0
    )
    monkeypatch.setenv("KAPSESSION_CLINICIAN_PIN", "12")
    code, out, err = run(["clinicians", "add", *d, "--name", "C", "--role", "nurse"], capsys)
    assert (code, out) == (2, "") and "4 to 12 digits" in err
    sid = _session(Path(folder))
    monkeypatch.setenv("KAPSESSION_SIGNER_PIN", "1234")
    code, out, err = run(["sign", *d, "--session", str(sid), "--as", "A. Rivera"], capsys)
    assert code == 0, err
    assert out.startswith(f"Session {sid}: Signed by A. Rivera, LCSW (therapist) · ")
    assert " · reviewed and approved\n" in out
    code, out, err = run(["sign", *d, "--as", "A. Rivera"], capsys)
    assert code == 2 and "already signed" in err
    code, out, err = run(["sign", *d, "--as", "B. Chen"], capsys)  # A's PIN
    assert code == 2 and "Wrong PIN for B. Chen" in err
    monkeypatch.setenv("KAPSESSION_SIGNER_PIN", "98765")
    code, out, err = run(
        ["sign", *d, "--as", "B. Chen", "--meaning", "co-signed as prescriber"], capsys
    )
    assert code == 0 and "Co-signed by B. Chen, MD (prescriber)" in out
    code, out, err = run(["export", *d, "--format", "json"], capsys)
    sigs = json.loads(out)["session"]["signatures"]
    assert [(s["name"], s["meaning"]) for s in sigs] == [
        ("A. Rivera", "reviewed and approved"),
        ("B. Chen", "co-signed as prescriber"),
    ]
    code, out, err = run(["clinicians", "deactivate", *d, "--name", "B. Chen"], capsys)
    assert code == 0
    code, out, err = run(["clinicians", "list", *d], capsys)
    assert out.splitlines() == [
        "A. Rivera, LCSW (therapist)  active",
        "B. Chen, MD (prescriber)  deactivated",
    ]
    assert run(["verify", *d], capsys)[0] == 0
    # A raw edit of the signed record: verify names the signatures it breaks.
    store = Store.open(Path(folder))
    store.db.execute("DROP TRIGGER events_no_update")
    store.db.execute("UPDATE events SET data = json_set(data, '$.text', 'x') WHERE kind = 'note'")
    store.close()
    code, out, err = run(["verify", *d], capsys)
    assert code == 1
    assert f"session {sid} signature #" in out
    assert "(A. Rivera, reviewed and approved): the record changed after it was signed" in out
    assert "(B. Chen, co-signed as prescriber): the record changed after it was signed" in out
