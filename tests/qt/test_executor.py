"""The executor hands work off the GUI thread and its answer back on it; tests use the
synchronous one, which runs both at once."""

from __future__ import annotations

import threading

from ui.executor import SynchronousExecutor, ThreadExecutor


def test_synchronous_executor_runs_the_work_and_its_answer_at_once() -> None:
    executor = SynchronousExecutor()
    got: list[int] = []
    executor.submit(lambda: 6 * 7, got.append)
    assert got == [42]
    assert executor.submitted == 1


def test_synchronous_executor_drops_the_answer_of_work_that_raised(caplog) -> None:
    got: list[object] = []

    def fail() -> int:
        raise ValueError("secret clinical words")

    SynchronousExecutor().submit(fail, got.append)
    assert got == []
    assert "ValueError" in caplog.text and "secret" not in caplog.text


def test_thread_executor_works_off_the_gui_thread_and_answers_on_it(qtbot) -> None:
    executor = ThreadExecutor()
    gui = threading.current_thread()
    worked_on: list[threading.Thread] = []
    answered_on: list[threading.Thread] = []

    def work() -> str:
        worked_on.append(threading.current_thread())
        return "done"

    def done(result: str) -> None:
        assert result == "done"
        answered_on.append(threading.current_thread())

    executor.submit(work, done)
    qtbot.waitUntil(lambda: bool(answered_on), timeout=5000)
    assert worked_on[0] is not gui
    assert answered_on == [gui]
    executor.wait(5)
    assert not executor.busy()
