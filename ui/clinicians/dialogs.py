"""The clinician dialogs: the first clinician (first launch), who is charting (start, Ctrl+U),
manage (add, deactivate) and sign. A refusal is said in the dialog, which stays open; nothing
is written until the core accepts."""

from __future__ import annotations

from collections.abc import Callable, Collection

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kapsession.clock import Clock, SystemClock
from kapsession.errors import KapsessionError
from kapsession.exports import signing
from kapsession.storage import clinicians
from kapsession.storage.clinicians import Clinician
from kapsession.storage.store import SessionRecord, Store, parse_iso

from ..plain_text import plain_label


def _pin_field() -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setMaxLength(12)
    field.setPlaceholderText("4 to 12 digits")
    return field


def _problem_label() -> QLabel:
    label = plain_label("")
    label.setProperty("role", "error")
    label.setWordWrap(True)
    return label


class AddClinicianDialog(QDialog):
    """Name, credentials, role and a PIN typed twice; `added` holds the new clinician."""

    def __init__(
        self,
        store: Store,
        parent: QWidget | None = None,
        first: bool = False,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(parent)
        self.store, self.clock = store, clock or SystemClock()
        self.added: Clinician | None = None
        self.setWindowTitle("The first clinician" if first else "Add a clinician")
        self.name = QLineEdit()
        self.name.setMaxLength(clinicians.NAME_MAX)
        self.credentials = QLineEdit()
        self.credentials.setPlaceholderText("e.g. LCSW, MD, RN")
        self.role = QComboBox()
        self.role.addItems(list(clinicians.ROLES))
        self.pin, self.again = _pin_field(), _pin_field()
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Credentials", self.credentials)
        form.addRow("Role", self.role)
        form.addRow("Personal PIN", self.pin)
        form.addRow("The same PIN again", self.again)
        self.problem = _problem_label()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._on_ok)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if first:
            intro = plain_label(
                "Every entry is charted by a named clinician. Who is charting on this "
                "computer? (Others can be added later from the home screen.)"
            )
            intro.setWordWrap(True)
            layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

    def _on_ok(self) -> None:
        if self.pin.text() != self.again.text():
            self.problem.setText("The two PINs differ.")
            return
        try:
            self.added = clinicians.add(
                self.store,
                self.name.text(),
                self.role.currentText(),
                self.credentials.text(),
                self.pin.text(),
                self.clock.now(),
            )
        except KapsessionError as exc:
            self.problem.setText(str(exc))
            return
        self.accept()


class SwitchDialog(QDialog):
    """Who is charting: an active clinician and their PIN (the lock's back-off on wrong ones).
    `chosen` holds them once the PIN matched."""

    def __init__(
        self,
        store: Store,
        parent: QWidget | None = None,
        title: str = "Who is charting?",
        clock: Clock | None = None,
    ) -> None:
        super().__init__(parent)
        self.store, self.clock = store, clock or SystemClock()
        self.chosen: Clinician | None = None
        self.setWindowTitle(title)
        self.who = QComboBox()
        for c in clinicians.active_clinicians(store):
            if c.has_pin:
                self.who.addItem(c.label, c.name)
        current = store.charting[0] if store.charting else None
        others = [i for i in range(self.who.count()) if self.who.itemData(i) != current]
        if others:
            self.who.setCurrentIndex(others[0])
        self.pin = _pin_field()
        self.pin.returnPressed.connect(self._on_ok)
        form = QFormLayout()
        form.addRow("Clinician", self.who)
        form.addRow("PIN", self.pin)
        self.problem = _problem_label()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._on_ok)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self.pin.setFocus()

    def _on_ok(self) -> None:
        name = self.who.currentData()
        if not name:
            self.problem.setText("There is no active clinician with a PIN.")
            return
        try:
            self.chosen = clinicians.authenticate(
                self.store, str(name), self.pin.text(), self.clock
            )
            clinicians.charting_as(self.store, self.chosen)
        except KapsessionError as exc:
            self.pin.clear()
            self.problem.setText(str(exc))
            return
        self.accept()


