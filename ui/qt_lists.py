"""Qt's lists of widgets, read safely from Python.

`QApplication.topLevelWidgets()` and `allWidgets()` return a snapshot of raw C++ pointers that
PySide6 wraps one at a time. Each new wrapper is an allocation that can start Python's cyclic
collector, and a collection can delete a Python-owned window (a closed dialog or review window
kept alive only by a reference cycle) whose pointer is further down the same snapshot: the next
wrapper is made for freed memory and the process dies (a segmentation fault, seen in the lock's
tests and reproduced by tests/qt/test_qt_lists.py). Once wrapped, every widget of the list is held
by Python and cannot be collected, so the collector is paused only while the list is made."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QWidget

from kapsession import gc_pause


def top_level_widgets() -> list[QWidget]:
    with gc_pause.paused():
        return QApplication.topLevelWidgets()


def all_widgets() -> list[QWidget]:
    with gc_pause.paused():
        return QApplication.allWidgets()
