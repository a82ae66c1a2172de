"""Output paths that would destroy the record: every file a real data folder holds (plain and
encrypted: the database, its -wal/-shm while the app has it open, the key, the lock, a log,
a protocol, an arc, a backup and the key copy beside the backups), named directly, through a
symlink, a hard link, a symlinked folder or `..`, as the output of `export`, `handout`,
`playlist export` and `playlist import`, and from the app's Export dialog. Each is refused
with one line, exit 2, and every owned file is left exactly as it was. A folder, a FIFO and a
device are refused without being opened (a FIFO would hang)."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is first loaded

from helpers.cli import run

from kapsession.storage import backup, datakey, outpaths, paths
from kapsession.storage.instance_lock import InstanceLock
from kapsession.storage.store import Store, prepare_folder

from . import cli_driver
from .cli_driver import T0, dosed_store

PASS = "orchard pebble winter song"
ARC = """[arc]
id = "synthetic"
name = "Synthetic arc"

[[phases]]
name = "session"
start_minutes = 0
minutes = 10

[[phases.tracks]]
silence_s = 60
"""


@dataclass
class Folder:
    data: Path
    offsite: Path  # the backup folder the app uses ($KAPSESSION_BACKUP_DIR)
    store: Store  # held open, as a running app holds it: the -wal and -shm exist


def _build(root: Path, encrypted: bool) -> Folder:
    data, offsite = root / "data", root / "offsite"
    prepare_folder(data)
    key = datakey.create_key(data, PASS) if encrypted else None
    store = dosed_store(data, key)
    backup.create(data, offsite, T0, key=key)
    backup.create(data, data / backup.DEFAULT_SUBFOLDER, T0, key=key)
    lock = InstanceLock(data)
    lock.acquire()
    lock.release()
    (data / "logs").mkdir(exist_ok=True)
    (data / "logs" / "kapsession.log").write_text("synthetic log line\n")
    (data / "protocols").mkdir(exist_ok=True)
    (data / "protocols" / "clinic.toml").write_text("# synthetic protocol\n")
    (data / "arcs").mkdir(exist_ok=True)
    (data / "arcs" / "synthetic.arc.toml").write_text(ARC)
    return Folder(data, offsite, store)


@pytest.fixture(params=["plain", "encrypted"])
def folder(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Folder]:
    encrypted = request.param == "encrypted"
    if encrypted and not datakey.encryption_available():
        pytest.skip("SQLCipher is not installed")
    monkeypatch.setenv(paths.BACKUP_ENV_VAR, str(tmp_path / "offsite"))
    monkeypatch.setenv(datakey.PASSPHRASE_ENV, PASS)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    built = _build(tmp_path, encrypted)
    yield built
    built.store.close()


def owned_files(f: Folder) -> list[Path]:
    found = [p for top in (f.data, f.offsite) for p in sorted(top.rglob("*")) if p.is_file()]
    names = {p.name for p in found}
    assert paths.DB_NAME in names and paths.LOCK_NAME in names
    if f.store.encrypted:  # the key, and its copy beside the backups
        owner = backup.owner_of_store(f.store)
        assert (f.data / datakey.KEY_FILE) in found
        assert (f.offsite / backup.beside_name(datakey.KEY_FILE, owner)) in found
    assert f"{paths.DB_NAME}-wal" in names and f"{paths.DB_NAME}-shm" in names
    assert any(p.parent == f.offsite and p.suffix == ".sqlite3" for p in found)
    return found


def snapshot(files: list[Path]) -> dict[Path, tuple[int, str | None]]:
    """Each file's inode (replaced or not) and its bytes' hash (the -shm is SQLite's shared
    memory, which readers may touch: its inode only)."""
    return {
        p: (
            p.stat().st_ino,
            None if p.name.endswith("-shm") else hashlib.sha256(p.read_bytes()).hexdigest(),
        )
        for p in files
    }


def expect_refused(
    argv: list[str], capsys: pytest.CaptureFixture[str], why: str = "Refusing to write to"
) -> str:
    return cli_driver.expect_refused(argv, capsys, why)


def variants(owned: Path, scratch: Path) -> Iterator[Path]:
    """OWNED itself, and the other ways to name it from outside."""
    scratch.mkdir()
    yield owned
    link = scratch / f"link-{owned.name}"
    link.symlink_to(owned)
    yield link
    hard = scratch / f"hard-{owned.name}"
    os.link(owned, hard)
    yield hard
    through = scratch / f"via-{owned.parent.name}"
    through.symlink_to(owned.parent, target_is_directory=True)
    yield through / owned.name
    yield owned.parent / "." / ".." / owned.parent.name / owned.name


def test_export_never_writes_onto_a_file_the_app_owns(
    folder: Folder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = owned_files(folder)
    before = snapshot(files)
    tried = 0
    for n, owned in enumerate(files):
        for target in variants(owned, tmp_path / f"elsewhere-{n}"):
            err = expect_refused(
                ["export", "--data-dir", str(folder.data), "--format", "json", "-o", str(target)],
                capsys,
            )
            assert "choose a file elsewhere" in err
            tried += 1
    assert tried == 5 * len(files)
    assert snapshot(files) == before


def test_handout_and_playlist_export_are_refused_the_same_way(
    folder: Folder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = owned_files(folder)
    before = snapshot(files)
    key = folder.data / (datakey.KEY_FILE if folder.store.encrypted else paths.DB_NAME)
    link = tmp_path / "key.m3u8"
    link.symlink_to(key)
    arc = folder.data / "arcs" / "synthetic.arc.toml"
    expect_refused(
        ["handout", "--data-dir", str(folder.data), "--which", "integration", "-o", str(key)],
        capsys,
    )
    expect_refused(
        ["playlist", "--data-dir", str(folder.data), "export", str(arc), "-o", str(link)], capsys
    )
    inside = folder.offsite / "mix.xspf"
    expect_refused(
        ["playlist", "--data-dir", str(folder.data), "export", str(arc), "-o", str(inside)],
        capsys,
    )
    assert not inside.exists()
    assert snapshot(files) == before


def test_playlist_import_may_add_a_new_arc_to_arcs_but_nothing_else_in_the_data_folder(
    folder: Folder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    playlist = tmp_path / "mix.m3u8"
    track = tmp_path / "track.ogg"
    track.write_bytes(b"synthetic")
    playlist.write_text(f"#EXTM3U\n{track}\n")
    files = owned_files(folder)
    before = snapshot(files)
    data = folder.data
    for target in (
        data / "kapsession.sqlite3.arc.toml",
        data / "protocols" / "mix.arc.toml",
        data / "backups" / "mix.arc.toml",
        folder.offsite / "mix.arc.toml",
    ):
        expect_refused(
            ["playlist", "--data-dir", str(data), "import", str(playlist), "--to", str(target)],
            capsys,
        )
        assert not target.exists()
    assert snapshot(files) == before
    # What the README shows: a new arc into <data folder>/arcs/, where the app finds it.
    code, out, err = run(
        [
            "playlist",
            "--data-dir",
            str(data),
            "import",
            str(playlist),
            "--to",
            str(data / "arcs" / "mix.arc.toml"),
        ],
        capsys,
    )
    assert (code, err) == (0, "") and "1 track" in out
    assert (data / "arcs" / "mix.arc.toml").is_file()


@pytest.mark.parametrize("kind", ["folder", "fifo", "device"])
def test_a_folder_a_fifo_or_a_device_is_refused_without_being_opened(
    folder: Folder, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    if kind == "folder":
        target = tmp_path / "a-folder"
        target.mkdir()
    elif kind == "fifo":
        target = tmp_path / "a-fifo"
        os.mkfifo(target)  # opening it for writing would block until a reader came
    else:
        # A device node of our own (the null device's numbers): never a real /dev entry,
        # which a writer that renames over its target (as root) would replace for everyone.
        target = tmp_path / "a-device"
        try:
            os.mknod(target, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("creating a device node needs root")
    err = expect_refused(
        ["export", "--data-dir", str(folder.data), "--format", "md", "-o", str(target)],
        capsys,
        why="Cannot write to",
    )
    assert {"folder": "a folder", "fifo": "FIFO", "device": "a device"}[kind] in err
    assert not list(tmp_path.glob(".a-*.tmp"))
    still = {"folder": stat.S_ISDIR, "fifo": stat.S_ISFIFO, "device": stat.S_ISCHR}[kind]
    assert still(target.lstat().st_mode)  # left in place, not renamed over


def test_the_check_names_the_backup_folder_chosen_in_the_app(tmp_path: Path) -> None:
    """The command line reads the app's choice (QSettings backup/folder) from its INI file."""
    data, chosen = tmp_path / "data", tmp_path / 'usb stick, "kap"'
    data.mkdir()
    chosen.mkdir()
    conf = tmp_path / "config" / "kapsession"
    conf.mkdir(parents=True)
    # As QSettings writes it: a value with a comma quoted, quotes and backslashes escaped.
    (conf / "kapsession.conf").write_text(
        '[General]\nx=1\n\n[backup]\nfolder="' + str(chosen).replace('"', '\\"') + '"\n'
    )
    assert outpaths.saved_backup_folder(tmp_path / "config") == chosen
    with pytest.raises(outpaths.OutputPathError, match="inside a backup folder"):
        outpaths.check_output_path(
            chosen / "x.json", data, [outpaths.saved_backup_folder(tmp_path / "config") or data]
        )


