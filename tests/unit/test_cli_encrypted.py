"""The command line on an encrypted data folder: `encrypt` a plaintext folder, `sessions` and
`export` with the passphrase from $KAPSESSION_PASSPHRASE, a clear refusal without it or with a
wrong one, and `passphrase` re-wrapping the key (the database file itself is not touched)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.cli import run

from kapsession.clock import FakeClock
from kapsession.session.live import SessionService
from kapsession.storage import datakey
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store, is_plaintext

from .conftest import AUTHOR, T0, TZ, PlanFactory

PASS = "orchard pebble winter song"
NEW = "tidal compass amber frost"


@pytest.fixture
def data(tmp_path: Path, make_plan: PlanFactory) -> Path:
    folder = tmp_path / "data"
    store = Store.open(folder)
    clock = FakeClock(T0)
    service = SessionService(store, clock, TZ, AUTHOR)
    live = service.give_dose(service.plan(make_plan(client_code="C-ENC")).id)
    clock.advance(60)
    live.add_note("synthetic note for the export")
    store.close()
    return folder


def test_encrypt_then_read_with_the_passphrase(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(datakey.PASSPHRASE_ENV, raising=False)
    monkeypatch.setenv("KAPSESSION_NEW_PASSPHRASE", PASS)
    code, out, err = run(["encrypt", "--data-dir", str(data)], capsys)
    assert (code, err) == (0, "")
    assert "now encrypted" in out
    assert not is_plaintext(data / DB_NAME)
    assert datakey.has_key_file(data)

    # No passphrase and no terminal: one clear line, exit 2.
    code, out, err = run(["sessions", "--data-dir", str(data)], capsys)
    assert code == 2 and out == ""
    assert "encrypted" in err and datakey.PASSPHRASE_ENV in err

    monkeypatch.setenv(datakey.PASSPHRASE_ENV, "not the passphrase at all")
    code, out, err = run(["sessions", "--data-dir", str(data)], capsys)
    assert code == 2 and "does not unlock" in err

    monkeypatch.setenv(datakey.PASSPHRASE_ENV, PASS)
    code, out, err = run(["sessions", "--data-dir", str(data)], capsys)
    assert code == 0 and "C-ENC" in out
    code, out, err = run(["export", "--data-dir", str(data), "--format", "json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert [e["text"] for e in doc["events"] if e["kind"] == "note"] == [
        "synthetic note for the export"
    ]

    code, out, err = run(["encrypt", "--data-dir", str(data)], capsys)
    assert code == 2 and "already encrypted" in err


def _clinical_rows(folder: Path, key: bytes) -> list[tuple[object, ...]]:
    store = Store.open_readonly(folder, key)
    try:
        return [tuple(r) for r in store.db.execute("SELECT * FROM events ORDER BY seq")]
    finally:
        store.close()


def _audit_actions(folder: Path, key: bytes) -> list[str]:
    store = Store.open_readonly(folder, key)
    try:
        return [r[0] for r in store.db.execute("SELECT action FROM audit ORDER BY id")]
    finally:
        store.close()


def test_changing_the_passphrase_rewraps_the_key_and_is_audited(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data key stays (the database is not re-encrypted: its rows are untouched); the
    change is one `key_change` entry on the audit trail, after `encrypt`; verify stays OK."""
    monkeypatch.setenv("KAPSESSION_NEW_PASSPHRASE", PASS)
    assert run(["encrypt", "--data-dir", str(data)], capsys)[0] == 0
    key = datakey.unlock(data, PASS)
    before = (data / DB_NAME).read_bytes()
    rows = _clinical_rows(data, key)
    assert _audit_actions(data, key)[-1] == "encrypt"

    monkeypatch.setenv(datakey.PASSPHRASE_ENV, "wrong passphrase here")
    monkeypatch.setenv("KAPSESSION_NEW_PASSPHRASE", NEW)
    code, _out, err = run(["passphrase", "--data-dir", str(data)], capsys)
    assert code == 2 and "does not unlock" in err
    assert (data / DB_NAME).read_bytes() == before  # a refused change touches nothing

    monkeypatch.setenv(datakey.PASSPHRASE_ENV, PASS)
    code, out, err = run(["passphrase", "--data-dir", str(data)], capsys)
    assert code == 0 and "re-wrapped" in out
    assert datakey.unlock(data, NEW) == key
    assert _clinical_rows(data, key) == rows
    assert _audit_actions(data, key)[-2:] == ["encrypt", "key_change"]
    assert not is_plaintext(data / DB_NAME)
    monkeypatch.setenv(datakey.PASSPHRASE_ENV, NEW)
    code, out, err = run(["verify", "--data-dir", str(data)], capsys)
    assert (code, err) == (0, "") and out.startswith("OK: integrity ok")

    monkeypatch.setenv(datakey.PASSPHRASE_ENV, NEW)
    code, out, _err = run(["sessions", "--data-dir", str(data)], capsys)
    assert code == 0 and "C-ENC" in out
    monkeypatch.setenv(datakey.PASSPHRASE_ENV, PASS)
    assert run(["sessions", "--data-dir", str(data)], capsys)[0] == 2


def test_a_too_short_new_passphrase_is_refused_and_nothing_changes(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAPSESSION_NEW_PASSPHRASE", "short")
    code, _out, err = run(["encrypt", "--data-dir", str(data)], capsys)
    assert code == 2 and "at least 10" in err
    assert is_plaintext(data / DB_NAME) and not datakey.has_key_file(data)


def test_an_interrupted_set_up_is_finished_by_the_next_open(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key file is written first; if the app stopped before encrypting the database, the
    next open with the passphrase encrypts it (nothing is ever read without the key)."""
    datakey.create_key(data, PASS)
    assert is_plaintext(data / DB_NAME)
    monkeypatch.setenv(datakey.PASSPHRASE_ENV, PASS)
    code, out, _err = run(["sessions", "--data-dir", str(data)], capsys)
    assert code == 0 and "C-ENC" in out
    assert not is_plaintext(data / DB_NAME)
