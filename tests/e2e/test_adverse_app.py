"""The real app in rehearsal (Xvfb with openbox, driven by xdotool): an SpO2 alert typed with
Alt+V leaves the offer under the banner while a half-typed note keeps the focus; Alt+X opens the
adverse event dialog pre-filled from it (suggested minor, with its reason), oxygen is chosen
from the keyboard and the event is saved as minor, linked to the alert; the session ends and the
monitoring form is exported and read back with pdftotext. Screenshots of the live screen with
the offer, of the dialog and of the form are kept in the test's folder
(KAPSESSION_E2E_SHOTS=DIR copies them there)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .conftest import App, cli, export, wait_for
from .test_clinicians_app import _dialog, _keep
from .test_lock_windows import window_manager as window_manager  # the openbox fixture

pytestmark = pytest.mark.e2e


def _of(doc: dict, kind: str) -> list[dict]:
    return [e for e in doc["events"] if e["kind"] == kind]


def test_an_spo2_alert_becomes_a_minor_adverse_event_and_the_form_is_exported(
    app_env, window_manager, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    app = App(app_env, data, "--rehearsal", "--time-scale", "1")
    app.xdo("key", "alt+v")
    app.type_line("120/80 70 98 14")
    wait_for(lambda: _of(export(app_env, data), "vitals"), what="the baseline vitals")
    app.xdo("key", "alt+v")
    app.type_line("118/78 72 86 12")
    (alert,) = wait_for(lambda: _of(export(app_env, data), "alert"), what="the SpO2 alert")
    assert alert["field"] == "spo2"
    app.xdo("type", "--delay", "5", "breathing shallow")  # not saved: the focus stays here
    app.xdo("sleep", "0.5")
    _keep(app.screenshot(tmp_path / "adverse-offer.png"))

    app.xdo("key", "--clearmodifiers", "alt+x")
    _dialog(app, "^Adverse event")
    # What happened (pre-filled) -> Tab: tier (suggested minor) -> Tab: intervention.
    app.xdo("key", "Tab", "Tab")
    app.xdo("type", "o")  # oxygen
    app.xdo("key", "Tab", "Tab")  # the link (the alert, pre-chosen) -> the outcome
    app.xdo("type", "--delay", "5", "back to 96 % in 40 s")
    app.xdo("sleep", "0.3")
    _keep(app.screenshot(tmp_path / "adverse-dialog.png"))
    app.xdo("key", "Return")
    (event,) = wait_for(
        lambda: _of(export(app_env, data), "adverse_event"), what="the adverse event"
    )
    assert (event["event"], event["tier"], event["intervention"], event["outcome"]) == (
        "Oxygen desaturation (86)",
        "minor",
        "oxygen",
        "back to 96 % in 40 s",
    )
    assert event["linked_seq"] == alert["seq"]
    app.xdo("key", "Return")  # the half-typed note is still there: saved now
    wait_for(
        lambda: any(
            n.get("text") == "breathing shallow" for n in _of(export(app_env, data), "note")
        ),
        what="the note typed before the dialog",
    )

    app.xdo("key", "--clearmodifiers", "ctrl+shift+e")
    _dialog(app, "^End session")
    app.xdo("key", "alt+r")
    app.type_line("e2e: ended for the form")
    wait_for(lambda: export(app_env, data)["session"]["state"] == "ended", what="the end")
    app.kill()

    pdf = tmp_path / "form.pdf"
    done = cli(app_env, "export", "--data-dir", str(data), "--format", "form", "-o", str(pdf))
    assert done.returncode == 0, done.stderr
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    lines = text.splitlines()
    assert any("Respiratory depression" in ln and "SpO2 86 %" in ln for ln in lines)
    assert any("Serious adverse events" in ln and "Oxygen desaturation (86)" in ln for ln in lines)
    assert "REHEARSAL" in text
    assert "form" in [e["format"] for e in _of(export(app_env, data), "export")]
    subprocess.run(["pdftoppm", "-png", "-r", "80", str(pdf), str(tmp_path / "form")], check=True)
    for page in sorted(tmp_path.glob("form*.png")):
        _keep(page)
