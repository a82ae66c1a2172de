"""`kapsession measures add|list` (DESIGN.md): paper entry, the JSON list with instrument, date,
total, severity and flags, and every refusal as one line naming the field, exit 2, nothing
written."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from kapsession.clock import SystemClock
from kapsession.integration.client_run import ClientRun
from kapsession.integration.instrument import builtin_instruments
from kapsession.storage.instance_lock import InstanceLock
from kapsession.storage.store import Store
from tests.helpers.cli import run


def _folder(tmp_path: Path) -> list[str]:
    folder = tmp_path / "d"
    store = Store.open(folder)
    with store.db.atomic():
        store.add_client("K-007", None, False, SystemClock().now())
    store.close()
    return ["--data-dir", str(folder)]


def test_add_then_list_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    d = _folder(tmp_path)
    monkeypatch.delenv("KAPSESSION_CLINICIAN", raising=False)
    add = ["measures", "add", *d, "--client", "K-007"]
    code, out, err = run(
        [*add, "--instrument", "phq9", "--items", "2,2,2,2,2,2,2,2,0", "--date", "2026-01-10"],
        capsys,
    )
    assert (code, err) == (0, "")
    assert "total 16 (moderately severe)" in out
    code, out, err = run(
        [*add, "--instrument", "phq9", "--items", "1,1,1,1,0,0,0,0,1", "--date", "2026-02-10"],
        capsys,
    )
    assert code == 0 and "Needs acknowledging" in out
    code, out, err = run([*add, "--instrument", "GAD7", "--items", "0,0,1,1,0,0,0"], capsys)
    assert code == 0
    code, out, err = run(["measures", "list", *d, "--client", "K-007", "--format", "json"], capsys)
    assert (code, err) == (0, "")
    found = json.loads(out)
    keys = ("instrument", "date", "total", "severity", "flags")
    assert [{k: m[k] for k in keys} for m in found] == [
        {
            "instrument": "phq9",
            "date": "2026-01-10",
            "total": 16.0,
            "severity": "moderately severe",
            "flags": [],
        },
        {
            "instrument": "phq9",
            "date": "2026-02-10",
            "total": 5.0,
            "severity": "mild",
            "flags": ["self_harm", "unacknowledged", "response"],
        },
        {
            "instrument": "gad7",
            "date": date.today().isoformat(),
            "total": 2.0,
            "severity": "minimal",
            "flags": ["remission"],
        },
    ]
    assert {m["source"] for m in found} == {"paper"}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["--instrument", "bdi", "--items", "1,2"], "instrument:"),
        (["--instrument", "phq9", "--items", "1,0,2,1,0,1,1,0"], "item 9:"),
        (["--instrument", "phq9", "--items", "1,0,7,1,0,1,1,0,0"], "item 3:"),
        (["--instrument", "phq9", "--items", "1,x,2,1,0,1,1,0,0"], "item 2:"),
        (["--instrument", "gad7", "--items", "0,0,0,0,0,0,0", "--date", "2026-13-01"], "date:"),
        (
            [
                "--instrument",
                "gad7",
                "--items",
                "0,0,0,0,0,0,0",
                "--date",
                (date.today() + timedelta(days=2)).isoformat(),
            ],
            "date:",
        ),
    ],
)
def test_refusals_are_one_line_naming_the_field_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], field: str
) -> None:
    d = _folder(tmp_path)
    code, out, err = run(["measures", "add", *d, "--client", "K-007", *extra], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"kapsession: {field}"), err
    code, out, _ = run(["measures", "list", *d, "--client", "K-007", "--format", "json"], capsys)
    assert json.loads(out) == []


def test_an_unknown_client_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _folder(tmp_path)
    code, out, err = run(["measures", "list", *d, "--client", "NOPE", "--format", "json"], capsys)
    assert code == 2 and out == "" and err.startswith("kapsession: client:")


def test_list_keeps_a_run_left_open_as_incomplete_unless_an_app_holds_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A client-mode run left open by a killed app is listed as its incomplete measure (the
    listing never shows a run half-way); while an app has the folder open the run is still
    being answered, so it is left alone and not listed."""
    d = _folder(tmp_path)
    folder = Path(d[1])
    store = Store.open(folder)
    run_ = ClientRun(builtin_instruments()["phq9"], "K-007")
    for key in "201":
        run_.key(key)
        run_.keep(store, SystemClock())
    store.close()
    listing = ["measures", "list", *d, "--client", "K-007", "--format", "json"]
    app = InstanceLock(folder)
    app.acquire()  # an app is running: its run is its own
    try:
        code, out, err = run(listing, capsys)
    finally:
        app.release()
    assert (code, err, json.loads(out)) == (0, "", [])
    for _ in range(2):  # the app is gone: kept as incomplete, once
        code, out, err = run(listing, capsys)
        assert (code, err) == (0, "")
        [found] = json.loads(out)
        assert (found["complete"], found["total"]) == (False, None)
        assert found["answers"] == [2, 0, 1, *[None] * 6]
