"""The real app on a data folder joined to the clinic hub: what the room types reaches the hub in
the background while the session runs, and a kill loses nothing the next sync does not send."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.e2e import conftest as e2e
from tests.e2e.conftest import App, cli, wait_for
from tests.hub.conftest import Hub

# The end-to-end suite's fixtures: the X server and the app's environment.
display, app_env = e2e.display, e2e.app_env

pytestmark = pytest.mark.e2e


def _hub_kinds(hub: Hub) -> list[str]:
    with psycopg.connect(hub.admin_dsn) as conn:
        return [str(r[0]) for r in conn.execute("SELECT kind FROM events ORDER BY local_seq")]


def test_a_running_rehearsal_syncs_in_the_background_and_a_kill_loses_nothing(
    hub: Hub, app_env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    joined = cli(
        app_env, "hub", "join", "--data-dir", str(data), "--dsn", hub.room_dsn("a"),
        "--room", "a", "--clinic-key", str(hub.key_file),
    )  # fmt: skip
    assert joined.returncode == 0, joined.stderr
    app = App(app_env, data, "--rehearsal")
    app.type_line("the room is quiet")
    wait_for(lambda: "note" in _hub_kinds(hub), timeout=60, what="the note on the hub")
    assert "dose" in _hub_kinds(hub)
    app.type_line("a second note")
    wait_for(
        lambda: "a second note" in cli(app_env, "export", "--data-dir", str(data), "--format",
                                       "json").stdout,
        what="the second note saved",
    )  # fmt: skip
    app.kill()

    done = cli(app_env, "hub", "sync", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("nothing is left to send.\n")
    ours = cli(app_env, "export", "--data-dir", str(data), "--format", "json")
    theirs = cli(
        app_env, "hub", "export", "--dsn", hub.logins()["board"], "--clinic-key",
        str(hub.key_file), "--room", "a", "--session", "latest", "--format", "json",
    )  # fmt: skip
    assert ours.returncode == theirs.returncode == 0, theirs.stderr
    laptop, on_hub = json.loads(ours.stdout), json.loads(theirs.stdout)
    laptop.pop("exported_at")
    on_hub.pop("exported_at")
    assert on_hub == laptop
    assert [e["text"] for e in on_hub["events"] if e["kind"] == "note"][-1] == "a second note"
