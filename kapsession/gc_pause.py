"""Python's cyclic garbage collector paused while something must not meet it.

- An export building a long document: a 4-hour session's PDF or FHIR bundle allocates hundreds
  of thousands of small objects (lines, flowables, dicts), and every 700 allocations wake the
  collector, which walks the ever larger young generations: 15-30 % of a PDF export's CPU time
  (measured on the review benchmark's session). Those objects are freed by reference counting
  as usual; only cycles wait for the collector, which runs again as soon as the export is done.
- A list of Qt widgets read from C++ (ui/qt_lists.py): PySide6 turns a snapshot of raw pointers
  into Python objects one by one; a collection triggered by those allocations can free a
  Python-owned window in that snapshot, and the next pointer read is a freed widget (a
  segmentation fault in the test suite, reproduced by tests/qt/test_qt_lists.py).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """No automatic cyclic collection inside; as it was before afterwards (a caller that had
    disabled it keeps it disabled)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
