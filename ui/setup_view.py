"""First run: one screen to protect the data folder (encrypt with a clinic passphrase, or not
now), and later starts: the passphrase prompt before the data is opened."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kapsession.errors import KapsessionError
from kapsession.storage import datakey
from kapsession.storage.security_settings import check_pin

from .plain_text import plain_label


@dataclass(frozen=True)
class SetupChoice:
    encrypt: bool
    passphrase: str | None = None
    remember: bool = False
    pin: str | None = None


def _secret(name: str, placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setAccessibleName(name)
    edit.setPlaceholderText(placeholder)
    return edit


class SetupDialog(QDialog):
    """ "Encrypt (recommended)" with a passphrase typed twice, a strength hint, the keyring
    option and an optional screen-lock PIN; or "Not now". `apply` does the work (create the
    key, encrypt); if it fails, its message is shown here and nothing is lost."""

    def __init__(
        self,
        apply: Callable[[SetupChoice], None],
        folder: str,
        available: bool,
        keyring_available: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("kapsession · protect this data folder")
        self._apply = apply
        self._available = available
        intro = plain_label(
            "<h2>Protect the session records</h2>"
            "<p>kapsession can encrypt everything it keeps in this data folder, so that the "
            "records cannot be read without the clinic's passphrase, even if the laptop is "
            "lost.</p>"
            f"<p style='color:#9aa3ad'>Data folder: {_escape(folder)}</p>"
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        self.passphrase = _secret("Passphrase", f"at least {datakey.MIN_PASSPHRASE} characters")
        self.repeat = _secret("Passphrase again")
        self.hint = plain_label(datakey.strength_hint(""))
        self.hint.setProperty("role", "muted")
        self.passphrase.textChanged.connect(
            lambda text: self.hint.setText(datakey.strength_hint(text))
        )
        self.remember = QCheckBox("Remember it on this computer (OS keyring): no typing at start")
        if not keyring_available:
            self.remember.setEnabled(False)
            self.remember.setText("Remember it on this computer: no OS keyring is available here")
        self.pin = _secret("Screen-lock PIN", "optional, 4–12 digits")
        pin_hint = plain_label(
            "The screen locks after 5 idle minutes and with Ctrl+L. A PIN unlocks it; "
            "without one, the passphrase does."
        )
        pin_hint.setProperty("role", "muted")
        pin_hint.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Passphrase", self.passphrase)
        form.addRow("Again", self.repeat)
        form.addRow("", self.hint)
        form.addRow("", self.remember)
        form.addRow("Lock PIN", self.pin)
        form.addRow("", pin_hint)
        self.error = plain_label()
        self.error.setProperty("role", "status")
        self.error.setWordWrap(True)
        self.encrypt_button = QPushButton("Encrypt (recommended)")
        self.encrypt_button.setDefault(True)
        self.encrypt_button.clicked.connect(self._on_encrypt)
        self.later_button = QPushButton("Not now")
        self.later_button.clicked.connect(self._on_later)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.later_button)
        buttons.addWidget(self.encrypt_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        if available:
            layout.addLayout(form)
            later_hint = plain_label(
                "Not now: the records stay unencrypted; `kapsession encrypt` encrypts them later."
            )
        else:
            for field in (self.passphrase, self.repeat, self.remember):
                field.setEnabled(False)
            self.encrypt_button.setEnabled(False)
            self.later_button.setText("Continue unencrypted")
            self.later_button.setDefault(True)
            unavailable = plain_label(datakey.UNAVAILABLE)
            unavailable.setProperty("role", "status")
            unavailable.setWordWrap(True)
            layout.addWidget(unavailable)
            pin_form = QFormLayout()
            pin_form.addRow("Lock PIN", self.pin)
            layout.addLayout(pin_form)
            later_hint = plain_label("")
        later_hint.setProperty("role", "muted")
        later_hint.setWordWrap(True)
        layout.addWidget(later_hint)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self.resize(640, self.sizeHint().height())
        (self.passphrase if available else self.pin).setFocus()

    def _pin(self) -> str | None:
        pin = self.pin.text()
        if pin:
            check_pin(pin)
        return pin or None

    def _finish(self, choice: SetupChoice) -> None:
        try:
            self._apply(choice)
        except KapsessionError as exc:
            self.error.setText(str(exc))
            return
        self.accept()

    def _on_encrypt(self) -> None:
        try:
            datakey.check_passphrase(self.passphrase.text(), self.repeat.text())
            pin = self._pin()
        except KapsessionError as exc:
            self.error.setText(str(exc))
            return
        self.error.setText("Encrypting…")
        self.repaint()
        self._finish(SetupChoice(True, self.passphrase.text(), self.remember.isChecked(), pin))

    def _on_later(self) -> None:
        try:
            pin = self._pin()
        except KapsessionError as exc:
            self.error.setText(str(exc))
            return
        self._finish(SetupChoice(False, pin=pin))


class UnlockDialog(QDialog):
    """The passphrase before the data is opened. A wrong one is said plainly; the dialog
    stays for another try."""

    def __init__(
        self, unlock: Callable[[str], object], folder: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("kapsession · unlock")
        self._unlock = unlock
        title = plain_label("<h2>The session records are encrypted</h2>")
        where = plain_label(f"Type the clinic passphrase to open {folder}.")
        where.setWordWrap(True)
        where.setProperty("role", "muted")
        self.passphrase = _secret("Passphrase")
        self.passphrase.returnPressed.connect(self._on_open)
        self.error = plain_label()
        self.error.setProperty("role", "status")
        self.error.setWordWrap(True)
        open_button = QPushButton("Open")
        open_button.setDefault(True)
        open_button.clicked.connect(self._on_open)
        quit_button = QPushButton("Quit")
        quit_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(quit_button)
        buttons.addWidget(open_button)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(where)
        layout.addWidget(self.passphrase)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self.resize(520, 220)
        self.passphrase.setFocus()

    def _on_open(self) -> None:
        try:
            self._unlock(self.passphrase.text())
        except KapsessionError as exc:
            self.error.setText(str(exc))
            self.passphrase.clear()
            self.passphrase.setFocus()
            return
        self.accept()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
