"""The start gate in the dose question (issue 15): what is unmet before the dose (the
preparation's screening, fasting against the protocol, the pre-dose BP against its hold
threshold) is listed in the question, and going ahead needs a reason, which is recorded with the
dose. It never blocks silently and never hides the dose button: No keeps the session planned."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLineEdit, QVBoxLayout, QWidget

from kapsession.integration.preparation import gate_facts, session_gate
from kapsession.monitoring.dose_rules import DoseRules, gate_items
from kapsession.session.live import SessionService

from ..plain_text import plain_label

AskReason = Callable[[str, str], "str | None"]
REASON_LABEL = "Reason for giving the dose with these items unmet (recorded with the dose):"


def local_now(service: SessionService) -> datetime:
    """The wall time the fasting times are written in (the session's time zone), naive."""
    return service.clock.now().astimezone(ZoneInfo(service.tz)).replace(tzinfo=None)


def rules_for(service: SessionService, protocol: str) -> DoseRules:
    found = service.protocols.get(protocol)
    return found.dose_rules if found is not None else DoseRules()


def planned_items(service: SessionService, session_id: int, protocol: str) -> list[str]:
    return session_gate(service.store, session_id, rules_for(service, protocol), local_now(service))


def unprepared_items(service: SessionService, protocol: str) -> list[str]:
    """'Dose now' from the form: nothing prepared, so everything the gate reads is unmet."""
    return gate_items(rules_for(service, protocol), gate_facts(None), local_now(service))


class ReasonDialog(QDialog):
    """The dose question with its unmet items and a reason field; Give the dose is refused
    (said, not hidden) until a reason is typed."""

    def __init__(self, title: str, question: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        text = plain_label(question)
        text.setWordWrap(True)
        layout.addWidget(text)
        layout.addWidget(plain_label(REASON_LABEL))
        self.reason = QLineEdit()
        self.reason.setAccessibleName("Reason for going ahead")
        self.reason.setMaxLength(500)
        layout.addWidget(self.reason)
        self.message = plain_label()
        self.message.setProperty("role", "status")
        layout.addWidget(self.message)
        buttons = QDialogButtonBox()
        self.give = buttons.addButton("Give the dose", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton("Not now", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self._on_give)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.reason.setFocus()

    def _on_give(self) -> None:
        if not self.reason.text().strip():
            self.message.setText("Going ahead with unmet items needs a reason.")
            self.reason.setFocus()
            return
        self.accept()


def ask_reason(parent: QWidget | None, title: str, question: str) -> str | None:
    dialog = ReasonDialog(title, question, parent)
    try:
        return dialog.reason.text().strip() if dialog.exec() else None
    finally:
        dialog.deleteLater()
