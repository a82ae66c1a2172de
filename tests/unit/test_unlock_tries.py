"""The screen lock's wrong tries survive a restart: they are audit entries, the wait is worked
out again from them on start (on a fake clock), a clock set back never shortens it, the
unlock starts the count again, and unreadable history neither locks out nor skips the wait."""

from __future__ import annotations

from pathlib import Path

import pytest

from kapsession.clock import FakeClock
from kapsession.storage import audit
from kapsession.storage.store import Store
from kapsession.storage.unlock_tries import FAILED, FREE_TRIES, MAX_WAIT_S, UnlockTries, wait_after


def opened(folder: Path, clock: FakeClock) -> Store:
    store = Store.open(folder)
    store.clock = clock
    return store


def restart(folder: Path, store: Store, clock: FakeClock) -> tuple[Store, UnlockTries]:
    """The app is killed and started again on the same data folder."""
    store.close()
    reopened = opened(folder, clock)
    return reopened, UnlockTries(reopened, clock)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_the_waits_double_after_the_free_tries_and_stop_at_five_minutes() -> None:
    assert [wait_after(n) for n in range(FREE_TRIES)] == [0.0] * FREE_TRIES
    assert [wait_after(FREE_TRIES + n) for n in range(4)] == [5.0, 10.0, 20.0, 40.0]
    assert wait_after(FREE_TRIES + 10) == MAX_WAIT_S
    assert wait_after(10**9) == MAX_WAIT_S  # no overflow on an absurd count


def test_a_restart_keeps_the_wrong_tries_and_the_wait_still_to_run(
    folder: Path, clock: FakeClock
) -> None:
    store = opened(folder, clock)
    store.audit("lock", "app")
    tries = UnlockTries(store, clock)
    for _ in range(FREE_TRIES + 2):
        backoff = tries.failed()
    assert backoff.failures == FREE_TRIES + 2 and backoff.wait_s == 20.0
    clock.advance(3)

    store, tries = restart(folder, store, clock)
    assert tries.locked_at_exit
    state = tries.state()
    assert state.failures == FREE_TRIES + 2 and state.wait_s == pytest.approx(17.0)
    assert tries.failed().wait_s == 40.0  # the next wrong try doubles on from there
    clock.advance(41)
    assert tries.state().wait_s == 0.0

    kinds = [a for (a,) in store.db.execute("SELECT action FROM audit ORDER BY id")]
    assert kinds.count(FAILED) == FREE_TRIES + 3
    assert audit.verify(store.db.conn).ok  # they sit in the chain like every entry
    store.close()


def test_a_clock_set_back_never_shortens_the_wait(folder: Path, clock: FakeClock) -> None:
    store = opened(folder, clock)
    tries = UnlockTries(store, clock)
    for _ in range(FREE_TRIES):
        tries.failed()
    clock.jump_wall(-3600)
    store, tries = restart(folder, store, clock)
    assert tries.state().wait_s == 5.0
    store.close()


def test_the_unlock_starts_the_count_again_across_a_restart(folder: Path, clock: FakeClock) -> None:
    store = opened(folder, clock)
    store.audit("lock", "app")
    tries = UnlockTries(store, clock)
    for _ in range(FREE_TRIES + 1):
        tries.failed()
    clock.advance(60)
    tries.succeeded()
    store.audit("unlock", "app")  # what the app writes on every unlock
    assert tries.state().failures == 0
    tries.failed()  # one wrong try after the unlock

    store, tries = restart(folder, store, clock)
    assert tries.state().failures == 1 and tries.state().wait_s == 0.0
    assert not tries.locked_at_exit
    store.close()


def test_unreadable_history_makes_every_wrong_try_wait_but_never_locks_out(
    clock: FakeClock,
) -> None:
    store = Store.memory()
    store.db.execute("ALTER TABLE audit RENAME TO audit_gone")  # the trail cannot be read
    tries = UnlockTries(store, clock)
    assert tries.state().wait_s == 0.0  # the right PIN is taken at once
    backoff = tries.failed()  # its audit write fails too: still counted here
    assert backoff.failures == FREE_TRIES + 1 and backoff.wait_s == 10.0
    store.close()


def test_without_a_store_the_tries_are_counted_in_memory(clock: FakeClock) -> None:
    tries = UnlockTries(None, clock)
    for _ in range(FREE_TRIES):
        tries.failed()
    assert tries.state().wait_s == 5.0
    clock.advance(5)
    assert tries.state().wait_s == 0.0
