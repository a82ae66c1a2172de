"""The clinic key: 32 random bytes every laptop of the clinic holds and the hub never does.
Clinical text goes to the hub sealed with it (AES-256-GCM, a fresh nonce per row, the row's
global id as associated data, so a sealed text cannot be moved onto another row)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from kapsession.errors import KapsessionError

KEY_BYTES = 32
NONCE_BYTES = 12
_VERSION = b"\x01"


class ClinicKeyError(KapsessionError):
    """The clinic key file is missing, unreadable or not a clinic key."""


def create(path: Path) -> bytes:
    """A new clinic key in a new file (0600). Refuses to overwrite: a clinic's existing key
    is what its hub's sealed text opens with."""
    key = secrets.token_bytes(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ClinicKeyError(
            f"The clinic key file {path} already exists; it is never overwritten "
            "(the hub's sealed text opens only with it)."
        ) from None
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def write_copy(path: Path, key: bytes) -> None:
    """The key into a data folder (0600), written whole or not at all."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read(path: Path) -> bytes:
    try:
        info = path.stat()
        data = path.read_bytes()
    except FileNotFoundError:
        raise ClinicKeyError(f"There is no clinic key file at {path}.") from None
    except OSError as exc:
        raise ClinicKeyError(
            f"The clinic key file {path} cannot be read: {exc.strerror or exc}."
        ) from None
    if len(data) != KEY_BYTES or not stat.S_ISREG(info.st_mode):
        raise ClinicKeyError(
            f"{path} is not a clinic key file (made by `kapsession hub init`: {KEY_BYTES} bytes)."
        )
    return data


def seal(key: bytes, gid: str, plain: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(NONCE_BYTES)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plain, gid.encode())


def open_sealed(key: bytes, gid: str, blob: bytes) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if blob[:1] != _VERSION:
        raise ClinicKeyError("A hub row is sealed in a format this kapsession does not know.")
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, gid.encode())
    except InvalidTag:
        raise ClinicKeyError(
            "The hub's sealed text does not open with this clinic key (another clinic's key?)."
        ) from None


def digest(key: bytes, canonical: bytes) -> bytes:
    """A keyed digest of a row's whole content: tells the same row pushed again (a restored
    backup) from a different row under the same global id, without letting anyone without the
    key test guesses of a note's text against it."""
    return hmac.new(
        hashlib.sha256(b"kapsession hub digest" + key).digest(), canonical, "sha256"
    ).digest()
