"""The audit chain's key: what makes the chain impossible to rebuild without it.

- An encrypted folder (and its backups) derive it from the data key they already hold:
  HKDF-SHA256 with the purpose label "kapsession audit chain v1", so it is never the data key
  itself and no extra file is needed.
- A plain folder has no data key: it gets a random 256-bit key in `kapsession.chainkey`
  (0600) beside the database, made when its chain became keyed (a new folder, or the m004
  migration of an existing one), and kept beside the backups like `kapsession.key`. The file
  also records where the keyed part of the chain starts (the marker's entry id and the hash
  before it): any copy of this database long enough to reach that entry must hold the marker
  there, so a copy cannot be turned back into an unkeyed chain either.

What the plain folder's key protects against: a database file edited or rebuilt without the
folder's key file (a copied database, a backup edited elsewhere, a file swapped in) — its
chain no longer verifies. What it does not: someone who has the whole folder (database and key
file) can rebuild the chain; encrypt the folder (and keep backups on another drive) for that.
A folder encrypted after its chain was keyed by such a file keeps using that file."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
from pathlib import Path
from typing import NamedTuple

from kapsession.errors import DataFolderError
from kapsession.storage import safe_files

FILE_NAME = "kapsession.chainkey"
FORMAT = "kapsession-chainkey/1"
LABEL = b"kapsession audit chain v1"
KEY_BYTES = 32
MAX_FILE_BYTES = 4096
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ChainKey(NamedTuple):
    key: bytes
    # (id of the chain_keyed entry, hash of the entry before it): a plain folder's file records
    # it once the marker is written; None for a derived key or a file made before the marker.
    anchor: tuple[int, str] | None = None


def derive(data_key: bytes) -> bytes:
    """HKDF-SHA256 (RFC 5869, zero salt, one output block) of the data key for the chain."""
    prk = hmac.new(b"\0" * 32, data_key, hashlib.sha256).digest()
    return hmac.new(prk, LABEL + b"\x01", hashlib.sha256).digest()


def path(folder: Path) -> Path:
    return folder / FILE_NAME


def read(folder: Path) -> ChainKey | None:
    """The chain key file in `folder`, or None when there is none. A damaged one is an error
    with a clear message, never a silent new key."""
    return read_at(path(folder))


def read_at(file: Path) -> ChainKey | None:
    """A chain key file by its path (the folder's own, or its copy beside the backups)."""
    folder = file.parent
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DataFolderError(
            f"Cannot read the audit chain key in {folder}: {exc.strerror or exc}."
        ) from None
    try:
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise DataFolderError(
            f"Cannot read the audit chain key in {folder}: {exc.strerror or exc}."
        ) from None
    found = _parse(data)
    if found is None:
        raise DataFolderError(
            f"The audit chain key in {folder} ({FILE_NAME}) is damaged; copy it back from "
            "beside the backups."
        )
    return found


def _parse(data: bytes) -> ChainKey | None:
    if len(data) > MAX_FILE_BYTES:
        return None
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return None
    key, start, before = doc.get("key"), doc.get("keyed_from"), doc.get("prev_hash")
    if not (isinstance(key, str) and _HEX64.match(key)):
        return None
    if start is None and before is None:
        return ChainKey(bytes.fromhex(key))
    if type(start) is not int or not 0 < start < 2**63:
        return None
    if not (isinstance(before, str) and _HEX64.match(before)):
        return None
    return ChainKey(bytes.fromhex(key), (start, before))


def write(folder: Path, chain: ChainKey) -> None:
    doc: dict[str, object] = {"format": FORMAT, "key": chain.key.hex()}
    if chain.anchor is not None:
        doc |= {"keyed_from": chain.anchor[0], "prev_hash": chain.anchor[1]}
    safe_files.write_atomically(path(folder), (json.dumps(doc, indent=2) + "\n").encode("utf-8"))


def database_folder(conn: sqlite3.Connection) -> Path | None:
    """The folder of the connection's main database file (None in memory)."""
    for row in conn.execute("PRAGMA database_list").fetchall():
        if row[1] == "main":
            return Path(row[2]).parent if row[2] else None
    return None


def candidates(folder: Path | None, data_key: bytes | None = None) -> list[ChainKey]:
    """The keys that may have keyed a database's chain: derived from its data key, and the
    chain key file in its folder (or beside a backup). Which one did is for the chain to say."""
    found = [ChainKey(derive(data_key))] if data_key is not None else []
    if folder is not None:
        own = read(folder)
        if own is not None:
            found.append(own)
        # The keys of databases a restore replaced, kept beside them: a kill between a
        # restore's key swap and its database swap leaves either database able to open.
        for aside in sorted(folder.glob(FILE_NAME + ".replaced*")):
            with contextlib.suppress(DataFolderError):
                kept = read_at(aside)
                if kept is not None:
                    found.append(ChainKey(kept.key))
    return found


def readable_candidates(folder: Path | None, data_key: bytes | None = None) -> list[ChainKey]:
    """`candidates` for reading and verifying: a damaged key file counts as missing (verify then
    says the chain was not checked) instead of refusing to open."""
    try:
        return candidates(folder, data_key)
    except DataFolderError:
        return candidates(None, data_key)


def load_or_create(folder: Path | None) -> ChainKey:
    """The plain folder's key, made now if it has none (a database in memory: a throwaway)."""
    if folder is None:
        return ChainKey(secrets.token_bytes(KEY_BYTES))
    own = read(folder)
    if own is not None:
        return own
    made = ChainKey(secrets.token_bytes(KEY_BYTES))
    write(folder, made)
    return made
