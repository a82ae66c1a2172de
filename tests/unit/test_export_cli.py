"""`kapsession export` and `kapsession handout` on a real data folder: every format to a file,
the note of it on the timeline, and the faults (a folder that cannot be written, a full disk,
a session that does not exist): one clear line, exit 2, no partial file, nothing noted."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import run

from kapsession.cli import commands
from kapsession.clock import SystemClock
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.store import Store

from . import rich_session as rs
from .exporthelpers import pdftotext


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("kapsession: "), err
    return err


@pytest.fixture
def data(tmp_path: Path) -> Path:
    built = rs.build(tmp_path / "data")
    built.store.close()
    return built.folder


def _events(folder: Path, kind: str) -> list[dict[str, object]]:
    store = Store.open(folder)
    try:
        return [dict(e.data, t=e.t) for e in store.events(1) if e.kind == kind]
    finally:
        store.close()


@pytest.mark.parametrize("fmt", ["json", "md", "pdf", "fhir"])
def test_every_format_is_written_whole_and_noted_on_the_timeline(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / f"summary.{fmt}"
    argv = ["export", "--data-dir", str(data), "--format", fmt, "-o", str(target)]

    assert run(argv, capsys) == (0, "", "")

    payload = target.read_bytes()
    assert [p.name for p in out_dir.iterdir()] == [target.name], "no temp file left"
    if fmt == "pdf":
        assert rs.QUOTE in pdftotext(payload, tmp_path)
    elif fmt == "md":
        assert payload.decode().startswith("# Session summary - client C-017")
    else:
        assert json.loads(payload)  # JSON and FHIR are JSON documents
    (noted,) = _events(data, "export")
    # Which format, how big, which bytes: never the file's name or anything clinical.
    assert noted == {
        "format": fmt,
        "to": "file",
        "bytes": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "t": None,  # the session had ended
    }
    assert (target.stat().st_mode & 0o777) == 0o600  # a clinical record, private to the user


@pytest.mark.parametrize("which", ["preparation", "integration"])
def test_handouts_from_the_command_line(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], which: str
) -> None:
    target = tmp_path / f"{which}.pdf"
    argv = ["handout", "--which", which, "--data-dir", str(data), "-o", str(target)]
    assert run(argv, capsys) == (0, "", "")
    text = pdftotext(target.read_bytes(), tmp_path)
    assert rs.PREPARATION["intention"] in " ".join(text.split())
    (noted,) = _events(data, "handout")
    assert noted["which"] == which and noted["to"] == "file"


def test_json_export_to_stdout_is_the_document(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["export", "--data-dir", str(data), "--format", "md"], capsys)
    assert (code, err) == (0, "")
    assert out.startswith("# Session summary") and rs.INSIGHT in out
    assert _events(data, "export")[0]["to"] == "stdout"


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """An empty folder that cannot be written: a read-only bind mount when we are root (root
    ignores file modes), file modes otherwise."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o500)
        yield folder
        folder.chmod(0o700)
        return
    try:
        subprocess.run(
            ["mount", "--bind", str(folder), str(folder)], check=True, capture_output=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot make a read-only mount here: {exc}")
    try:
        subprocess.run(
            ["mount", "-o", "remount,bind,ro", str(folder)], check=True, capture_output=True
        )
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize("fmt", ["pdf", "md"])
def test_a_folder_that_cannot_be_written_is_one_line_and_exit_2(
    data: Path, read_only_folder: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    target = read_only_folder / f"summary.{fmt}"
    code, out, err = run(
        ["export", "--data-dir", str(data), "--format", fmt, "-o", str(target)], capsys
    )
    assert (code, out) == (2, "")
    assert "nothing was written" in one_line(err)
    assert list(read_only_folder.iterdir()) == []
    assert _events(data, "export") == []


def test_a_file_in_place_of_a_folder_is_refused(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file\n")
    target = blocker / "summary.pdf"
    code, out, err = run(
        ["handout", "--which", "integration", "--data-dir", str(data), "-o", str(target)], capsys
    )
    assert (code, out) == (2, "")
    assert "no such folder" in one_line(err)
    assert blocker.read_text() == "a file\n"
    assert _events(data, "handout") == []


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 kB tmpfs: too small for a PDF summary of the rich session (~90 kB)."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a small tmpfs here: {exc}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_full_disk_leaves_no_partial_file_and_keeps_the_old_one(
    data: Path, tiny_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tiny_disk / "summary.pdf"
    target.write_bytes(b"the previous summary")
    code, out, err = run(
        ["export", "--data-dir", str(data), "--format", "pdf", "-o", str(target)], capsys
    )
    assert (code, out) == (2, "")
    assert "the disk is full" in one_line(err) and "nothing was written" in err
    assert [p.name for p in tiny_disk.iterdir()] == ["summary.pdf"]
    assert target.read_bytes() == b"the previous summary"
    assert _events(data, "export") == []


@pytest.mark.parametrize(
    "command", [["export", "--format", "pdf"], ["handout", "--which", "preparation"]]
)
def test_an_unknown_session_is_exit_2_and_no_file(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    target = tmp_path / "never.pdf"
    code, out, err = run(
        [*command, "--data-dir", str(data), "--session", "42", "-o", str(target)], capsys
    )
    assert (code, out) == (2, "")
    assert "There is no session 42" in one_line(err)
    assert not target.exists()


def test_a_pdf_is_not_poured_into_a_terminal(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    class Terminal(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.buffer = io.BytesIO()

        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    args = commands.parse_args(["export", "--data-dir", str(data), "--format", "pdf"])
    assert commands.run_command(args, terminal) == 2
    assert "give a file name with -o FILE" in one_line(capsys.readouterr().err)
    assert terminal.buffer.getvalue() == b"" and terminal.getvalue() == ""
    assert _events(data, "export") == []


def test_an_export_during_a_running_session_is_timed_on_the_dose_clock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    store = Store.open(folder)
    service = SessionService(store, SystemClock(), rs.TZ, rs.AUTHOR)
    live = service.give_dose(service.plan(SessionPlan("C-5", "KAP", "sublingual", 100, 60)).id)
    live.add_note("mid-session")
    store.close()
    target = tmp_path / "now.md"
    argv = ["export", "--data-dir", str(folder), "--format", "md", "-o", str(target)]
    assert run(argv, capsys) == (0, "", "")
    (noted,) = _events(folder, "export")
    assert isinstance(noted["t"], float) and 0.0 <= noted["t"] < 60.0
