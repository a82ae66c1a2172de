"""The GUI scheduler: jobs on the GUI thread, and no wakeups left behind by rescheduling."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.qt import QtScheduler

from ui.scheduler import GuiScheduler


def _reschedule_many(scheduler, qtbot, count: int = 50) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    job = scheduler.add_job(lambda: None, "date", run_date=later, id="check")
    for i in range(count):
        job.reschedule("date", run_date=later + timedelta(seconds=i))


def test_rescheduling_leaves_one_timer_not_fifty(qtbot) -> None:
    calls = {"stock": 0}

    class CountingStock(QtScheduler):
        def _process_jobs(self):
            calls["stock"] += 1
            return super()._process_jobs()

    stock = CountingStock(timezone=UTC)
    stock.start()
    _reschedule_many(stock, qtbot)
    # The stock scheduler wakes once per reschedule (waited for, with a generous fuse).
    qtbot.waitUntil(lambda: calls["stock"] >= 50, timeout=30_000)
    stock.shutdown(wait=False)

    fixed = GuiScheduler(timezone=UTC)
    fixed.start()
    _reschedule_many(fixed, qtbot)
    # Its one timer fires once and is then set an hour ahead: nothing else is pending after it.
    qtbot.waitUntil(lambda: fixed.wakeups >= 1, timeout=30_000)
    assert fixed._qtimer.remainingTime() > 59 * 60 * 1000
    fixed.shutdown(wait=False)

    print(f"wakeups after 50 reschedules: stock {calls['stock']}, fixed {fixed.wakeups}")
    # The stock scheduler wakes once per reschedule; ours coalesces them.
    assert calls["stock"] >= 50
    assert fixed.wakeups <= 3


def test_jobs_run_on_the_gui_thread(qtbot) -> None:
    ran_on: list[threading.Thread] = []
    scheduler = GuiScheduler(timezone=UTC)
    scheduler.start()
    scheduler.add_job(
        lambda: ran_on.append(threading.current_thread()),
        "date",
        run_date=datetime.now(UTC) + timedelta(milliseconds=50),
    )
    qtbot.waitUntil(lambda: bool(ran_on), timeout=5000)
    scheduler.shutdown(wait=False)
    assert ran_on == [threading.main_thread()]
