"""Qt's widget lists read while Python's collector could free a window in them (ui/qt_lists.py).

The hazard is reproduced in a child process (it ends in a segmentation fault): windows kept only
by a reference cycle, the collector made to run at every allocation, then Qt's list of widgets
read. Read raw, the list holds a window freed while it was being wrapped; read through
ui/qt_lists, the collector waits until every widget is held."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import gc, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget
from ui import qt_lists

app = QApplication([])
read = {
    "raw-all": QApplication.allWidgets,
    "raw-top": QApplication.topLevelWidgets,
    "all": qt_lists.all_widgets,
    "top": qt_lists.top_level_widgets,
}[sys.argv[1]]


class Window(QWidget):
    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        self.labels = [QLabel(f"label {i}", self) for i in range(200)]
        for label in self.labels:
            layout.addWidget(label)
        self.me = self  # a cycle: only the collector frees it


seen = 0
for _ in range(30):
    for _ in range(5):
        Window().show()  # dropped at once: garbage the collector may free any time
    app.processEvents()
    gc.set_threshold(1)  # the collector at every allocation, as bad luck would have it
    widgets = read()
    gc.set_threshold(700)
    seen += sum(1 for w in widgets if w.isVisible())
    gc.collect()
print("read", seen)
"""


def _run(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CHILD, mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("mode", ["all", "top"])
def test_the_lists_are_read_whole_while_windows_wait_for_the_collector(mode: str) -> None:
    done = _run(mode)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > 0  # it read visible widgets, every round


def test_read_raw_the_same_list_meets_a_freed_window() -> None:
    """The child reproduces what it guards against: without the pause it dies. (If a PySide6
    release wraps the list safely, this fails: ui/qt_lists.py may then be dropped.)"""
    done = _run("raw-all")
    assert done.returncode == -signal.SIGSEGV, (done.returncode, done.stderr[-2000:])
