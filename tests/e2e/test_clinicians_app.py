"""Two clinicians chart one session in the real app (Xvfb with openbox, driven by xdotool): the
therapist types notes, Ctrl+U and the nurse's PIN switch who is charting, the nurse types
notes, the session ends; on the home screen Ctrl+Shift+S signs (the therapist) and co-signs
(the nurse). Every export (JSON, Markdown, PDF, FHIR) shows both, with their roles and both
signatures. Screenshots of the switch and of the PDF's signature block are kept in the test's
folder (KAPSESSION_E2E_SHOTS=DIR copies them there)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from kapsession.clock import SystemClock
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage import clinicians, security_settings
from kapsession.storage.store import Store

from .conftest import App, cli, export, wait_for
from .test_lock_windows import window_manager as window_manager  # the openbox fixture

pytestmark = pytest.mark.e2e

A, A_PIN = "A. Rivera", "1234"
B, B_PIN = "B. Chen", "5678"


def _folder(tmp_path: Path) -> Path:
    """Two clinicians and a running (real) session, which the app reopens at start."""
    folder = tmp_path / "data"
    store = Store.open(folder)
    clock = SystemClock()
    therapist = clinicians.add(store, A, "therapist", "LCSW", A_PIN, clock.now())
    clinicians.charting_as(store, therapist)  # who gives the dose
    clinicians.add(store, B, "nurse", "RN", B_PIN, clock.now())
    service = SessionService(store, clock, "Europe/Berlin", "account")
    plan = SessionPlan("C-E2E", "sublingual", "sublingual", 200.0, 60, "")
    service.give_dose(service.plan(plan).id)
    store.close()
    settings = replace(security_settings.load(folder), encryption="declined")
    security_settings.save(folder, settings)
    return folder


def _dialog(app: App, title: str) -> str:
    """Wait until the app shows a window titled `title` (keys typed before it would land in
    the window behind it: a PIN in the note field)."""

    def find() -> str | None:
        found = subprocess.run(
            [
                "xdotool",
                "search",
                "--all",
                "--onlyvisible",
                "--pid",
                str(app.proc.pid),
                "--name",
                title,
            ],
            env=app.env,
            capture_output=True,
            text=True,
        ).stdout.split()
        return found[0] if found else None

    window = str(wait_for(find, what=f"the {title!r} window"))
    app.xdo("windowactivate", "--sync", window)
    return window


def _keep(shot: Path) -> None:
    where = os.environ.get("KAPSESSION_E2E_SHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(where) / shot.name)


def _notes(doc: dict) -> list[tuple[str, str, str]]:
    return [
        (e["text"], e["author"], e["author_role"]) for e in doc["events"] if e["kind"] == "note"
    ]


def test_two_clinicians_chart_sign_and_co_sign_and_every_export_shows_both(
    app_env: dict[str, str], window_manager: None, tmp_path: Path
) -> None:
    data = _folder(tmp_path)
    env = {**app_env, "KAPSESSION_CLINICIAN": A, "KAPSESSION_CLINICIAN_PIN": A_PIN}
    app = App(env, data)
    app.type_line("therapist: client settling")
    wait_for(lambda: len(_notes(export(env, data))) == 1, what="the therapist's note")
    app.xdo("key", "--clearmodifiers", "ctrl+u")
    _dialog(app, "^Who is charting")
    app.xdo("type", "--delay", "5", B_PIN)  # the nurse comes first in the list
    _keep(app.screenshot(tmp_path / "clinician-switch.png"))
    app.xdo("key", "Return")
    app.xdo("sleep", "0.3")
    app.type_line("nurse: vitals steady, client resting")
    doc = wait_for(
        lambda: (d := export(env, data)) and len(_notes(d)) == 2 and d, what="the nurse's note"
    )
    assert _notes(doc) == [
        ("therapist: client settling", A, "therapist"),
        ("nurse: vitals steady, client resting", B, "nurse"),
    ]
    _keep(app.screenshot(tmp_path / "clinician-after-switch.png"))

    app.xdo("key", "--clearmodifiers", "ctrl+shift+e")
    _dialog(app, "^End session")
    app.xdo("key", "alt+r")
    app.type_line("e2e: ended for the signature test")
    wait_for(lambda: export(env, data)["session"]["state"] == "ended", what="the session to end")

    def sign(pin: str, count: int) -> None:
        app.xdo("key", "--clearmodifiers", "ctrl+shift+s")
        _dialog(app, "^Sign session")
        app.xdo("type", "--delay", "5", pin)
        app.xdo("key", "Return")
        wait_for(
            lambda: len(export(env, data)["session"]["signatures"]) == count,
            what=f"signature {count}",
        )

    sign(A_PIN, 1)  # the therapist has not signed: first in the dialog
    sign(B_PIN, 2)  # then the nurse, who has not: a co-signature
    app.kill()

    doc = export(env, data)
    sigs = doc["session"]["signatures"]
    assert [(s["name"], s["role"], s["meaning"], s["cosignature"]) for s in sigs] == [
        (A, "therapist", "reviewed and approved", False),
        (B, "nurse", "co-signed", True),
    ]
    assert len({s["record_sha256"] for s in sigs}) == 1  # nothing changed between them
    md = cli(env, "export", "--data-dir", str(data), "--format", "md").stdout
    assert "A. Rivera (therapist), B. Chen (nurse)" in md
    assert "Signed by A. Rivera, LCSW (therapist) · " in md
    assert "Co-signed by B. Chen, RN (nurse) · " in md
    pdf = tmp_path / "summary.pdf"
    assert (
        cli(env, "export", "--data-dir", str(data), "--format", "pdf", "-o", str(pdf)).returncode
        == 0
    )
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    assert "Signed by A. Rivera, LCSW (therapist) ·" in flat
    assert "Co-signed by B. Chen, RN (nurse) ·" in flat
    fhir = json.loads(cli(env, "export", "--data-dir", str(data), "--format", "fhir").stdout)
    kinds = [e["resource"]["resourceType"] for e in fhir["entry"]]
    assert kinds.count("Practitioner") == 2 and kinds.count("Provenance") == 2
    verify = cli(env, "verify", "--data-dir", str(data))
    assert verify.returncode == 0, verify.stdout
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", str(pdf), str(tmp_path / "pdf-page")], check=True
        )
        for page in sorted(tmp_path.glob("pdf-page*.png")):
            _keep(page)
