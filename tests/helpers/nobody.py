"""Running a check as the unprivileged user 'nobody': root reads mode-000 files and enters any
folder, so a test of what a therapist cannot read drops its privileges in a forked child."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

NOBODY = 65534

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to become 'nobody'"
)


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    """A folder outside the test's tmp_path (whose parents 'nobody' may not enter)."""
    path = Path(tempfile.mkdtemp(prefix="kapsession-nobody-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def as_nobody(job: Callable[[], object]) -> object:
    """What `job` returns (through JSON), run in a forked child as 'nobody'. A fork, not a new
    interpreter: the venv's interpreter may sit where 'nobody' cannot exec it. The child reports
    through a pipe; a child that fails fails the test."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads, 3.12+
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(write_end, json.dumps(job()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return json.loads(data)
