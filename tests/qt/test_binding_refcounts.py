"""The Qt binding must not leak or drop references: a release of PySide6 (6.12.0 on Python
3.11) dropped a reference to None on every call of a method returning void, which aborts the
app ("Fatal Python error: none_dealloc") once None's count reaches zero — about 36 minutes into a
session on the live screen, which updates its labels every second."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtWidgets import QLabel


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12 on")
def test_calling_void_qt_methods_keeps_none_alive(qtbot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for i in range(1000):
        label.setText(str(i))
    lost = before - sys.getrefcount(None)
    assert lost < 50, f"the Qt binding dropped {lost} references to None in 1,000 calls"
