"""The live screen's top line (client, rehearsal badge, dose and protocol, the Shortcuts and End
buttons) and the client's intention, shown quietly below it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy

from kapsession.integration.preparation import shown_intention
from kapsession.session.live import LiveSession

from ..plain_text import plain_label


def quiet_button(text: str, slot: Callable[[], object]) -> QPushButton:
    """A button that never takes the focus from the note field."""
    button = QPushButton(text)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    button.clicked.connect(slot)
    return button


class Header(QHBoxLayout):
    def __init__(
        self, live: LiveSession, on_help: Callable[[], object], on_end: Callable[[], object]
    ) -> None:
        super().__init__()
        record = live.record
        who = plain_label(record.client_code)
        who.setStyleSheet("font-size: 15pt; font-weight: bold;")
        who.setAccessibleName("Client code")
        protocol = live.monitoring.protocol.name if live.monitoring else record.protocol
        plan = plain_label(f"{record.dose_mg:g} mg {record.route} · {protocol}")
        plan.setProperty("role", "muted")
        self.addWidget(who)
        if record.rehearsal:
            badge = plain_label(
                "REHEARSAL" + (f" ×{record.time_scale:g}" if record.time_scale != 1 else "")
            )
            badge.setProperty("role", "badge")
            badge.setAccessibleName("Rehearsal session")
            self.addWidget(badge)
        self.addWidget(plan)
        self.addStretch(1)
        # Who is charting, small and out of the way (Ctrl+U switches).
        self.charting = plain_label("")
        self.charting.setProperty("role", "muted")
        self.charting.setAccessibleName("Who is charting")
        self.addWidget(self.charting)
        self.help_button = quiet_button("Shortcuts  F1", on_help)
        self.end_button = quiet_button("End session…  Ctrl+Shift+E", on_end)
        self.addWidget(self.help_button)
        self.addWidget(self.end_button)


def intention_label(live: LiveSession) -> QLabel:
    """The client's intention from the latest preparation (else the plan's)."""
    shown = shown_intention(live.store, live.record)
    label = plain_label(f"Intention: {shown}" if shown else "")
    label.setProperty("role", "muted")
    label.setVisible(bool(shown))
    label.setWordWrap(False)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label
