"""`--smoke` and its stamps (KAPSESSION_SMOKE_STAMPS, for the start-up benchmark): one line per
milestone, `first_paint` then `ready`, with CLOCK_MONOTONIC nanoseconds between the spawn and the
exit; an encrypted folder paints "Opening the record…" before its key is derived, so its first
paint comes well before the home screen is ready. No timed assertion: only the order."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from .conftest import cli

PASS = "correct horse battery staple"


_BEHIND = """
import sys
from ui.qt_lists import top_level_widgets
from kapsession.storage import datakey
from ui.app import main

unwrap = datakey.unwrap

def watched(*args, **kwargs):
    shown = [w.windowTitle() for w in top_level_widgets() if w.isVisible()]
    print(sorted(shown), flush=True)
    return unwrap(*args, **kwargs)

datakey.unwrap = watched
sys.exit(main(["--smoke", "--data-dir", sys.argv[1]]))
"""


def _stamps(path: Path) -> list[tuple[str, int]]:
    return [
        (name, int(ns)) for name, ns in (line.split() for line in path.read_text().splitlines())
    ]


def test_smoke_stamps_first_paint_then_ready(app_env: dict[str, str], tmp_path: Path) -> None:
    data, stamps = tmp_path / "data", tmp_path / "stamps"
    env = dict(app_env, KAPSESSION_SMOKE_STAMPS=str(stamps))
    for launch in ("first", "returning"):
        stamps.unlink(missing_ok=True)
        spawned = time.monotonic_ns()
        done = cli(env, "--data-dir", str(data), "--smoke")
        exited = time.monotonic_ns()
        assert done.returncode == 0, (launch, done.stderr)
        lines = _stamps(stamps)
        assert [name for name, _ in lines] == ["first_paint", "ready"], launch
        assert spawned < lines[0][1] <= lines[1][1] < exited, launch


def test_encrypted_folder_paints_before_the_key_is_derived(
    app_env: dict[str, str], tmp_path: Path
) -> None:
    data, stamps = tmp_path / "data", tmp_path / "stamps"
    env = dict(app_env, KAPSESSION_PASSPHRASE=PASS, KAPSESSION_SMOKE_STAMPS=str(stamps))
    env.pop("KAPSESSION_ENCRYPTION")
    assert cli(env, "--data-dir", str(data), "--smoke").returncode == 0  # sets encryption up
    stamps.unlink()
    done = cli(env, "--data-dir", str(data), "--smoke")
    assert done.returncode == 0, done.stderr
    (first, at_first), (ready, at_ready) = _stamps(stamps)
    assert (first, ready) == ("first_paint", "ready")
    assert at_first < at_ready

    # The key derivation runs behind the painted "Opening the record…" window, alone on screen.
    seen = subprocess.run(
        [sys.executable, "-c", _BEHIND, str(data)], env=env, capture_output=True, text=True
    )
    assert seen.returncode == 0, seen.stderr
    assert seen.stdout.splitlines()[0] == "['Opening the record…']"

    wrong = cli(
        dict(env, KAPSESSION_PASSPHRASE="not the passphrase"), "--data-dir", str(data), "--smoke"
    )
    assert wrong.returncode == 2 and "does not unlock" in wrong.stderr
