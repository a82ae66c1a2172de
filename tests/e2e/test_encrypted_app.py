"""The real app on an encrypted data folder, under Xvfb: set up on the first-run screen, notes
typed, killed; the folder shows no clinical text to plain sqlite3 or `strings`; the next start
asks for the passphrase; the screen lock hides the session and the PIN brings it back."""

from __future__ import annotations

import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from kapsession.storage import datakey
from kapsession.storage.paths import DB_NAME

from .conftest import App, cli, export, wait_for

pytestmark = pytest.mark.e2e

PASS = "violet harbour lantern seven"
CANARY = "canary-e2e-quartz-7731"


def _notes(doc: dict) -> list[str]:
    return [e["text"] for e in doc["events"] if e["kind"] == "note"]


def _main_window(app: App) -> str | None:
    """The app's main window (title "kapsession · <client>"), focused; None until it is."""
    window = app._find_and_focus()
    if window is None:
        return None
    app.window = window
    return window if _title(app).startswith("kapsession · DEMO") else None


def _title(app: App) -> str:
    return subprocess.run(
        ["xdotool", "getwindowname", app.window], env=app.env, capture_output=True, text=True
    ).stdout.strip()


def test_first_run_encrypts_and_nothing_clinical_is_readable_on_disk(
    app_env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = dict(app_env)
    first.pop("KAPSESSION_ENCRYPTION")  # a real first run: the set-up screen
    app = App(first, data, "--rehearsal", "--time-scale", "1")
    assert _title(app) == "kapsession · protect this data folder"
    app.xdo("type", "--delay", "5", PASS)
    app.xdo("key", "Tab")
    app.xdo("type", "--delay", "5", PASS)
    app.xdo("key", "Tab")
    app.xdo("type", "--delay", "5", "4821")
    app.xdo("key", "Return")
    wait_for(lambda: _main_window(app), what="the rehearsal after set-up")
    app.type_line(f"q: {CANARY} one")
    app.type_line(f"{CANARY} two")

    reader = dict(app_env, KAPSESSION_PASSPHRASE=PASS)
    wait_for(lambda: len(_notes(export(reader, data))) == 2, what="2 notes")

    # Locked: the title no longer names the client; the PIN unlocks.
    app.xdo("key", "ctrl+l")
    wait_for(lambda: _title(app) == "kapsession · locked", what="the lock")
    app.type_line("0000")
    assert _title(app) == "kapsession · locked"
    app.type_line("4821")
    wait_for(lambda: _title(app).startswith("kapsession · DEMO"), what="the unlock")
    app.kill()

    assert datakey.has_key_file(data)
    files = sorted(p for p in data.rglob("*") if p.is_file())  # database, WAL, key, logs, ...
    assert any(p.name == DB_NAME for p in files)
    for path in files:
        found = subprocess.run(["strings", "-a", str(path)], capture_output=True, check=True)
        assert CANARY.encode() not in found.stdout, path.name
        assert b"DEMO-REHEARSAL" not in found.stdout, path.name
    with closing(sqlite3.connect(data / DB_NAME)) as plain, pytest.raises(sqlite3.DatabaseError):
        plain.execute("SELECT count(*) FROM events").fetchone()

    refused = cli(app_env, "export", "--data-dir", str(data), "--format", "json")
    assert refused.returncode == 2 and "encrypted" in refused.stderr
    wrong = cli(
        dict(app_env, KAPSESSION_PASSPHRASE="not it at all"),
        "sessions",
        "--data-dir",
        str(data),
    )
    assert wrong.returncode == 2 and "does not unlock" in wrong.stderr
    assert _notes(export(reader, data)) == [f"{CANARY} one", f"{CANARY} two"]

    # The next start asks for the passphrase, then resumes the running session.
    app = App(app_env, data)
    assert _title(app) == "kapsession · unlock"
    app.type_line(PASS)
    wait_for(lambda: _main_window(app), what="the resumed session")
    app.kill()
