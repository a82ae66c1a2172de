"""The issue's fault matrix, the faults tests/hub did not have yet: the network cut in the middle
of a transaction (a TCP proxy in the test drops the connection between an INSERT and its
COMMIT), wrong credentials during a sync, and the worker's one line for each fault that is not
the network while the room goes on writing. Nothing is lost or doubled; each error is one line."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from helpers.cli import run

from kapsession.hub import settings as hub_settings
from kapsession.hub import sync
from kapsession.hub.worker import SyncStatus, SyncWorker
from kapsession.storage import backup
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store, open_connection
from tests.hub.conftest import Hub
from tests.hub.test_hub_sync import _count, _hub_export, _laptop, _laptop_export, _local_entries

T = datetime(2026, 12, 6, 14, 2, tzinfo=UTC)
OPEN_TRANSACTION_EOF = "unexpected EOF on client connection with an open transaction"


class CuttingProxy:
    """Forwards loopback TCP to the cluster. Once armed, it drops the connection (both sides)
    when the client sends the COMMIT that follows its CUT_AT-th `INSERT INTO events`: the
    server has run that INSERT in an open transaction and never sees the COMMIT."""

    def __init__(self, port: int, cut_at: int) -> None:
        self._target, self.cut_at = port, cut_at
        self.inserts, self.cut = 0, False
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self._target))
            self._socks += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        try:
            while data := src.recv(65536):
                if from_client and not self.cut:
                    self.inserts += data.count(b"INSERT INTO events")
                    if self.inserts >= self.cut_at and b"COMMIT" in data:
                        self.cut = True  # the network goes, mid-transaction
                        for s in (src, dst):
                            with contextlib.suppress(OSError):
                                s.shutdown(socket.SHUT_RDWR)
                        return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._server.close()
        for s in self._socks:
            with contextlib.suppress(OSError):
                s.close()


def _server_log(hub: Hub) -> str:
    return (hub.cluster.root / "server.log").read_text(errors="replace")


def test_the_network_cut_mid_transaction_loses_and_doubles_nothing(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "laptop"
    sid = _laptop(hub, folder, "a", capsys)
    entries = _local_entries(folder)
    monkeypatch.setattr(sync, "BATCH", 10)
    assert entries > 30, "enough entries for three batches"
    proxy = CuttingProxy(hub.cluster.port, cut_at=3)
    try:
        # The room's login through the proxy, in clear so the proxy sees the statements.
        dsn = hub.room_dsn("a").replace(f"port={hub.cluster.port}", f"port={proxy.port}")
        assert run(
            ["hub", "join", "--data-dir", str(folder), "--dsn", dsn + " sslmode=disable",
             "--room", "a", "--clinic-key", str(hub.key_file)], capsys
        )[0] == 0  # fmt: skip
        eofs = _server_log(hub).count(OPEN_TRANSACTION_EOF)
        code, out, err = run(["hub", "sync", "--data-dir", str(folder)], capsys)
        assert proxy.cut, "the proxy cut the connection at the third batch's COMMIT"
        assert code == 1 and out == ""
        assert err.count("\n") == 1 and "cannot be reached" in err
        assert f"{entries - 20} entries wait on this laptop" in err
        # The server saw the client vanish inside the open transaction, and rolled it back:
        # the two committed batches are there, the third's INSERT is not.
        assert _server_log(hub).count(OPEN_TRANSACTION_EOF) == eofs + 1
        assert _count(hub, "events") == 20
        with sqlite3_connection(folder) as conn:
            assert sync.waiting(conn) == entries - 20
        assert _local_entries(folder) == entries

        code, out, err = run(["hub", "sync", "--data-dir", str(folder)], capsys)
        assert (code, err) == (0, "") and f"{entries - 20} entries" in out
    finally:
        proxy.close()
    assert _count(hub, "events") == entries, "none lost, none doubled"
    assert _hub_export(hub, "a", "latest", capsys) == _laptop_export(folder, str(sid), capsys)


@contextlib.contextmanager
def sqlite3_connection(folder: Path):
    conn = open_connection(folder / DB_NAME)
    try:
        yield conn
    finally:
        conn.close()


def test_a_wrong_password_stops_the_sync_with_one_line_and_the_room_loses_nothing(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "laptop"
    sid = _laptop(hub, folder, "a", capsys)
    (folder / hub_settings.PASSWORD_FILE).write_text("not the password")
    entries = _local_entries(folder)
    code, out, err = run(["hub", "sync", "--data-dir", str(folder)], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "refused the login" in err
    assert "not the password" not in err
    assert _count(hub, "events") == 0 and _local_entries(folder) == entries
    # The room's own line again: everything goes, once.
    code, _, err = run(
        ["hub", "join", "--data-dir", str(folder), "--dsn", hub.room_dsn("a"), "--room", "a",
         "--clinic-key", str(hub.key_file)], capsys
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert run(["hub", "sync", "--data-dir", str(folder)], capsys)[0] == 0
    assert _hub_export(hub, "a", "latest", capsys) == _laptop_export(folder, str(sid), capsys)


def _break(how: str, hub: Hub, folder: Path, sid: int, capsys) -> None:
    if how == "conflict":
        # A backup restored after newer entries had been sent, then written on.
        backups = folder.parent / "backups"
        assert run(["backup", "--data-dir", str(folder), "--to", str(backups)], capsys)[0] == 0
        (made,) = backup.backups_in(backups)
        _amend(folder, sid, "sent, then lost with the restore")
        assert run(["hub", "sync", "--data-dir", str(folder)], capsys)[0] == 0
        code = run(["restore", str(made), "--data-dir", str(folder), "--yes"], capsys)[0]
        assert code == 0
        _amend(folder, sid, "written after the restore")
    elif how == "login":
        (folder / hub_settings.PASSWORD_FILE).write_text("not the password")
    elif how == "schema":
        with psycopg.connect(hub.admin_dsn) as conn:
            conn.execute("INSERT INTO hub_migrations (name) VALUES ('h999_from_the_future')")
    elif how == "room":
        text = (folder / hub_settings.SETTINGS_FILE).read_text()
        (folder / hub_settings.SETTINGS_FILE).write_text(text.replace('"a"', '"b"'))


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("login", "refused the login"),
        ("schema", "schema is newer than this kapsession"),
        ("room", "row-level security"),
        ("conflict", "holds 1 different events"),
    ],
)
def test_the_worker_says_a_fault_that_is_not_the_network_in_one_line_and_the_room_goes_on(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str, said: str
) -> None:
    folder = tmp_path / "laptop"
    sid = _laptop(hub, folder, "a", capsys)
    _break(how, hub, folder, sid, capsys)
    held = _count(hub, "events")
    settings = hub_settings.load(folder)
    assert settings is not None
    statuses: queue.Queue[SyncStatus] = queue.Queue()
    worker = SyncWorker(
        lambda: open_connection(folder / DB_NAME), settings, interval=0.05, first_backoff=0.05,
        max_backoff=30, on_status=statuses.put,
    )  # fmt: skip
    worker.start()
    try:
        fault = statuses.get(timeout=60)
        entries = _local_entries(folder)
        assert fault.fault == how and fault.problem is not None and said in fault.problem
        assert "\n" not in fault.problem and fault.waiting == entries
        assert fault.offline_since is None and not fault.synced
        # The room goes on writing; the worker only counts what waits (no round while a
        # person must act: the back-off stands).
        _amend(folder, sid, "x")
        worker.committed()
        again = statuses.get(timeout=60)
        assert again == SyncStatus(False, entries + 1, None, fault.problem, how)
    finally:
        worker.stop()
    assert _count(hub, "events") == held, "nothing sent, nothing replaced"


def _amend(folder: Path, sid: int, text: str) -> None:
    store = Store.open(folder)
    try:
        store.append(sid, "amendment", T, "UTC", None, {"text": text}, amends=2, reason="later")
    finally:
        store.close()
