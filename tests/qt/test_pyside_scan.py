"""ui/pyside_scan.py: PySide6's per-import question ("does this module use PySide6?") answered
from the source file's bytes gives the answer PySide6's own inspect-based check gives."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import PySide6.QtCore  # noqa: F401  (loads shibokensupport's feature module)
import pytest

from ui import pyside_scan

SAMPLES = [
    "ui.app",
    "ui.main_window",
    "ui.first_paint",
    "ui.pyside_scan",  # names PySide6 in its text: True, as PySide6's check says
    "kapsession.storage.store",
    "kapsession.session.live",
    "json",
    "dataclasses",
    "sys",  # built in: no file, PySide6's own answer
    "_sqlite3",  # an extension module: PySide6's own answer
]


def test_same_answers_as_pysides_own_check() -> None:
    feature = sys.modules[pyside_scan.FEATURE_MODULE]
    saved = feature._mod_uses_pyside
    try:
        original = saved
        while getattr(original, pyside_scan._MARK, False):  # an earlier test's install
            original = original.__closure__[0].cell_contents
        assert pyside_scan.answer_cheaply()
        cheap = feature._mod_uses_pyside
        assert cheap is not original
        answers = {}
        for name in SAMPLES:
            module = importlib.import_module(name)
            answers[name] = cheap(module)
            assert answers[name] == original(module), name
        assert answers["ui.main_window"] and not answers["kapsession.storage.store"]
        assert pyside_scan.answer_cheaply()  # twice: installed once
        assert feature._mod_uses_pyside is cheap
    finally:
        feature._mod_uses_pyside = saved  # type: ignore[attr-defined]


def test_a_file_that_cannot_be_read_is_asked_of_the_fallback() -> None:
    gone = ModuleType("gone")
    gone.__file__ = "/nonexistent/kapsession/gone.py"
    assert pyside_scan.uses_pyside(gone, lambda _m: True) is True
    assert pyside_scan.uses_pyside(gone, lambda _m: False) is False


def test_nothing_changes_without_pysides_feature_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, pyside_scan.FEATURE_MODULE)
    assert pyside_scan.answer_cheaply() is False
