"""kapsession: the Qt-free core of the session-room assistant."""

import sys

__version__ = "0.1.0"


def _import_sqlite_utils_lean() -> None:
    """Import sqlite-utils without numpy and pandas.

    sqlite-utils imports numpy and pandas whenever they are installed, only to map their types
    to column types; kapsession never stores either. numpy is installed for the review screen's
    plots, and importing it here cost ~60 ms of every start-up (measured with -X importtime).
    A None in sys.modules makes those imports fail for this one import; the plots import numpy
    normally later."""
    if "sqlite_utils.db" in sys.modules:
        return
    hidden = [name for name in ("numpy", "pandas") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import sqlite_utils.db  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


_import_sqlite_utils_lean()
