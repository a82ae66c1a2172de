"""The hub over TLS with the clinic's own CA (sslmode=verify-full), made in the test set-up
(tests/helpers/postgres.py): a laptop that trusts the clinic's CA syncs; one that trusts another
CA, or names the server by a name its certificate does not carry, is refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.cli import run
from helpers.postgres import make_ca, write_pem

from tests.hub.conftest import Hub
from tests.unit import rich_session


def _join_and_sync(
    hub: Hub, folder: Path, extra: str, capsys: pytest.CaptureFixture[str], host: str = "localhost"
) -> tuple[int, str, str]:
    dsn = hub.room_dsn("a").replace("host=127.0.0.1", f"host={host}") + extra
    code, _, err = run(
        ["hub", "join", "--data-dir", str(folder), "--dsn", dsn, "--room", "a",
         "--clinic-key", str(hub.key_file)], capsys
    )  # fmt: skip
    assert (code, err) == (0, "")
    return run(["hub", "sync", "--data-dir", str(folder)], capsys)


def test_verify_full_with_the_clinics_ca_syncs_and_another_ca_is_refused(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "laptop"
    rich_session.build(folder).store.close()
    ca = hub.cluster.ca_file
    code, out, err = _join_and_sync(hub, folder, f" sslmode=verify-full sslrootcert={ca}", capsys)
    assert (code, err) == (0, "") and "nothing is left to send" in out
    assert f"sslrootcert={ca}" in json.loads((folder / "hub.json").read_text())["dsn"]

    stranger = write_pem(tmp_path / "other-ca.crt", make_ca("not the clinic")[0])
    other = tmp_path / "other"
    rich_session.build(other).store.close()
    code, out, err = _join_and_sync(
        hub, other, f" sslmode=verify-full sslrootcert={stranger}", capsys
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "did not prove it is the clinic's server" in err

    # The clinic's CA, but the server reached under a name its certificate does not carry.
    code, out, err = _join_and_sync(
        hub,
        other,
        f" hostaddr=127.0.0.1 sslmode=verify-full sslrootcert={ca}",
        capsys,
        host="hub.clinic.invalid",
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "did not prove it is the clinic's server" in err
    assert "hub.clinic.invalid" in err
