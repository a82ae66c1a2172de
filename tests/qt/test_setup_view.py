"""First run and later starts, through the composition root's open_store on real data folders:
the set-up screen (encrypt with a passphrase typed twice, or not now), the passphrase prompt
(wrong, then right) and the scripted paths (--smoke, KAPSESSION_PASSPHRASE)."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest
from helpers.fake_keyring import DictKeyring
from helpers.qt import ModalDriver
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from kapsession.errors import NeedsKey
from kapsession.storage import datakey, security_settings
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store, is_plaintext
from ui.app import open_store
from ui.setup_view import SetupDialog, UnlockDialog

PASS = "lantern orchard quiet seven"


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(datakey.PASSPHRASE_ENV, raising=False)
    monkeypatch.delenv("KAPSESSION_ENCRYPTION", raising=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir(mode=0o700)
    return path


def close(opened: tuple[Store, security_settings.SecuritySettings] | None) -> Store:
    assert opened is not None
    store, _settings = opened
    store.close()
    return store


def fill_setup(qtbot, dialog: QWidget, first: str, second: str, pin: str = "") -> None:
    assert isinstance(dialog, SetupDialog)
    qtbot.keyClicks(dialog.passphrase, first)
    qtbot.keyClicks(dialog.repeat, second)
    if pin:
        qtbot.keyClicks(dialog.pin, pin)


def test_first_run_encrypts_after_a_mismatch_is_pointed_out(
    qtbot, folder: Path, modal: ModalDriver
) -> None:
    seen: list[str] = []

    def handle(dialog: QWidget) -> None:
        assert isinstance(dialog, SetupDialog)
        assert not dialog.remember.isEnabled()  # no OS keyring on this machine
        fill_setup(qtbot, dialog, PASS, PASS + "x")
        qtbot.mouseClick(dialog.encrypt_button, Qt.MouseButton.LeftButton)
        seen.append(dialog.error.text())
        dialog.repeat.clear()
        qtbot.keyClicks(dialog.repeat, PASS)
        qtbot.keyClicks(dialog.pin, "4821")
        seen.append(dialog.hint.text())
        qtbot.mouseClick(dialog.encrypt_button, Qt.MouseButton.LeftButton)

    modal.next(handle)
    store = close(open_store(folder, smoke=False))
    modal.check()
    assert "differ" in seen[0]
    assert seen[1].startswith("Strong")
    assert store.encrypted
    assert datakey.has_key_file(folder) and not is_plaintext(folder / DB_NAME)
    settings = security_settings.load(folder)
    assert settings.encryption == "on"
    assert settings.pin_hash and security_settings.pin_matches(settings.pin_hash, "4821")
    assert "4821" not in (folder / security_settings.SETTINGS_FILE).read_text()


def test_not_now_keeps_it_unencrypted_and_is_not_asked_again(
    qtbot, folder: Path, modal: ModalDriver
) -> None:
    def handle(dialog: QWidget) -> None:
        assert isinstance(dialog, SetupDialog)
        qtbot.mouseClick(dialog.later_button, Qt.MouseButton.LeftButton)

    modal.next(handle)
    store = close(open_store(folder, smoke=False))
    modal.check()
    assert not store.encrypted and is_plaintext(folder / DB_NAME)
    assert security_settings.load(folder).encryption == "declined"
    close(open_store(folder, smoke=False))  # no dialog this time (a dialog would hang here)


def test_later_starts_ask_for_the_passphrase_wrong_then_right(
    qtbot, folder: Path, modal: ModalDriver
) -> None:
    datakey.create_key(folder, PASS)
    messages: list[str] = []

    def handle(dialog: QWidget) -> None:
        assert isinstance(dialog, UnlockDialog)
        qtbot.keyClicks(dialog.passphrase, "not the passphrase")
        qtbot.keyClick(dialog.passphrase, Qt.Key.Key_Return)
        messages.append(dialog.error.text())
        assert dialog.isVisible() and dialog.passphrase.text() == ""
        qtbot.keyClicks(dialog.passphrase, PASS)
        qtbot.keyClick(dialog.passphrase, Qt.Key.Key_Return)

    modal.next(handle, UnlockDialog)
    store = close(open_store(folder, smoke=False))
    modal.check()
    assert "does not unlock" in messages[0]
    assert store.encrypted


def test_quit_at_the_prompt_opens_nothing(qtbot, folder: Path, modal: ModalDriver) -> None:
    datakey.create_key(folder, PASS)
    modal.next(lambda dialog: dialog.reject(), UnlockDialog)  # type: ignore[attr-defined]
    assert open_store(folder, smoke=False) is None
    modal.check()
    assert not (folder / DB_NAME).exists()


def test_scripted_starts_never_show_a_dialog(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # --smoke on a new folder: unencrypted, nothing recorded as chosen.
    assert not close(open_store(folder, smoke=True)).encrypted
    assert security_settings.load(folder).encryption is None
    # KAPSESSION_PASSPHRASE on a folder never asked: encryption set up with it (in place).
    monkeypatch.setenv(datakey.PASSPHRASE_ENV, PASS)
    assert close(open_store(folder, smoke=True)).encrypted
    assert not is_plaintext(folder / DB_NAME)
    assert close(open_store(folder, smoke=True)).encrypted  # and reopened with it
    # --smoke on an encrypted folder without the passphrase: a clear error, not a dialog.
    monkeypatch.delenv(datakey.PASSPHRASE_ENV)
    with pytest.raises(NeedsKey):
        open_store(folder, smoke=True)


def test_remembered_in_the_keyring_a_daily_start_needs_no_typing(
    qtbot, folder: Path, modal: ModalDriver
) -> None:
    old = keyring.get_keyring()
    backend = DictKeyring()
    keyring.set_keyring(backend)
    try:

        def handle(dialog: QWidget) -> None:
            assert isinstance(dialog, SetupDialog)
            assert dialog.remember.isEnabled()
            fill_setup(qtbot, dialog, PASS, PASS)
            dialog.remember.setChecked(True)
            qtbot.mouseClick(dialog.encrypt_button, Qt.MouseButton.LeftButton)

        modal.next(handle)
        assert close(open_store(folder, smoke=False)).encrypted
        modal.check()
        assert len(backend.entries) == 1
        assert PASS not in next(iter(backend.entries.values()))  # the data key, not the passphrase
        # The next start: no dialog (one would hang this test), the key comes from the keyring.
        assert close(open_store(folder, smoke=False)).encrypted
    finally:
        keyring.set_keyring(old)
