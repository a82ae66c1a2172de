"""The data key and its key file: Argon2id-derived wrapping key, AES-GCM wrap, atomic 0600 file,
re-wrapping on a passphrase change, and clean refusals (wrong passphrase, altered file)."""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import keyring
import pytest
from helpers.fake_keyring import DictKeyring

from kapsession.errors import KapsessionError, WrongKey
from kapsession.storage import datakey

PASS = "violet harbour lantern seven"
# Weaker than the default (64 MiB) so the many derivations here stay quick; the default
# parameters are exercised by the tests that do not pass `params`.
FAST = datakey.KdfParams(time_cost=1, memory_cost_kib=8 * 1024, parallelism=1)


def test_a_new_key_is_random_and_unwraps_only_with_its_passphrase(tmp_path: Path) -> None:
    key = datakey.create_key(tmp_path, PASS)
    assert len(key) == 32
    assert datakey.unlock(tmp_path, PASS) == key
    other = tmp_path / "other"
    other.mkdir()
    assert datakey.create_key(other, PASS) != key  # random, not derived from the passphrase
    with pytest.raises(WrongKey, match="does not unlock"):
        datakey.unlock(tmp_path, PASS + "!")
    with pytest.raises(WrongKey):
        datakey.unlock(tmp_path, "")


def test_the_key_file_is_private_and_states_its_argon2id_parameters(tmp_path: Path) -> None:
    key = datakey.create_key(tmp_path, PASS)
    path = datakey.key_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert doc["format"] == "kapsession-key/1"
    assert doc["cipher"] == "AES-256-GCM"
    assert doc["kdf"]["algorithm"] == "argon2id"
    assert {k: doc["kdf"][k] for k in ("time_cost", "memory_cost_kib", "parallelism")} == {
        "time_cost": 3,
        "memory_cost_kib": 65536,
        "parallelism": 4,
    }
    assert len(base64.b64decode(doc["kdf"]["salt"])) == 16
    text = path.read_bytes()
    assert key not in text and key.hex().encode() not in text
    assert PASS.encode() not in text
    assert [p.name for p in tmp_path.iterdir()] == [datakey.KEY_FILE]  # no temp file left


def test_stored_parameters_are_the_ones_used(tmp_path: Path) -> None:
    key = datakey.create_key(tmp_path, PASS, FAST)
    doc = json.loads(datakey.key_path(tmp_path).read_text())
    assert doc["kdf"]["memory_cost_kib"] == 8192 and doc["kdf"]["time_cost"] == 1
    assert datakey.unlock(tmp_path, PASS) == key


def test_changing_the_passphrase_rewraps_the_same_key(tmp_path: Path) -> None:
    key = datakey.create_key(tmp_path, PASS, FAST)
    before = json.loads(datakey.key_path(tmp_path).read_text())
    new = "copper meadow quiet river"
    with pytest.raises(WrongKey):
        datakey.change_passphrase(tmp_path, "not the passphrase", new)
    assert datakey.change_passphrase(tmp_path, PASS, new) == key
    after = json.loads(datakey.key_path(tmp_path).read_text())
    assert after["kdf"]["salt"] != before["kdf"]["salt"]
    assert after["wrapped_key"] != before["wrapped_key"]
    assert after["key_id"] == before["key_id"]
    assert datakey.unlock(tmp_path, new) == key
    with pytest.raises(WrongKey):
        datakey.unlock(tmp_path, PASS)


def _tamper(folder: Path, change: object) -> None:
    path = datakey.key_path(folder)
    doc = json.loads(path.read_text())
    change(doc)  # type: ignore[operator]
    path.write_text(json.dumps(doc))


def _flip(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[0] ^= 1
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(wrapped_key=_flip(d["wrapped_key"])),
        lambda d: d.update(nonce=_flip(d["nonce"])),
        lambda d: d["kdf"].update(salt=_flip(d["kdf"]["salt"])),
        lambda d: d["kdf"].update(time_cost=2),
        lambda d: d.update(key_id="0" * 16),
    ],
    ids=["wrapped-key", "nonce", "salt", "kdf-parameter", "key-id"],
)
def test_an_altered_key_file_never_yields_a_key(tmp_path: Path, change: object) -> None:
    datakey.create_key(tmp_path, PASS, FAST)
    _tamper(tmp_path, change)
    with pytest.raises(WrongKey):
        datakey.unlock(tmp_path, PASS)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        '{"format": "something-else/1"}',
        '{"format": "kapsession-key/1", "cipher": "AES-256-GCM"}',
    ],
)
def test_a_damaged_key_file_is_a_clear_error(tmp_path: Path, text: str) -> None:
    datakey.key_path(tmp_path).write_text(text)
    with pytest.raises(datakey.KeyFileError, match="damaged"):
        datakey.unlock(tmp_path, PASS)


def test_hostile_parameters_are_refused_before_deriving(tmp_path: Path) -> None:
    datakey.create_key(tmp_path, PASS, FAST)
    _tamper(tmp_path, lambda d: d["kdf"].update(memory_cost_kib=64 * 1024 * 1024))
    with pytest.raises(datakey.KeyFileError, match="memory"):
        datakey.unlock(tmp_path, PASS)


