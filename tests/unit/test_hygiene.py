"""File hygiene: private permissions whatever the umask was, a rotating log whose files are all
0600, crash output without exception messages, and log calls that only ever pass type names,
ids and file names (checked over the source, so a future `log.error("%s", note.text)` fails)."""

from __future__ import annotations

import ast
import io
import logging
import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kapsession.storage import privacy
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store

REPO = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for h in list(root.handlers):
            if h not in handlers:
                root.removeHandler(h)
                h.close()
        root.setLevel(level)


def test_private_umask_makes_new_files_0600_and_folders_0700(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        privacy.private_umask()
        (tmp_path / "f").write_text("x")
        (tmp_path / "d").mkdir()
    finally:
        os.umask(old)
    assert _mode(tmp_path / "f") == 0o600
    assert _mode(tmp_path / "d") == 0o700


def test_opening_a_loose_data_folder_tightens_it(tmp_path: Path, loose_umask: None) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    Store.open(folder).close()
    (folder / "logs").mkdir()
    (folder / "logs" / "kapsession.log").write_text("x")
    (folder / DB_NAME).chmod(0o644)
    store = Store.open(folder)
    try:
        assert _mode(folder) == 0o700
        for path in folder.rglob("*"):
            assert _mode(path) == (0o700 if path.is_dir() else 0o600), path
    finally:
        store.close()


def test_the_log_rotates_and_every_log_file_is_private(
    tmp_path: Path, loose_umask: None, restore_logging: None
) -> None:
    stream = io.StringIO()
    path = privacy.setup_logging(tmp_path, stream)
    assert path == tmp_path / "logs" / "kapsession.log"
    log = logging.getLogger("kapsession.test")
    for i in range(12000):  # ~3 MB: more than the log and its 4 rotations hold
        log.info("entry %d saved: %s", i, "x" * 200)
    files = sorted((tmp_path / "logs").iterdir())
    assert [f.name for f in files] == [
        "kapsession.log",
        *(f"kapsession.log.{n}" for n in range(1, privacy.LOG_BACKUPS + 1)),
    ]
    assert all(_mode(f) == 0o600 for f in files)
    assert all(f.stat().st_size <= privacy.LOG_MAX_BYTES for f in files)
    assert _mode(tmp_path / "logs") == 0o700
    assert stream.getvalue() == "", "info stays in the file; stderr gets warnings only"


def test_an_uncaught_exception_is_logged_by_type_and_place_never_its_message(
    restore_logging: None,
) -> None:
    stream = io.StringIO()
    privacy.setup_logging(None, stream)
    try:
        raise ValueError("the client said: I saw my mother")
    except ValueError:
        kind, value, tb = sys.exc_info()
    assert kind is not None and value is not None
    privacy._excepthook(kind, value, tb)
    out = stream.getvalue()
    assert "unexpected error builtins.ValueError" in out
    assert "test_hygiene.py:" in out
    assert "mother" not in out


_ALLOWED_ARG = re.compile(r"^(type\(\w+\)\.__name__|[\w.]+\.name|what|i|len\(.+\))$")


def _log_calls() -> Iterator[tuple[str, int, str]]:
    for path in [*(REPO / "kapsession").glob("*.py"), *(REPO / "ui").glob("*.py")]:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "log"
                and node.func.attr in ("debug", "info", "warning", "error", "exception")
            ):
                first, *rest = node.args
                if not isinstance(first, ast.Constant):
                    yield path.name, node.lineno, ast.unparse(first)
                for arg in rest:
                    text = ast.unparse(arg)
                    if not _ALLOWED_ARG.match(text):
                        yield path.name, node.lineno, text


def test_log_calls_pass_only_type_names_ids_and_file_names() -> None:
    """What `grep -rn "log\\." kapsession ui` shows today, held to that shape."""
    assert list(_log_calls()) == []
