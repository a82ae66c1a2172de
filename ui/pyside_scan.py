"""A cheaper answer to the question PySide6 asks of every module imported after it.

Once PySide6 is imported, its `__feature__` support (shibokensupport's `feature.py`) looks at
each module named by an import statement that it has not seen yet and asks whether the module's
source mentions "PySide6" (`_mod_uses_pyside`, by `inspect.getsource`: `inspect.getmodule`,
linecache, the encoding cookie, for every module). That decides whether the module takes part in
`from __feature__ import snake_case` switching. On the app's start-up it ran for ~150 modules
(the home screen's core and ui modules and their stdlib) and cost 25-45 ms — a tenth of the
launch — although the app never selects a feature.

`answer_cheaply` swaps in the same question asked of the module's source file directly: the
file's bytes searched for b"PySide6", the same answer for every source file (UTF-8 or ASCII);
anything else (no `__file__`, byte code only as in the bundle, a file that cannot be read) is
asked of PySide6's own function, as before. Nothing changes if PySide6's internals are not
what this expects."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType

FEATURE_MODULE = "shibokensupport.feature"
NEEDLE = "PySide6"
# Marks the replacement, so that a second call keeps it once.
_MARK = "_kapsession_cheap"


def uses_pyside(module: ModuleType, fallback: Callable[[ModuleType], bool]) -> bool:
    """Whether the module's source mentions PySide6: its .py file's bytes when it has one,
    else `fallback` (PySide6's own answer)."""
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py"):
        return fallback(module)
    try:
        with open(path, "rb") as source:
            return NEEDLE.encode("ascii") in source.read()
    except OSError:
        return fallback(module)


def answer_cheaply() -> bool:
    """Install the cheaper check in PySide6's feature module (call right after importing
    PySide6). True when it is in place; False (nothing changed) when this PySide6 has no such
    function."""
    feature = sys.modules.get(FEATURE_MODULE)
    original = getattr(feature, "_mod_uses_pyside", None)
    if feature is None or not callable(original):
        return False
    if getattr(original, _MARK, False):
        return True

    def _mod_uses_pyside(module: ModuleType) -> bool:
        return uses_pyside(module, original)

    setattr(_mod_uses_pyside, _MARK, True)
    feature._mod_uses_pyside = _mod_uses_pyside  # type: ignore[attr-defined]
    return True