def test_a_missing_key_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(datakey.KeyFileError, match="no key file"):
        datakey.unlock(tmp_path, PASS)


def test_a_second_key_is_never_created_over_the_first(tmp_path: Path) -> None:
    datakey.create_key(tmp_path, PASS, FAST)
    with pytest.raises(datakey.KeyFileError, match="already has a key"):
        datakey.create_key(tmp_path, PASS, FAST)


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("short", None, "at least 10"),
        ("long enough passphrase", "long enough passphrase!", "differ"),
        (" padded passphrase", None, "space"),
    ],
)
def test_new_passphrase_rules(first: str, second: str | None, message: str) -> None:
    with pytest.raises(KapsessionError, match=message):
        datakey.check_passphrase(first, second)


def test_strength_hint_prefers_length() -> None:
    assert datakey.strength_hint("abc").startswith("Too short")
    assert datakey.strength_hint("aaaaaaaaaaaa").startswith("Weak")
    assert datakey.strength_hint("pinecones1").startswith("Fair")
    assert datakey.strength_hint("violet harbour lantern seven").startswith("Strong")


def test_no_keyring_backend_here_means_the_option_is_off(tmp_path: Path) -> None:
    # This machine (like a headless Linux) has no secret service: keyring's fail backend.
    assert not datakey.keyring_available()
    datakey.create_key(tmp_path, PASS, FAST)
    assert datakey.recall_key(tmp_path) is None
    with pytest.raises(datakey.KeyringUnavailable, match="passphrase at each start"):
        datakey.remember_key(tmp_path, b"k" * 32)
    datakey.forget_key(tmp_path)  # harmless without a backend


def test_a_keyring_keeps_the_key_and_survives_a_passphrase_change(tmp_path: Path) -> None:
    old = keyring.get_keyring()
    backend = DictKeyring()
    keyring.set_keyring(backend)
    try:
        assert datakey.keyring_available()
        key = datakey.create_key(tmp_path, PASS, FAST)
        datakey.remember_key(tmp_path, key)
        assert datakey.recall_key(tmp_path) == key
        datakey.change_passphrase(tmp_path, PASS, "copper meadow quiet river")
        assert datakey.recall_key(tmp_path) == key
        # An entry that does not match the folder's key file is ignored, not trusted.
        backend.entries[next(iter(backend.entries))] = (b"x" * 32).hex()
        assert datakey.recall_key(tmp_path) is None
        datakey.forget_key(tmp_path)
        assert backend.entries == {}
    finally:
        keyring.set_keyring(old)


CHANGER = """
import sys
from pathlib import Path
from kapsession.storage import datakey
folder = Path(sys.argv[1])
fast = datakey.KdfParams(time_cost=1, memory_cost_kib=8 * 1024, parallelism=1)
names = [sys.argv[2], sys.argv[3]]
sys.stdout.write("go\\n"); sys.stdout.flush()
i = 0
while True:
    datakey.change_passphrase(folder, names[i % 2], names[(i + 1) % 2], fast)
    i += 1
    sys.stdout.write(f"changed {i}\\n"); sys.stdout.flush()
"""


@pytest.mark.crash
def test_sigkill_during_passphrase_changes_keeps_the_key(tmp_path: Path) -> None:
    """Killed at random moments while re-wrapping over and over: the key file always opens, to
    the same data key, with the passphrase of the last change the process reported done (or the
    next, when the kill fell between the rename and the report), and the next change cleans up."""
    other = "second passphrase here"
    names = [PASS, other]
    key = datakey.create_key(tmp_path, PASS, FAST)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    rng = random.Random(611)
    where: Counter[str] = Counter()
    for run in range(10):
        proc = subprocess.Popen(
            [sys.executable, "-c", CHANGER, str(tmp_path), PASS, other],
            env=env,
            stdout=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stdout.readline() == b"go\n"
        time.sleep(rng.uniform(0.0, 0.3))  # where the kill lands, nothing else
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
        done = len(proc.stdout.read().splitlines())  # whole changes reported before the kill
        proc.stdout.close()
        mid_write = any(tmp_path.glob(f".{datakey.KEY_FILE}-*"))
        reported, unreported = names[done % 2], names[(done + 1) % 2]
        try:
            assert datakey.unlock(tmp_path, reported) == key
            opened = reported
        except WrongKey:
            # Only a kill between the rename and the report leaves the next passphrase.
            assert datakey.unlock(tmp_path, unreported) == key, f"run {run}: after {done} changes"
            opened = unreported
        if not done:
            where["in the first change"] += 1
        elif opened == unreported:
            where["after a rename, unreported"] += 1
        else:
            where["mid-write" if mid_write else "in a later change"] += 1
        # Put it back to PASS for the next round (this also clears killed temp files).
        if opened != PASS:
            datakey.change_passphrase(tmp_path, other, PASS, FAST)
    print(f"passphrase-change kills: 10, landed {dict(where)}")
    # A third of the kills at least land deep in the loop, after whole changes: judged by the
    # reports, not by time.
    assert 10 - where["in the first change"] >= 4, dict(where)
    datakey.change_passphrase(tmp_path, PASS, other, FAST)
    assert sorted(p.name for p in tmp_path.iterdir()) == [datakey.KEY_FILE]
