"""Secrets stay in the process: the app and the command line start with core dumps off and the
process not dumpable, and $KAPSESSION_PASSPHRASE is gone from the environment (os.environ, a
child's environment, /proc/PID/environ) once read, while it still opens an encrypted folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PASSPHRASE = "synthetic passphrase 7f3a"

# The real entry point runs; only what it hands over to (the GUI, a subcommand) is replaced by
# a report of the process's state after opening an encrypted folder with the variable.
PROBE = textwrap.dedent(
    """
    import json, os, resource, subprocess, sys
    from pathlib import Path
    from kapsession.cli import commands
    from kapsession.storage import privacy
    from kapsession.storage import datakey
    from kapsession.storage.store import Store
    import ui.app as app

    def report(*_args, **_kwargs):
        folder = Path(sys.argv[2])
        folder.mkdir(mode=0o700)
        datakey.create_key(folder, privacy.secret_from_env(datakey.PASSPHRASE_ENV))
        Store.open(folder, key=datakey.key_for(folder)).close()
        child = subprocess.run(
            [sys.executable, "-c", "import os; print(os.environ.get('KAPSESSION_PASSPHRASE'))"],
            capture_output=True, text=True, check=True,
        )
        print(json.dumps({
            "core": resource.getrlimit(resource.RLIMIT_CORE),
            "dumpable": privacy.dumpable(),
            "in_environ": datakey.PASSPHRASE_ENV in os.environ,
            "child": child.stdout.strip(),
            "proc_environ": sys.argv[3].encode() in Path("/proc/self/environ").read_bytes(),
        }))
        return 0

    # `kapsession` (the gui-script and the bundle) starts in ui.app.main, for the window and
    # for every subcommand alike.
    if sys.argv[1] == "app":
        app.run_gui = report
        sys.exit(app.main([]))
    commands.run_command = report
    sys.exit(app.main(["sessions"]))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl and /proc are Linux's")
@pytest.mark.parametrize("entry", ["app", "cli"])
def test_the_process_is_not_dumpable_and_the_passphrase_leaves_the_environment(
    tmp_path: Path, entry: str
) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), KAPSESSION_PASSPHRASE=PASSPHRASE)
    env.pop("KAPSESSION_DATA_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, entry, str(tmp_path / "data"), PASSPHRASE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout.strip().splitlines()[-1])
    assert state == {
        "core": [0, 0],
        "dumpable": 0,
        "in_environ": False,
        "child": "None",
        "proc_environ": False,
    }
    assert (tmp_path / "data" / "kapsession.key").is_file(), "the passphrase still did its job"