@pytest.fixture
def qsettings(tmp_path: Path) -> Iterator[None]:
    """The dialog reads the chosen backup folder from QSettings: a sandbox, never the user's."""
    from PySide6.QtCore import QCoreApplication, QSettings

    old = QCoreApplication.organizationName()
    QCoreApplication.setOrganizationName("kapsession-hostile-tests")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    yield
    QSettings().clear()
    QCoreApplication.setOrganizationName(old)


def test_the_export_dialog_refuses_and_says_so_in_the_dialog(
    qtbot,
    qsettings: None,
    folder: Folder,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from PySide6.QtCore import QSettings

    from ui.export_dialog import ExportDialog

    usb = tmp_path / "usb"
    usb.mkdir()
    QSettings().setValue("backup/folder", str(usb))
    files = owned_files(folder)
    before = snapshot(files)
    key = folder.data / (datakey.KEY_FILE if folder.store.encrypted else paths.DB_NAME)
    hard = tmp_path / "summary.pdf"
    os.link(key, hard)
    session_id = folder.store.sessions()[-1].id
    for target in (key, folder.data / "summary.pdf", hard, usb / "summary.pdf"):
        dialog = ExportDialog(
            folder.store, session_id, "Europe/Berlin", "Dr. Synthetic", lambda _w, _p, at=target: at
        )
        qtbot.addWidget(dialog)
        dialog._export()
        shown = dialog.status.text()
        assert shown.startswith("Not written: Refusing to write to "), shown
        assert "choose a file elsewhere" in shown and dialog.written is None
        assert not (folder.data / "summary.pdf").exists() and not (usb / "summary.pdf").exists()
    assert snapshot(files) == before
    # Elsewhere, the same dialog writes.
    fine = tmp_path / "fine.pdf"
    dialog = ExportDialog(
        folder.store, session_id, "Europe/Berlin", "Dr. Synthetic", lambda _w, _p: fine
    )
    qtbot.addWidget(dialog)
    dialog._export()
    assert dialog.written == fine and fine.read_bytes().startswith(b"%PDF")
