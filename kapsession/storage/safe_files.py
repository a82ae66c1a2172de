"""Whole-file writes: a file is the new one or the old one, never a part of either; and the one
safe way to read a file someone handed in (regular files only, never blocking, capped).

A temp file beside the target (same folder, so the rename is atomic), private (0600), written,
fsynced, renamed over the target, then the folder fsynced so the rename itself survives a power
cut. On any failure the temp file is removed and the error raised unchanged."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_folder(folder)


def fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform/file system can open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class NotARegularFile(OSError):
    """The path names a FIFO, a device, a socket or a folder: nothing a clinic file can be."""


class FileTooLarge(OSError):
    """The file holds more than the reader's cap; ``limit`` is that cap in bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def read_regular_file(path: Path, limit: int) -> bytes:
    """The whole of a regular file of at most ``limit`` bytes, for files a user or a clinic hands
    in (playlists, arcs, protocols).

    A FIFO would block the open (and a reader, forever, until a writer comes); a device such as
    /dev/zero never ends. So the path is stat()ed first and only a regular file (a link to one is
    fine) is opened at all; the open is non-blocking (a FIFO swapped in after the check still
    cannot block it) and the descriptor is fstat()ed again before anything is read. At most
    ``limit`` + 1 bytes are read, so a file that grows while being read is still refused.

    Raises NotARegularFile (strerror names the kind), FileTooLarge, or the OSError of the open
    or read (missing, permission denied, name too long, ...)."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotARegularFile(errno.EINVAL, _kind(st.st_mode))
    if st.st_size > limit:
        raise FileTooLarge(limit)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotARegularFile(errno.EINVAL, _kind(st.st_mode))
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    if left <= 0:
        raise FileTooLarge(limit)
    return b"".join(chunks)


class UnreadableFile(Exception):
    """A handed-in file that was not read; ``problem`` finishes a sentence that starts with the
    file's name ("cannot be read (a named pipe, not a regular file)")."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _size(limit: int) -> str:
    return f"{limit // 2**20} MB" if limit % 2**20 == 0 else f"{limit // 1024} KB"


def read_handed_in(path: Path, limit: int, what: str) -> bytes:
    """read_regular_file with its refusals as one sentence for the user; ``what`` names the kind
    of file expected ("a playlist"). Raises UnreadableFile."""
    try:
        return read_regular_file(path, limit)
    except NotARegularFile as exc:
        raise UnreadableFile(f"cannot be read ({exc.strerror}, not a regular file)") from None
    except FileTooLarge:
        raise UnreadableFile(f"is larger than {_size(limit)}; not {what}") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    except ValueError as exc:  # a NUL byte in the name
        raise UnreadableFile(f"cannot be read ({exc})") from None
