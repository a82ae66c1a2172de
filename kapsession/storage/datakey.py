"""The data folder's key: a random 256-bit data key that encrypts the database (SQLCipher),
wrapped by a key derived from the clinic passphrase.

- Derivation: Argon2id (argon2-cffi's ``hash_secret_raw``); its parameters and salt are stored
  in the key file beside the wrapped key, so they can be raised later without a format change.
- Wrapping: AES-256-GCM (``cryptography``). Everything in the file except the nonce and the
  wrapped key is the AEAD's associated data: altering a parameter, the key id or the format fails
  authentication exactly like a wrong passphrase does.
- The key file (``kapsession.key``) is written atomically (temp file, fsync, rename, fsync of the
  folder) with mode 0600. Changing the passphrase re-wraps the same data key: the database is not
  touched.
- Optionally the data key is kept in the OS keyring (the ``keyring`` library) so a daily start
  needs no typing. Where no keyring backend exists (a headless Linux) that option is simply off.

No secret (passphrase, key, derived key) is ever logged, put in an exception message, or
written anywhere but the wrapped form in the key file and, if asked, the OS keyring."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kapsession.errors import DataFolderError, KapsessionError, NeedsKey
from kapsession.errors import WrongKey as WrongKey  # re-exported: callers may catch keys.WrongKey
from kapsession.storage import privacy, safe_files

KEY_FILE = "kapsession.key"
FORMAT = "kapsession-key/1"
CIPHER = "AES-256-GCM"
KEY_BYTES = 32
MIN_PASSPHRASE = 10
KEYRING_SERVICE = "kapsession"
PASSPHRASE_ENV = "KAPSESSION_PASSPHRASE"
# Caps on what a key file may ask of Argon2id (checked before any derivation runs).
MAX_MEMORY_KIB = 1024 * 1024
MAX_TIME_COST = 20
MAX_PARALLELISM = 16
SALT_BYTES = (16, 64)
NONCE_BYTES = 12
MAX_KEY_FILE_BYTES = 64 * 1024
KDF_FIELDS = ("time_cost", "memory_cost_kib", "parallelism", "hash_len", "version")


class KeyFileError(DataFolderError):
    """The key file is missing, unreadable or not a kapsession key file."""


class KeyringUnavailable(KapsessionError):
    """No OS keyring can hold the key on this computer."""


@dataclass(frozen=True)
class KdfParams:
    """Argon2id (RFC 9106). The defaults are RFC 9106's second recommended option
    (t=3, m=64 MiB, p=4): about a fifth of a second on a laptop core pair."""

    time_cost: int = 3
    memory_cost_kib: int = 64 * 1024
    parallelism: int = 4
    hash_len: int = KEY_BYTES
    version: int = 19  # Argon2 v1.3

    def check(self) -> None:
        """Refuse parameters that would make unlocking hang or exhaust memory (a hostile key
        file, e.g. one left beside a backup), or that argon2 itself would refuse. The caps are
        generous: 16 times the default memory, almost 7 times its passes."""
        if not (1 <= self.time_cost <= MAX_TIME_COST):
            raise KeyFileError(
                f"The key file asks for {self.time_cost} Argon2id passes (at most "
                f"{MAX_TIME_COST} are accepted); it was not used."
            )
        if not (8 * self.parallelism <= self.memory_cost_kib <= MAX_MEMORY_KIB):
            raise KeyFileError(
                f"The key file asks for {self.memory_cost_kib} KiB of Argon2id memory (at most "
                f"{MAX_MEMORY_KIB} KiB, 1 GiB, are accepted); it was not used."
            )
        if not (1 <= self.parallelism <= MAX_PARALLELISM):
            raise KeyFileError(
                f"The key file asks for Argon2id parallelism {self.parallelism} (at most "
                f"{MAX_PARALLELISM} is accepted); it was not used."
            )
        if self.hash_len != KEY_BYTES or self.version != 19:
            raise KeyFileError("The key file has Argon2id parameters this version cannot use.")


@dataclass(frozen=True)
class KeyFile:
    kdf: KdfParams
    salt: bytes
    nonce: bytes
    wrapped: bytes
    key_id: str

    def header(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "cipher": CIPHER,
            "kdf": {"algorithm": "argon2id", **asdict(self.kdf), "salt": _b64(self.salt)},
            "key_id": self.key_id,
        }

    def to_json(self) -> str:
        doc = self.header()
        doc["nonce"] = _b64(self.nonce)
        doc["wrapped_key"] = _b64(self.wrapped)
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> KeyFile:
        try:
            doc = json.loads(text)
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise ValueError("format")
            if doc.get("cipher") != CIPHER:
                raise ValueError("cipher")
            kdf = doc["kdf"]
            if not isinstance(kdf, dict) or kdf.get("algorithm") != "argon2id":
                raise ValueError("kdf")
            if set(kdf) != {"algorithm", "salt", *KDF_FIELDS}:
                raise ValueError("kdf fields")
            numbers = {k: kdf[k] for k in KDF_FIELDS}
            # Whole numbers only: a float, a string or a bool is a damaged (or crafted) file.
            if any(type(v) is not int for v in numbers.values()):
                raise ValueError("kdf types")
            params = KdfParams(**numbers)
            if not isinstance(doc.get("key_id"), str):
                raise ValueError("key_id")
            found = cls(
                params,
                _unb64(kdf["salt"]),
                _unb64(doc["nonce"]),
                _unb64(doc["wrapped_key"]),
                doc["key_id"],
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            raise KeyFileError(
                "The key file is damaged or is not a kapsession key file; the data was not opened."
            ) from None
        salt_ok = SALT_BYTES[0] <= len(found.salt) <= SALT_BYTES[1]
        if not salt_ok or len(found.nonce) != NONCE_BYTES or len(found.wrapped) != KEY_BYTES + 16:
            raise KeyFileError("The key file is damaged; the data was not opened.")
        params.check()
        return found


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text.encode("ascii"), validate=True)


def key_id(key: bytes) -> str:
    """A non-secret name for a data key (to match a keyring entry to its folder)."""
    return hashlib.sha256(b"kapsession key id\0" + key).hexdigest()[:16]


def _derive(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    from argon2.low_level import Type, hash_secret_raw

    return hash_secret_raw(
        passphrase.encode("utf-8"),
        salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_cost_kib,
        parallelism=params.parallelism,
        hash_len=params.hash_len,
        type=Type.ID,
        version=params.version,
    )


def _aad(header: Mapping[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def wrap(key: bytes, passphrase: str, params: KdfParams | None = None) -> KeyFile:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(key) != KEY_BYTES:
        raise ValueError("a data key is 32 bytes")
    params = params or KdfParams()
    params.check()
    salt = secrets.token_bytes(16)
    nonce = secrets.token_bytes(12)
    shell = KeyFile(params, salt, nonce, b"", key_id(key))
    wrapped = AESGCM(_derive(passphrase, salt, params)).encrypt(nonce, key, _aad(shell.header()))
    return KeyFile(params, salt, nonce, wrapped, shell.key_id)


def unwrap(keyfile: KeyFile, passphrase: str) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    derived = _derive(passphrase, keyfile.salt, keyfile.kdf)
    try:
        key = AESGCM(derived).decrypt(keyfile.nonce, keyfile.wrapped, _aad(keyfile.header()))
    except InvalidTag:
        raise WrongKey(
            "That passphrase does not unlock this data folder (or its key file was altered). "
            "Nothing was opened."
        ) from None
    if key_id(key) != keyfile.key_id:  # cannot happen with an authentic file; belt and braces
        raise WrongKey("That passphrase does not unlock this data folder. Nothing was opened.")
    return key


# --- the key file in a data folder -------------------------------------------------------------


def key_path(folder: Path) -> Path:
    return folder / KEY_FILE


def has_key_file(folder: Path) -> bool:
    return key_path(folder).exists()


def read_key_file(folder: Path) -> KeyFile:
    return read_key_at(key_path(folder))


def read_key_at(path: Path) -> KeyFile:
    """A key file by its path (a data folder's, or a copy kept beside backups under the name of
    its folder), size-capped and checked before anything derives a key from it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO never blocks
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise KeyFileError(f"{path.name} is not a regular file; it was not used.")
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
        if len(data) > MAX_KEY_FILE_BYTES:
            raise KeyFileError(f"{path.name} is far too large to be a key file; it was not used.")
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise KeyFileError(f"There is no key file at {path}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
        raise KeyFileError(f"Cannot read the key file {path}: {reason}.") from None
    return KeyFile.from_json(text)


def write_private_atomically(path: Path, data: bytes) -> None:
    """A whole 0600 file or the old one (kapsession.storage.safe_files)."""
    safe_files.write_atomically(path, data)


fsync_folder = safe_files.fsync_folder


def _remove_stale_temps(folder: Path) -> None:
    """Temp files of a key-file write that was killed before its rename (never the key file)."""
    for stale in folder.glob(f".{KEY_FILE}-*"):
        with contextlib.suppress(OSError):
            stale.unlink()


def check_passphrase(passphrase: str, repeat: str | None = None) -> None:
    """The one rule for a new passphrase; raises with a message that says what to change."""
    if repeat is not None and passphrase != repeat:
        raise KapsessionError("The two passphrases differ; type the same one twice.")
    if len(passphrase) < MIN_PASSPHRASE:
        raise KapsessionError(
            f"The passphrase must be at least {MIN_PASSPHRASE} characters "
            f"(it has {len(passphrase)}). A few unrelated words are easy to remember."
        )
    if passphrase != passphrase.strip():
        raise KapsessionError("The passphrase must not begin or end with a space.")


def strength_hint(passphrase: str) -> str:
    """A plain-language hint while typing (not a promise): length beats symbols."""
    n = len(passphrase)
    kinds = sum(
        any(test(c) for c in passphrase)
        for test in (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    )
    words = len(passphrase.split())
    if n < MIN_PASSPHRASE:
        return f"Too short: at least {MIN_PASSPHRASE} characters ({n} so far)."
    if len(set(passphrase)) <= 3:
        return "Weak: too few different characters."
    if n >= 20 or (words >= 4 and n >= 16):
        return "Strong."
    if n >= 14 or kinds >= 3:
        return "Good. Longer is stronger: add a word."
    return "Fair. Add a word or two to make it stronger."


def create_key(folder: Path, passphrase: str, params: KdfParams | None = None) -> bytes:
    """A new random data key for a folder that has none; returns it (to open the database)."""
    check_passphrase(passphrase)
    path = key_path(folder)
    if path.exists():
        raise KeyFileError(f"{folder} already has a key; change its passphrase instead.")
    key = secrets.token_bytes(KEY_BYTES)
    _remove_stale_temps(folder)
    write_private_atomically(path, wrap(key, passphrase, params).to_json().encode("utf-8"))
    return key


def unlock(folder: Path, passphrase: str) -> bytes:
    return unwrap(read_key_file(folder), passphrase)


def change_passphrase(folder: Path, old: str, new: str, params: KdfParams | None = None) -> bytes:
    """Re-wrap the same data key under a new passphrase (new salt and nonce); the database
    and any keyring entry stay valid. The old passphrase must be right."""
    check_passphrase(new)
    current = read_key_file(folder)
    key = unwrap(current, old)
    _remove_stale_temps(folder)
    write_private_atomically(
        key_path(folder), wrap(key, new, params or current.kdf).to_json().encode("utf-8")
    )
    return key


# --- the OS keyring (optional) -------------------------------------------------------------------


def _keyring_user(folder: Path) -> str:
    return f"data-key:{folder.resolve()}"


def keyring_available() -> bool:
    """True when a real OS keyring backend is there (never on a headless Linux without a
    secret service). Any failure to ask means no."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring):
            return False
        # The chainer stands for "every backend found": none found is no keyring.
        return bool(getattr(backend, "backends", True))
    except Exception:  # a broken backend (D-Bus down, locked store...) is "not available"
        return False


def remember_key(folder: Path, key: bytes) -> None:
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, _keyring_user(folder), key.hex())
    except Exception as exc:
        raise KeyringUnavailable(
            f"The key could not be kept in this computer's keyring ({type(exc).__name__}); "
            "you will be asked for the passphrase at each start."
        ) from None


def recall_key(folder: Path) -> bytes | None:
    """The folder's data key from the keyring, if one is there and matches the key file."""
    try:
        import keyring

        stored = keyring.get_password(KEYRING_SERVICE, _keyring_user(folder))
    except Exception:  # no backend, locked keyring, D-Bus trouble: ask for the passphrase
        return None
    if not stored:
        return None
    try:
        key = bytes.fromhex(stored)
        expected = read_key_file(folder).key_id
    except (ValueError, KeyFileError):
        return None
    return key if len(key) == KEY_BYTES and key_id(key) == expected else None


def forget_key(folder: Path) -> None:
    with contextlib.suppress(Exception):
        import keyring

        keyring.delete_password(KEYRING_SERVICE, _keyring_user(folder))


def key_for(
    folder: Path,
    env: Mapping[str, str] | None = None,
    ask: Callable[[], str | None] | None = None,
) -> bytes | None:
    """The data key for opening a folder: None if the folder is not encrypted; else from the
    OS keyring, then $KAPSESSION_PASSPHRASE, then `ask` (a prompt). WrongKey for a wrong
    passphrase, NeedsKey when there is no way to get one."""
    if not has_key_file(folder):
        return None
    key = recall_key(folder)
    if key is not None:
        return key
    return unlock(folder, _passphrase(folder, env, ask))


def key_from_file(
    path: Path,
    env: Mapping[str, str] | None = None,
    ask: Callable[[], str | None] | None = None,
) -> bytes:
    """The data key from a key file by its path (a copy kept beside backups), with the
    passphrase from $KAPSESSION_PASSPHRASE or `ask`. The file is checked (caps on what it asks
    of Argon2id) before the passphrase is asked for."""
    keyfile = read_key_at(path)
    return unwrap(keyfile, _passphrase(path.parent, env, ask))


def _passphrase(
    where: Path, env: Mapping[str, str] | None, ask: Callable[[], str | None] | None
) -> str:
    given = privacy.secret_from_env(PASSPHRASE_ENV) if env is None else env.get(PASSPHRASE_ENV)
    passphrase = given or (ask() if ask is not None else None)
    if not passphrase:
        raise NeedsKey(
            f"The data in {where} is encrypted: give its passphrase (at the prompt, or in "
            f"${PASSPHRASE_ENV})."
        )
    return passphrase


def encryption_available() -> bool:
    """Whether SQLCipher (sqlcipher3) can be loaded on this platform."""
    try:
        import sqlcipher3  # noqa: F401
    except ImportError:
        return False
    return True


UNAVAILABLE = (
    "Encryption is not available on this platform (SQLCipher could not be loaded); "
    "kapsession will keep this data folder unencrypted."
)
