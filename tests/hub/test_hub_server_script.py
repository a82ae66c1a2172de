"""packaging/hub-server.sh sets up a clinic hub's server in one command: run on a cluster of its
own, then `kapsession hub init` from the owner's line it wrote, a room's laptop joined with its
line, synced over TLS (verify-full, the CA the script made); a connection without TLS refused."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from helpers import postgres
from helpers.cli import run

from tests.unit import rich_session

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "packaging" / "hub-server.sh"


def test_one_command_sets_up_a_tls_only_hub_that_a_laptop_syncs_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    postgres.server_or_skip()
    if os.geteuid() != 0:
        pytest.skip("packaging/hub-server.sh configures PostgreSQL as root")
    with postgres.cluster(options=False) as c:
        out = c.root / "hub"  # the postgres user reads its certificate there
        command = [
            "bash", str(SCRIPT), "--host", "localhost", "--ip", "127.0.0.1", "--db", "kaphub",
            "--out", str(out), "--pgdata", str(c.data), "--bindir", str(c.bindir),
            "--port", str(c.port), "--socket", str(c.sockets), "--listen", "127.0.0.1",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("Clinic hub server ready: localhost:")
        assert stat.S_IMODE((out / "owner.dsn").stat().st_mode) == 0o600
        owner = (out / "owner.dsn").read_text().strip()
        assert "sslmode=verify-full" in owner and f"sslrootcert={out / 'ca.crt'}" in owner

        key = tmp_path / "clinic.key"
        code, said, err = run(
            ["hub", "init", "--dsn", owner, "--clinic-key", str(key), "--room", "a"], capsys
        )
        assert (code, err) == (0, ""), said
        logins = dict(
            line.split(": ", 1) for line in Path(f"{key}.logins").read_text().splitlines()
        )
        room = logins["room a"]
        assert "sslmode=verify-full" in room and "host=localhost" in room

        folder = tmp_path / "laptop"
        rich_session.build(folder).store.close()
        code, _, err = run(
            ["hub", "join", "--data-dir", str(folder), "--dsn", room, "--room", "a",
             "--clinic-key", str(key)], capsys
        )  # fmt: skip
        assert (code, err) == (0, "")
        code, said, err = run(["hub", "sync", "--data-dir", str(folder)], capsys)
        assert (code, err) == (0, "") and "nothing is left to send" in said

        plain = room.replace("sslmode=verify-full", "sslmode=disable")
        code, said, err = run(
            ["hub", "export", "--dsn", plain, "--clinic-key", str(key), "--room", "a",
             "--format", "json"], capsys
        )  # fmt: skip
        assert code == 2 and said == ""
        assert err.count("\n") == 1 and "takes TLS connections only" in err

        # Run again: everything is kept as it was.
        again = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert "keeping the certificates" in again.stderr and "keeping the login" in again.stderr
        assert (out / "owner.dsn").read_text().strip() == owner
        code, said, err = run(["hub", "sync", "--data-dir", str(folder)], capsys)
        assert (code, err) == (0, "")
