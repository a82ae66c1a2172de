"""The executor behind slow work: the app's runs the work off the GUI thread and its `done` on
it; the tests' runs both at once."""

from __future__ import annotations

import threading

from ui.executor import SynchronousExecutor, ThreadExecutor


def test_the_thread_executor_works_off_the_gui_thread_and_is_done_on_it(qtbot) -> None:
    gui = threading.get_ident()
    worked_on: list[int] = []
    done_on: list[tuple[int, int]] = []

    def work() -> int:
        worked_on.append(threading.get_ident())
        return 42

    executor = ThreadExecutor("kapsession-test")
    executor.submit(work, lambda result: done_on.append((result, threading.get_ident())))
    qtbot.waitUntil(lambda: bool(done_on), timeout=10_000)
    assert worked_on and worked_on[0] != gui
    assert done_on == [(42, gui)]


def test_the_synchronous_executor_is_done_before_submit_returns() -> None:
    done: list[str] = []
    SynchronousExecutor().submit(lambda: "written", done.append)
    assert done == ["written"]
