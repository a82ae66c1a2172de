"""A data folder on a read-only file system: a clear message, nothing touched, no crash."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kapsession.clock import FakeClock
from kapsession.errors import DataFolderError
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def read_only_copy(tmp_path: Path) -> Iterator[Path]:
    """A data folder holding a real session, then made read-only: by a read-only bind mount
    when we are root (root ignores file modes), by file modes otherwise."""
    data = tmp_path / "data"
    store = Store.open(data)
    service = SessionService(store, FakeClock(), "Europe/Berlin", "t")
    live = service.give_dose(service.plan(SessionPlan("C-1", "KAP", "sublingual", 200, 60)).id)
    live.add_note("a note that must survive")
    store.close()
    if os.geteuid() != 0:
        for path in (data, *data.iterdir()):
            path.chmod(0o500 if path.is_dir() else 0o400)
        yield data
        for path in (data, *data.iterdir()):
            path.chmod(0o700 if path.is_dir() else 0o600)
        return
    target = tmp_path / "ro"
    target.mkdir()
    try:
        subprocess.run(["mount", "--bind", str(data), str(target)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot make a read-only mount here: {exc}")
    try:
        subprocess.run(
            ["mount", "-o", "remount,bind,ro", str(target)], check=True, capture_output=True
        )
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=True)


def test_read_only_folder_is_refused_with_a_clear_message(read_only_copy: Path) -> None:
    before = _digest(read_only_copy)
    with pytest.raises(DataFolderError, match="read-only"):
        Store.open(read_only_copy)
    assert _digest(read_only_copy) == before
    assert (read_only_copy / DB_NAME).exists()


def test_verify_and_restore_work_from_a_read_only_folder_and_touch_nothing(
    read_only_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A data folder on read-only media (or a backup folder mounted read-only) can be verified
    and restored from, with not a byte written there."""
    from kapsession.cli import commands
    from kapsession.storage import backup

    before = _digest(read_only_copy)
    assert commands.main(["verify", "--data-dir", str(read_only_copy)]) == 0
    assert capsys.readouterr().out.startswith("OK: integrity ok, foreign keys ok, ")
    result = backup.restore(read_only_copy / DB_NAME, tmp_path / "elsewhere", FakeClock().now())
    assert result.verified.problems == []
    assert _digest(read_only_copy) == before
