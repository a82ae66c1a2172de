"""Where user-chosen output may go: never onto the record itself.

Every writer of a file the user names (exports, handouts, playlists, imported arcs, from the
command line or the app) asks `check_output_path` first, and `write_output` does both. A path
is refused when it lies inside the data folder or a backup folder, or is (through a symlink, a
hard link, a bind mount or a case-insensitive file system) a file or folder the app owns; and
when it is not a place for a regular file (a folder, a FIFO, a device). Nothing is opened on
the way: a FIFO would block.

Folders are compared by their resolved paths and by inode (st_dev, st_ino) of every existing
ancestor, which also catches another spelling of the same folder (case, bind mounts)."""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from kapsession.errors import KapsessionError
from kapsession.storage import safe_files

# Walking the owned folders for a hard link stops here: the data folder holds a few dozen
# files; a folder with more is not walked further (the path checks still apply).
MAX_OWNED_FILES = 20_000
NAME_MAX = 255


class OutputPathError(KapsessionError):
    """The output path would overwrite the record, or is no place for a file."""


def backup_folders(data_dir: Path, chosen: str | os.PathLike[str] | None = None) -> list[Path]:
    """The backup folders the app may use for DATA_DIR: the one chosen in the app's settings,
    $KAPSESSION_BACKUP_DIR, and `backups` in the data folder."""
    from kapsession.storage.backup import DEFAULT_SUBFOLDER, backup_dir

    found = [backup_dir(chosen, data_dir), backup_dir(None, data_dir)]
    found.append(data_dir / DEFAULT_SUBFOLDER)
    if chosen is None:
        saved = saved_backup_folder()
        if saved is not None:
            found.append(saved)
    unique: list[Path] = []
    for folder in found:
        if folder not in unique:
            unique.append(folder)
    return unique


def saved_backup_folder(config_home: Path | None = None) -> Path | None:
    """The backup folder chosen in the app (QSettings `backup/folder`), read without Qt from
    its INI file on Linux and BSD (~/.config/kapsession/kapsession.conf); None elsewhere or
    when none is set. The command line refuses to write there as the app does."""
    if sys.platform in ("darwin", "win32"):
        return None
    home = config_home or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    conf = home / "kapsession" / "kapsession.conf"
    try:
        if not conf.is_file() or conf.stat().st_size > 1 << 20:
            return None
        text = conf.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == "backup" and line.split("=", 1)[0].strip() == "folder" and "=" in line:
            value = line.split("=", 1)[1].strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            value = value.replace('\\"', '"').replace("\\\\", "\\")
            return Path(value).expanduser() if value else None
    return None


def database_folder(conn: object) -> Path | None:
    """The folder of the main database open on CONN (None for an in-memory one)."""
    execute = getattr(conn, "execute", None)
    if execute is None:
        return None
    for row in execute("PRAGMA database_list").fetchall():
        if row[1] == "main" and row[2]:
            return Path(row[2]).parent
    return None


def _resolved(path: Path) -> Path:
    try:
        return path.expanduser().absolute().resolve(strict=False)
    except (OSError, RuntimeError):  # a symlink loop
        raise OutputPathError(
            f"Cannot write to {path}: its folder is a loop of symbolic links; "
            "choose a file elsewhere."
        ) from None


def _ident(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _same_path(a: Path, b: Path) -> bool:
    if sys.platform in ("darwin", "win32"):  # case-insensitive by default there
        return os.path.normcase(str(a)).casefold() == os.path.normcase(str(b)).casefold()
    return a == b


def _inside(target: Path, folder: Path) -> bool:
    """TARGET (resolved) is FOLDER (resolved) or lies under it, by path or by inode."""
    folder_id = _ident(folder)
    for ancestor in (target, *target.parents):
        if _same_path(ancestor, folder):
            return True
        if folder_id is not None and _ident(ancestor) == folder_id:
            return True
    return False


def _owned_files(folders: Iterable[Path]) -> Iterator[Path]:
    seen = 0
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            for name in files:
                seen += 1
                if seen > MAX_OWNED_FILES:
                    return
                yield Path(root) / name
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]


def _kind(mode: int) -> str | None:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    return None


def check_output_path(
    path: str | os.PathLike[str],
    data_dir: Path | None,
    backup_dirs: Sequence[Path] = (),
    *,
    new_file_in: Path | None = None,
) -> None:
    """Raise OutputPathError (one sentence) unless PATH is a safe place for a new or replaced
    regular file. NEW_FILE_IN: a folder inside the data folder where a file that does not
    exist yet may be created (imported arcs go to `<data folder>/arcs/`)."""
    text = os.fspath(path)
    if not text:
        raise OutputPathError("The output file name is empty; give a file name.")
    if "\0" in text:
        raise OutputPathError("The output file name contains a NUL character.")
    given = Path(text)
    if len(os.fsencode(given.name)) > NAME_MAX:
        raise OutputPathError(
            f"Cannot write to {given}: the file name is longer than {NAME_MAX} bytes; "
            "nothing was written."
        )
    target = _resolved(given)
    shown = f"{given}" if target == given else f"{given} (which is {target})"
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise OutputPathError(
                f"Cannot write to {given}: the path is too long; nothing was written."
            ) from None
        st = None
    if st is not None and (kind := _kind(st.st_mode)) is not None:
        raise OutputPathError(f"Cannot write to {given}: it is {kind}; give a file name.")
    if not target.parent.is_dir():
        problem = "is not a folder" if target.parent.exists() else "does not exist"
        raise OutputPathError(
            f"Cannot write to {given}: no such folder ({given.parent} {problem}); "
            "nothing was written."
        )
    if data_dir is None:
        return
    data = _resolved(data_dir)
    if new_file_in is not None and st is None and not os.path.lexists(given):
        allowed = _resolved(new_file_in)
        if _inside(allowed, data) and _same_path(target.parent, allowed):
            return
    protected = [("the data folder", data)] + [
        ("a backup folder", _resolved(b)) for b in backup_dirs
    ]
    for what, folder in protected:
        if _inside(target, folder):
            raise OutputPathError(
                f"Refusing to write to {shown}: it is inside {what} ({folder}); "
                "choose a file elsewhere."
            )
    if st is not None and st.st_nlink > 1:
        ident = (st.st_dev, st.st_ino)
        for owned in _owned_files(folder for _what, folder in protected):
            if _ident(owned) == ident:
                raise OutputPathError(
                    f"Refusing to write to {given}: it is the same file as {owned} "
                    "(a hard link); choose a file elsewhere."
                )


def write_output(
    path: Path,
    data: bytes,
    data_dir: Path | None,
    backup_dirs: Sequence[Path] = (),
) -> None:
    """Check PATH, then write DATA there whole or not at all (KapsessionError otherwise)."""
    check_output_path(path, data_dir, backup_dirs)
    try:
        safe_files.write_atomically(path, data)
    except OSError as exc:
        raise KapsessionError(cannot_write(path, exc)) from None


def cannot_write(where: Path, exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return f"Cannot write {where}: the disk is full ({exc.strerror}); nothing was written."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"Cannot write to {where}: {exc.strerror}; nothing was written."
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return f"Cannot write to {where}: no such folder; nothing was written."
    return f"Cannot write {where}: {exc.strerror or type(exc).__name__}; nothing was written."
