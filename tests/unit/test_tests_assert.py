"""Every test says what it expects: a test function with no assert, no pytest.raises/warns, no
qtbot.waitSignal/waitUntil and no call to a helper that asserts is a "did not raise" test that
does not say so. This scan fails when a new one appears."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
# Calls that are assertions in themselves (pytest and pytest-qt).
ASSERTING_CALLS = {
    "raises",
    "warns",
    "fail",
    "waitSignal",
    "waitSignals",
    "waitUntil",
    "assertCalled",
}
# Helpers named for what they do.
ASSERTING_PREFIXES = ("assert_", "check_", "expect_")
# Known exceptions, each with its reason; keep this short.
ALLOWED: set[str] = set()


def _called(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _asserts(fn: ast.AST, helpers: set[str]) -> bool:
    for node in ast.walk(fn):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            name = _called(node)
            if name in ASSERTING_CALLS or name in helpers or name.startswith(ASSERTING_PREFIXES):
                return True
    return False


def silent_tests(path: Path) -> list[str]:
    """The test functions in `path` that assert nothing (a helper in the same file counts as
    asserting when it asserts itself)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    helpers = {f.name for f in functions if not f.name.startswith("test_") and _asserts(f, set())}
    return [f.name for f in functions if f.name.startswith("test_") and not _asserts(f, helpers)]


def test_every_test_asserts_what_it_expects() -> None:
    files = sorted(TESTS.rglob("test_*.py"))
    assert len(files) > 50, "the scan found the test files"
    silent = {
        f"{path.relative_to(TESTS).as_posix()}::{name}"
        for path in files
        for name in silent_tests(path)
    }
    assert silent - ALLOWED == set(), "tests that assert nothing: say what they expect"
    assert silent >= ALLOWED, f"no longer silent, drop from ALLOWED: {ALLOWED - silent}"


def test_the_scan_tells_a_silent_test_from_one_that_asserts(tmp_path: Path) -> None:
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "def helper(x):\n    assert x\n\n"
        "def test_silent():\n    int('1')\n\n"
        "def test_plain():\n    assert int('1') == 1\n\n"
        "def test_by_helper():\n    helper(1)\n\n"
        "def test_by_prefix():\n    assert_ok(1)\n\n"
        "def test_raises():\n    with pytest.raises(ValueError):\n        int('x')\n\n"
        "def test_signal(qtbot):\n    with qtbot.waitSignal(sig):\n        pass\n",
        encoding="utf-8",
    )
    assert silent_tests(sample) == ["test_silent"]
