"""The room board against a real PostgreSQL: two rooms synced from real data folders, read with
the board's read-only login; the feed hears a new entry through LISTEN/NOTIFY (payload: the room
only), says "unreachable since" while the hub is away and comes back on its own."""

from __future__ import annotations

import queue
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from kapsession.clock import SystemClock
from kapsession.hub import board
from kapsession.hub.board_feed import BoardFeed, FeedStatus
from kapsession.hub.connection import HubError
from kapsession.storage.store import Store
from tests.hub.board_rooms import join_and_sync, make_room
from tests.hub.conftest import Hub
from ui.board.run import check_login


def _two_rooms(hub: Hub, tmp_path: Path) -> dict[str, Path]:
    rooms = {"a": tmp_path / "a", "b": tmp_path / "b"}
    make_room(rooms["a"], "C-014", 16.5, phase="onset", music=True)  # the 15-min check is due
    make_room(rooms["b"], "C-027", 10.5, alert=True)  # SpO2 86: an open alert
    for name, folder in rooms.items():
        join_and_sync(folder, hub.room_dsn(name), name, hub.key_file)
    return rooms


def _snapshot(hub: Hub) -> board.Snapshot:
    with psycopg.connect(hub.logins()["board"], autocommit=True) as conn:
        return board.read(conn, SystemClock().now())


def test_the_board_reads_each_rooms_tile_with_its_read_only_login(hub: Hub, tmp_path: Path) -> None:
    _two_rooms(hub, tmp_path)
    snap = _snapshot(hub)
    a, b = board.tiles(snap, SystemClock().now(), UTC)
    assert (a.room, a.code, a.check_mark, a.check) == ("a", "C-014", "due", "Monitoring")
    assert (a.phase, a.music, a.alerts, a.offline_since) == ("onset", True, (), None)
    assert a.t_plus.startswith("T+16:")
    assert (b.room, b.code, b.check_mark, b.alerts) == ("b", "C-027", "next", ("SpO2 below 90 %",))
    assert b.music is False and b.offline_since is None
    # The board read no sealed column: its login may, but board.read never asks.
    assert all(s.synced_at is not None for s in snap.rooms)


def test_the_feed_hears_a_new_entry_through_notify_and_the_payload_is_the_room_only(
    hub: Hub, tmp_path: Path
) -> None:
    rooms = _two_rooms(hub, tmp_path)
    snaps: queue.Queue[board.Snapshot] = queue.Queue()
    statuses: queue.Queue[FeedStatus] = queue.Queue()
    # poll_s long: only a notification can bring the new entry within the test.
    feed = BoardFeed(hub.logins()["board"], snaps.put, statuses.put, poll_s=600.0)
    with psycopg.connect(hub.logins()["board"], autocommit=True) as spy:
        spy.execute(f"LISTEN {'kapsession_board'}")
        feed.start()
        try:
            first = snaps.get(timeout=60)
            assert statuses.get(timeout=60).listening
            before = {r.room: r.session.entries[-1].seq for r in first.rooms if r.session}
            store = Store.open(rooms["b"])
            sid = store.sessions()[-1].id
            store.append(sid, "note", datetime.now(UTC), "UTC", 700.0, {"text": "secret words"})
            store.close()
            join_and_sync(rooms["b"], hub.room_dsn("b"), "b", hub.key_file)
            while True:  # a hang guard only
                snap = snaps.get(timeout=60)
                b = next(r for r in snap.rooms if r.room == "b")
                assert b.session is not None
                if b.session.entries[-1].seq > before["b"]:
                    break
            heard = [n.payload for n in spy.notifies(timeout=2)]
        finally:
            feed.stop()
    assert heard and set(heard) <= {"b"}, heard


def test_the_feed_says_unreachable_since_while_the_hub_is_away_and_comes_back(
    hub: Hub, tmp_path: Path
) -> None:
    _two_rooms(hub, tmp_path)
    snaps: queue.Queue[board.Snapshot] = queue.Queue()
    statuses: queue.Queue[FeedStatus] = queue.Queue()
    feed = BoardFeed(
        hub.logins()["board"], snaps.put, statuses.put, poll_s=0.2, first_backoff=0.1,
        max_backoff=0.3,
    )  # fmt: skip
    feed.start()
    try:
        snaps.get(timeout=60)
        hub.cluster.stop("immediate")
        try:
            while True:
                status = statuses.get(timeout=60)
                if status.unreachable_since is not None:
                    break
            assert status.problem is not None and "cannot be reached" in status.problem
            assert "\n" not in status.problem
        finally:
            hub.cluster.start()
        while True:
            status = statuses.get(timeout=60)
            if status.unreachable_since is None and status.problem is None:
                break
        assert len(snaps.get(timeout=60).rooms) == 2
    finally:
        feed.stop()


def test_the_board_refuses_a_wrong_password_and_a_rooms_login_in_one_line(hub: Hub) -> None:
    good = hub.logins()["board"]
    with pytest.raises(HubError, match="refused the login") as wrong:
        check_login(good.replace("password=", "password=x"))
    assert "\n" not in str(wrong.value)
    with pytest.raises(HubError, match="read-only board login"):
        check_login(hub.room_dsn("a"))
    check_login(good)


class _NoListen(BoardFeed):
    """A feed whose LISTEN is refused (as behind a transaction-pooling proxy)."""

    def _listen(self, conn) -> bool:  # type: ignore[no-untyped-def]
        return False


def test_without_listen_the_feed_polls_and_still_sees_a_new_entry(hub: Hub, tmp_path: Path) -> None:
    rooms = _two_rooms(hub, tmp_path)
    snaps: queue.Queue[board.Snapshot] = queue.Queue()
    statuses: queue.Queue[FeedStatus] = queue.Queue()
    feed = _NoListen(hub.logins()["board"], snaps.put, statuses.put, poll_s=0.2)
    feed.start()
    try:
        first = snaps.get(timeout=60)
        assert statuses.get(timeout=60).listening is False
        a = next(r for r in first.rooms if r.room == "a")
        assert a.session is not None
        before = a.session.entries[-1].seq
        store = Store.open(rooms["a"])
        sid = store.sessions()[-1].id
        store.append(sid, "note", datetime.now(UTC), "UTC", 1000.0, {"text": "x"})
        store.close()
        join_and_sync(rooms["a"], hub.room_dsn("a"), "a", hub.key_file)
        while True:  # a hang guard only
            snap = snaps.get(timeout=60)
            a = next(r for r in snap.rooms if r.room == "a")
            assert a.session is not None
            if a.session.entries[-1].seq > before:
                break
    finally:
        feed.stop()
