"""The background sync worker against a real PostgreSQL: it pushes what the room writes, says
"offline since" with the count waiting while the hub is away, and catches up when it is back."""

from __future__ import annotations

import queue
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from helpers.cli import run

from kapsession.clock import FakeClock
from kapsession.hub import settings as hub_settings
from kapsession.hub.worker import SyncStatus, SyncWorker
from kapsession.monitoring.protocol import builtin_protocols
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store, open_connection
from tests.hub.conftest import Hub
from tests.unit import rich_session

T = datetime(2026, 12, 6, 14, 2, tzinfo=UTC)


def _next(statuses: queue.Queue[SyncStatus], want) -> SyncStatus:
    """The first status reported that WANT accepts (a hang guard, not a timing assertion)."""
    while True:
        status = statuses.get(timeout=60)
        if want(status):
            return status


def _hub_entries(hub: Hub) -> int:
    with psycopg.connect(hub.admin_dsn) as conn:
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    assert row is not None
    return int(row[0])


def test_the_worker_pushes_backs_off_while_the_hub_is_away_and_catches_up(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "laptop"
    rich = rich_session.build(folder)
    sid = rich.session_id
    rich.store.close()
    assert run(
        ["hub", "join", "--data-dir", str(folder), "--dsn", hub.room_dsn("a"), "--room", "a",
         "--clinic-key", str(hub.key_file)], capsys
    )[0] == 0  # fmt: skip
    settings = hub_settings.load(folder)
    assert settings is not None
    statuses: queue.Queue[SyncStatus] = queue.Queue()
    worker = SyncWorker(
        lambda: open_connection(folder / DB_NAME),
        settings,
        clock=FakeClock(T),
        interval=0.05,
        first_backoff=0.05,
        max_backoff=0.2,
        on_status=statuses.put,
    )
    hub.cluster.stop()
    try:
        worker.start()
        away = _next(statuses, lambda s: s.offline_since is not None)
        assert away.offline_since == T and away.waiting > 40 and not away.synced
        # The room goes on writing while the hub is away.
        store = Store.open(folder)
        store.append(sid, "amendment", T, "UTC", None, {"text": "x"}, amends=2, reason="later")
        store.close()
        _next(statuses, lambda s: s.waiting == away.waiting + 1)
    finally:
        hub.cluster.start()
    worker.nudge()
    back = _next(statuses, lambda s: s.synced)
    assert back == SyncStatus(True, 0, None, None)
    worker.stop()
    store = Store.open(folder)
    try:
        assert _hub_entries(hub) == len(store.events(sid))
    finally:
        store.close()


def test_the_command_line_and_the_hub_modules_import_no_psycopg_until_a_hub_is_used() -> None:
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from kapsession.cli import commands\n"
        "commands.build_parser()\n"
        "import kapsession.hub.worker, kapsession.hub.settings, kapsession.hub.hub_export\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] == 'psycopg'))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n"


def test_an_unexpected_fault_in_a_round_is_one_line_and_the_worker_goes_on(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "laptop"
    Store.open(folder).close()
    assert run(
        ["hub", "join", "--data-dir", str(folder), "--dsn", hub.room_dsn("a"), "--room", "a",
         "--clinic-key", str(hub.key_file)], capsys
    )[0] == 0  # fmt: skip
    settings = hub_settings.load(folder)
    assert settings is not None
    broken = type(settings)(settings.dsn, settings.room, b"short key", settings.password)
    statuses: queue.Queue[SyncStatus] = queue.Queue()
    store = Store.open(folder)  # a session to seal: the short key fails there
    service = SessionService(store, FakeClock(T), "UTC", "Test", builtin_protocols())
    service.plan(SessionPlan("C-1", "sublingual", "sublingual", 200.0, 75, "a private intention"))
    store.close()
    worker = SyncWorker(
        lambda: open_connection(folder / DB_NAME), broken, interval=0.05, max_backoff=0.05,
        on_status=statuses.put,
    )  # fmt: skip
    worker.start()
    first, second = statuses.get(timeout=60), statuses.get(timeout=60)
    worker.stop()
    assert first.problem == "The clinic hub sync met an unexpected error (ValueError)."
    assert second == first, "it went on, round after round"
    assert "a private intention" not in capsys.readouterr().err