class ManageDialog(QDialog):
    """Every clinician, active or not; add one, deactivate the selected one (never deleted)."""

    def __init__(
        self,
        store: Store,
        confirm: Callable[[str, str], bool],
        parent: QWidget | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(parent)
        self.store, self.confirm, self.clock = store, confirm, clock or SystemClock()
        self.setWindowTitle("Clinicians")
        self.list = QListWidget()
        add = QPushButton("Add…")
        add.clicked.connect(self._on_add)
        self.deactivate = QPushButton("Deactivate")
        self.deactivate.clicked.connect(self._on_deactivate)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(self.deactivate)
        row.addStretch(1)
        row.addWidget(close)
        self.problem = _problem_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addWidget(self.problem)
        layout.addLayout(row)
        self.resize(480, 320)
        self.refresh()

    def refresh(self) -> None:
        self.list.clear()
        for c in clinicians.all_clinicians(self.store):
            state = "" if c.active else "  (deactivated)"
            self.list.addItem(f"{c.label}{state}")
            item = self.list.item(self.list.count() - 1)
            item.setData(Qt.ItemDataRole.UserRole, c.name)

    def _on_add(self) -> None:
        AddClinicianDialog(self.store, self, clock=self.clock).exec()
        self.refresh()

    def _on_deactivate(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        name = str(item.data(Qt.ItemDataRole.UserRole))
        if not self.confirm(
            "Deactivate?", f"{name} will no longer chart or sign. Their entries keep their name."
        ):
            return
        try:
            clinicians.deactivate(self.store, name, self.clock.now())
        except KapsessionError as exc:
            self.problem.setText(str(exc))
        self.refresh()


MEANINGS = ("reviewed and approved", "co-signed", "approved as prescriber", "reviewed")


class SignDialog(QDialog):
    """Sign or co-sign one ended session: the signer, the meaning and their PIN."""

    def __init__(
        self,
        store: Store,
        record: SessionRecord,
        tz: str,
        parent: QWidget | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(parent)
        self.store, self.record, self.tz = store, record, tz
        self.clock = clock or SystemClock()
        self.signature: signing.Signature | None = None
        self.setWindowTitle(f"Sign session #{record.id}")
        self.who = QComboBox()
        for c in clinicians.active_clinicians(store):
            if c.has_pin:
                self.who.addItem(c.label, c.name)
        signed = {s.name for s in signing.signatures(store.events(record.id))}
        current = store.charting[0] if store.charting else None
        order = [i for i in range(self.who.count()) if self.who.itemData(i) not in signed]
        order += [i for i in range(self.who.count()) if self.who.itemData(i) == current]
        if order:
            self.who.setCurrentIndex(order[0])
        self.meaning = QComboBox()
        self.meaning.setEditable(True)
        self.meaning.addItems(list(MEANINGS))
        if signed:
            self.meaning.setCurrentText("co-signed")
        self.pin = _pin_field()
        self.pin.returnPressed.connect(self._on_ok)
        form = QFormLayout()
        earlier = signing.signatures(store.events(record.id))
        shown = "; ".join(f"{s.name} ({s.meaning})" for s in earlier) or "not signed yet"
        form.addRow("Session", plain_label(f"#{record.id} · {record.client_code} · {shown}"))
        form.addRow("Signed by", self.who)
        form.addRow("Meaning", self.meaning)
        form.addRow("PIN", self.pin)
        self.problem = _problem_label()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign")
        buttons.accepted.connect(self._on_ok)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self.pin.setFocus()

    def _on_ok(self) -> None:
        try:
            self.signature = signing.sign(
                self.store,
                self.record.id,
                str(self.who.currentData() or ""),
                self.pin.text(),
                self.clock,
                self.tz,
                self.meaning.currentText(),
            )
        except KapsessionError as exc:
            self.pin.clear()
            self.problem.setText(str(exc))
            return
        self.accept()


def charting_text(store: Store) -> str:
    """ "Charting: A. Rivera (therapist)", or who the entries are unassigned to."""
    if store.charting is None:
        return "Charting: nobody named (entries unassigned)"
    name, role = store.charting
    return f"Charting: {name} ({role})"


def waiting_lines(store: Store, cosign: Collection[str]) -> list[tuple[int, str]]:
    """Sessions waiting for a signature or a co-signature, oldest first, as the list shows."""
    out = []
    for w in signing.waiting(store, cosign):
        ended = w.session.ended_at
        day = parse_iso(ended).astimezone().strftime("%Y-%m-%d") if ended else "-"
        out.append(
            (
                w.session.id,
                f"#{w.session.id} · {w.session.client_code} · ended {day} · waiting for {w.reason}",
            )
        )
    return out
