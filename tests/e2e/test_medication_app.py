"""The medication log in the real app (issue 15; Xvfb with openbox, driven by xdotool): in a
rehearsal, a ketamine booster and a rescue medicine are typed with Alt+D; a refused line stores
nothing; the total passes the lozenge protocol's 300 mg ceiling and the alert is acknowledged
with Alt+A; the JSON, Markdown and FHIR exports carry the entries with their totals. A screenshot
of the live screen is kept in the test's folder (KAPSESSION_E2E_SHOTS=DIR copies it there)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from .conftest import App, cli, export, wait_for
from .test_lock_windows import window_manager as window_manager  # the openbox fixture

pytestmark = pytest.mark.e2e


def _meds(doc: dict) -> list[dict]:
    return [e for e in doc["events"] if e["kind"] == "medication"]


def _keep(shot: Path) -> None:
    where = os.environ.get("KAPSESSION_E2E_SHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(where) / shot.name)


def test_a_booster_and_a_rescue_medicine_typed_with_alt_d_and_the_ceiling_alert(
    app_env: dict[str, str], window_manager: None, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    app = App(app_env, data, "--rehearsal")
    wait_for(lambda: export(app_env, data)["events"], what="the rehearsal's dose")

    app.xdo("key", "alt+d")
    app.type_line("ondansetron 4 mg SL lot A12")
    wait_for(lambda: len(_meds(export(app_env, data))) == 1, what="the rescue medicine")

    # Refused (above the plausible maximum): nothing stored; Esc closes the line.
    app.xdo("key", "alt+d")
    app.type_line("lorazepam 40 mg SL")
    app.xdo("key", "Escape")

    app.xdo("key", "alt+d")
    app.type_line("ketamine 50 mg SL lot K-77")
    wait_for(lambda: len(_meds(export(app_env, data))) == 2, what="the booster")
    app.xdo("key", "alt+d")
    app.type_line("ketamine 100 mg SL")
    doc = wait_for(
        lambda: (
            (d := export(app_env, data)) and any(e["kind"] == "alert" for e in d["events"]) and d
        ),
        what="the ceiling alert",
    )
    meds = _meds(doc)
    assert [(m["drug"], m["dose"], m["total_mg"]) for m in meds] == [
        ("ondansetron", 4.0, 200.0),
        ("ketamine", 50.0, 250.0),
        ("ketamine", 100.0, 350.0),
    ]
    assert meds[0]["lot"] == "A12" and meds[0]["route"] == "sublingual" and meds[0]["given_by"]
    (alert,) = [e for e in doc["events"] if e["kind"] == "alert"]
    assert alert["field"] == "ketamine_total_mg" and "ceiling of 300 mg" in alert["message"]
    shot = app.screenshot(tmp_path / "medication-live.png")
    _keep(shot)

    app.xdo("key", "alt+a")
    wait_for(
        lambda: any(e["kind"] == "alert_ack" for e in export(app_env, data)["events"]),
        what="the acknowledgement",
    )

    md = cli(app_env, "export", "--data-dir", str(data), "--format", "md")
    assert md.returncode == 0, md.stderr
    assert "## Medication log" in md.stdout
    assert "| ondansetron | 4 mg | SL | A12 |" in md.stdout
    fhir = cli(app_env, "export", "--data-dir", str(data), "--format", "fhir")
    assert fhir.returncode == 0, fhir.stderr
    Bundle.model_validate_json(fhir.stdout)
    given = [
        e["resource"]
        for e in json.loads(fhir.stdout)["entry"]
        if e["resource"]["resourceType"] == "MedicationAdministration"
    ]
    assert len(given) == 4  # the dose and the three typed administrations
