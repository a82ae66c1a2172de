"""The real app runs a whole protocol in rehearsal at a high time scale, vitals typed with Alt+V."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .conftest import App, export, wait_for

pytestmark = pytest.mark.e2e

SCALE = 60  # the 75-minute lozenge protocol in 75 s; "late" comes 5 s after "due"


def _checks(doc: dict, kind: str) -> list[str]:
    return [e["check"] for e in doc["events"] if e["kind"] == kind]


def test_a_rehearsal_completes_its_protocol_with_vitals_typed_on_one_line(
    app_env, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    app = App(app_env, data, "--rehearsal", "--time-scale", str(SCALE))
    plan = [c["key"] for c in export(app_env, data)["events"][0]["monitoring"]["plan"]]
    assert len(plan) == 6
    answered: list[str] = []
    deadline = time.monotonic() + 120
    while len(answered) < len(plan) and time.monotonic() < deadline:
        doc = export(app_env, data)
        waiting = [c for c in _checks(doc, "check_due") if c not in answered]
        if not waiting:
            time.sleep(0.1)
            continue
        app.xdo("key", "alt+v")
        app.type_line("124/80 72 98")
        wait_for(
            lambda key=waiting[0]: key in _checks(export(app_env, data), "vitals"),
            what="the vitals",
        )
        answered.append(waiting[0])

    doc = export(app_env, data)
    assert _checks(doc, "check_due") == plan, "each check came due once, in order"
    assert sorted(_checks(doc, "vitals")) == sorted(plan), "each was answered by its vitals"
    assert _checks(doc, "check_missed") == []

    # An out-of-range value raises an alert that stays until acknowledged.
    app.xdo("key", "alt+v")
    app.type_line("124/80 72 88")
    alert = wait_for(
        lambda: next((e for e in export(app_env, data)["events"] if e["kind"] == "alert"), None),
        what="the alert",
    )
    assert alert["field"] == "spo2" and alert["source"]
    app.screenshot(tmp_path / "alert.png")
    app.xdo("key", "alt+a")
    ack = wait_for(
        lambda: next(
            (e for e in export(app_env, data)["events"] if e["kind"] == "alert_ack"), None
        ),
        what="the acknowledgement",
    )
    assert ack["alert"] == alert["seq"]
