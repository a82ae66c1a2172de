"""What a key means in client mode (kapsession.integration.client_run): number keys answer a
0-3 item, a 0-100 item takes typed digits and Enter, Backspace corrects or goes back, Escape
twice stops; a stopped run is saved as incomplete, a finished one scored, each once."""

from __future__ import annotations

from pathlib import Path

from kapsession.clock import FakeClock
from kapsession.integration.client_run import ClientRun
from kapsession.integration.instrument import builtin_instruments
from kapsession.storage.store import Store
from tests.unit.conftest import T0

SCALES = builtin_instruments()


def test_number_keys_answer_and_backspace_goes_back() -> None:
    run = ClientRun(SCALES["phq9"], "K-1")
    run.key("5")  # out of range: ignored
    assert run.index == 0
    for k in "1203":
        run.key(k)
    run.key("backspace")
    assert (run.index, run.answers[:4]) == (3, [1, 2, 0, 3])
    for k in "310000":
        run.key(k)
    assert run.done and run.answers == [1, 2, 0, 3, 1, 0, 0, 0, 0]
    run.key("1")  # after the end nothing changes
    assert run.answers[-1] == 0


def test_a_0_to_100_item_takes_typed_digits_and_enter() -> None:
    run = ClientRun(SCALES["ebi"], "K-1")
    assert not run.uses_options
    for k in "1005":  # the fourth digit does not fit 0-100
        run.key(k)
    assert run.typed == "100"
    run.key("backspace")
    run.key("enter")
    assert (run.index, run.answers[0]) == (1, 10)
    run.key("enter")  # nothing typed: nothing answered
    assert run.index == 1


def test_escape_twice_stops_and_the_run_is_saved_incomplete_once(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "data")
    with store.db.atomic():
        store.add_client("K-1", None, False, T0)
    clock = FakeClock(T0)
    run = ClientRun(SCALES["gad7"], "K-1")
    run.key("2")
    run.key("escape")
    assert run.stopping and not run.stopped
    run.key("1")  # answering again cancels the first Escape
    assert not run.stopping
    run.key("escape")
    run.key("escape")
    assert run.ended and not run.done
    first = run.save(store, tmp_path / "data", clock)
    assert first is not None and (first.complete, first.total) == (False, None)
    assert run.save(store, tmp_path / "data", clock) is first
    assert ClientRun(SCALES["gad7"], "K-1").save(store, None, clock) is None  # nothing answered
    store.close()
