"""What one pre-flight probe of an audio file found (`MediaProbe`), and the file-system half of
the check, which needs no libVLC (`check_file`). Both the pre-flight summary
(kapsession.music.preflight) and the libVLC half (kapsession.music.vlc_player.probe_media) use
these; neither imports the other for them."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Status = Literal["ok", "missing", "unreadable", "not_a_file", "undecodable", "unchecked"]
STATUSES: tuple[Status, ...] = (
    "ok",
    "missing",
    "unreadable",
    "not_a_file",
    "undecodable",
    "unchecked",
)
# Statuses that mean "this track will not play". "unchecked" is not among them: without libVLC
# nothing plays, and the app says so once, rather than failing every track.
FAILED: frozenset[Status] = frozenset({"missing", "unreadable", "not_a_file", "undecodable"})

DETAIL_NOT_PLAYED = "parsed but did not play"


@dataclass(frozen=True)
class MediaProbe:
    path: Path
    status: Status
    duration_s: float | None
    detail: str
    # What to print instead of the path, e.g. a URL (a Path would fold its "//").
    shown: str | None = None
    # EBU R128 integrated loudness and true peak (kapsession.music.r128), and the gain playback
    # will apply; None when not measured (not "ok", no decoder, silent).
    loudness_lufs: float | None = None
    true_peak_dbtp: float | None = None
    gain_db: float | None = None
    level_source: str | None = None  # analysis, replaygain or r128

    @property
    def failed(self) -> bool:
        return self.status in FAILED


def check_file(path: Path) -> MediaProbe | None:
    """The file-system half of the probe: a verdict, or None when only libVLC can tell.

    Never opens anything but a regular file (opening a FIFO would block), never reads more than
    one byte. Symlinks are followed; a dangling one is "missing"."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        detail = "dangling link" if os.path.islink(path) else "no such file"
        return MediaProbe(path, "missing", None, detail)
    except NotADirectoryError:
        return MediaProbe(path, "missing", None, "a parent is not a folder")
    except PermissionError:
        return MediaProbe(path, "unreadable", None, "permission denied (folder)")
    except OSError as exc:  # ELOOP, ENAMETOOLONG, EIO, ...
        return MediaProbe(path, "unreadable", None, _errno_text(exc))
    except ValueError as exc:  # embedded NUL byte in the name
        return MediaProbe(path, "missing", None, f"invalid file name ({exc})")
    if stat.S_ISDIR(st.st_mode):
        return MediaProbe(path, "not_a_file", None, "a folder")
    if not stat.S_ISREG(st.st_mode):
        return MediaProbe(path, "not_a_file", None, "a special file")
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except PermissionError:
        return MediaProbe(path, "unreadable", None, "permission denied")
    except OSError as exc:
        return MediaProbe(path, "unreadable", None, _errno_text(exc))
    if st.st_size == 0:
        return MediaProbe(path, "undecodable", None, "empty file")
    return None


def check_files(paths: Iterable[Path], unchecked_detail: str) -> list[MediaProbe]:
    """File-system check of every path; what passes it is marked "unchecked"."""
    return [check_file(p) or MediaProbe(p, "unchecked", None, unchecked_detail) for p in paths]


def _errno_text(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "error")
    return f"{exc.strerror or 'cannot read'} ({name})"
