"""The home screen's clinician box: who is charting (Ctrl+U switches), the clinicians (add,
deactivate), and the sessions waiting for a signature or a co-signature, oldest first
(Ctrl+Shift+S signs the selected one)."""

from __future__ import annotations

from collections.abc import Callable, Collection

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QListWidget, QPushButton, QVBoxLayout, QWidget

from kapsession.storage.store import SessionRecord, Store

from ..plain_text import plain_label
from .dialogs import ManageDialog, SignDialog, SwitchDialog, charting_text, waiting_lines
from .keys import keep_ctrl_u

SWITCH_KEYS = "Ctrl+U"
SIGN_KEYS = "Ctrl+Shift+S"


def bind(widget: QWidget, keys: str, slot: Callable[[], object]) -> QShortcut:
    """Active in the window while `widget` shows (wherever the focus is, even on nothing
    after a dialog closed); a hidden screen's keys never fire."""
    shortcut = QShortcut(QKeySequence(keys), widget)
    shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
    shortcut.activated.connect(slot)
    return shortcut


class ClinicianPanel(QGroupBox):
    changed = Signal()  # someone signed, or who is charting changed

    def __init__(
        self,
        store: Store,
        tz: str,
        cosign: Collection[str],
        confirm: Callable[[str, str], bool],
        selected: Callable[[], SessionRecord | None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Clinicians and signatures", parent)
        self.store, self.tz, self.cosign = store, tz, cosign
        self._confirm, self._selected = confirm, selected
        self.charting = plain_label("")
        self.charting.setProperty("role", "muted")
        self.switch_button = QPushButton(f"Switch…  {SWITCH_KEYS}")
        self.switch_button.clicked.connect(self.switch)
        self.manage_button = QPushButton("Clinicians…")
        self.manage_button.clicked.connect(self.manage)
        self.waiting = QListWidget()
        self.waiting.setMaximumHeight(110)
        self.waiting.setAccessibleName("Sessions waiting for a signature")
        self.sign_button = QPushButton(f"Sign…  {SIGN_KEYS}")
        self.sign_button.clicked.connect(self.sign)
        top = QHBoxLayout()
        top.addWidget(self.charting, 1)
        top.addWidget(self.switch_button)
        top.addWidget(self.manage_button)
        bottom = QHBoxLayout()
        bottom.addWidget(plain_label("Waiting for a signature (oldest first):"), 1)
        bottom.addWidget(self.sign_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(bottom)
        layout.addWidget(self.waiting)

    def bind_keys(self, widget: QWidget) -> None:
        """Ctrl+U and Ctrl+Shift+S while `widget` (the home screen) shows."""
        bind(widget, SWITCH_KEYS, self.switch)
        bind(widget, SIGN_KEYS, self.sign)
        keep_ctrl_u(widget)

    def refresh(self) -> None:
        self.charting.setText(charting_text(self.store))
        self.waiting.clear()
        for sid, line in waiting_lines(self.store, self.cosign):
            self.waiting.addItem(line)
            self.waiting.item(self.waiting.count() - 1).setData(Qt.ItemDataRole.UserRole, sid)
        self.waiting.setVisible(self.waiting.count() > 0)

    def target(self) -> SessionRecord | None:
        """The session Ctrl+Shift+S signs: the waiting one selected here, else the session
        selected in the list if it has ended, else the oldest waiting one, else the one that
        ended last (to co-sign it)."""
        item = self.waiting.currentItem()
        if item is not None:
            return self.store.session(int(item.data(Qt.ItemDataRole.UserRole)))
        chosen = self._selected()
        if chosen is not None and chosen.state == "ended":
            return chosen
        if self.waiting.count():
            first = self.waiting.item(0).data(Qt.ItemDataRole.UserRole)
            return self.store.session(int(first))
        ended = [r for r in self.store.sessions() if r.state == "ended"]
        return max(ended, key=lambda r: (r.ended_at or "", r.id)) if ended else None

    def switch(self) -> None:
        if SwitchDialog(self.store, self.window()).exec():
            self.refresh()
            self.changed.emit()

    def manage(self) -> None:
        ManageDialog(self.store, self._confirm, self.window()).exec()
        self.refresh()

    def sign(self) -> None:
        record = self.target()
        if record is None:
            self.charting.setText("No ended session to sign: select one in the list.")
            return
        if SignDialog(self.store, record, self.tz, self.window()).exec():
            self.refresh()
            self.changed.emit()
