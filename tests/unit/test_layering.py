"""The core never imports Qt or the GUI (STYLE.md, after Anki's pylib/qt split), and reaches
libVLC only lazily, so it runs anywhere: tests, the CLI, a headless server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: this test process may already have Qt loaded by other tests.
PROBE = """
import importlib, json, pkgutil, sys
import kapsession
names = ["kapsession"]
for info in pkgutil.walk_packages(kapsession.__path__, "kapsession."):
    importlib.import_module(info.name)
    names.append(info.name)
def loaded(prefix):
    return sorted(n for n in sys.modules if n == prefix or n.startswith(prefix + "."))
print(json.dumps({
    "core": names,
    "forbidden": loaded("PySide6") + loaded("shiboken6") + loaded("ui") + loaded("vlc"),
}))
"""


def test_importing_every_core_module_loads_no_qt_no_gui_and_no_vlc() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,  # the ui package is importable from here, so an import of it would succeed
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout)

    assert report["forbidden"] == []
    core_files = {p.stem for p in (REPO / "kapsession").glob("*.py") if p.stem != "__init__"}
    assert {n.removeprefix("kapsession.") for n in report["core"][1:]} == core_files, (
        "every core module was imported"
    )


def test_the_start_up_path_does_not_import_numpy_or_pandas_and_numpy_still_works_later() -> None:
    # sqlite-utils imports them when installed (the review plots install numpy): ~60 ms of
    # every start-up, for type mappings kapsession never uses.
    probe = (
        "import sys, kapsession.store, kapsession.session, kapsession.cli\n"
        "print(sorted(n for n in ('numpy', 'pandas') if n in sys.modules))\n"
        "import importlib.util\n"
        "if importlib.util.find_spec('numpy'):\n"
        "    import numpy\n"
        "    print(int(numpy.arange(4).sum()))\n"
        "else:\n"
        "    print(6)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines() == ["[]", "6"]
