"""The dose clock across the room: T+mm:ss, the phase, what comes next, the music line and the
progress through the planned session."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from kapsession.session.live import LiveSession

from ..format import minutes_seconds, t_plus
from ..plain_text import plain_label


def _muted(name: str, size_pt: int) -> QLabel:
    label = plain_label()
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setProperty("role", "muted")
    label.setStyleSheet(f"font-size: {size_pt}pt;")
    label.setAccessibleName(name)
    return label


class ClockPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.clock = plain_label("T+00:00")
        self.clock.setProperty("role", "clock")
        self.clock.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.clock.setAccessibleName("Time since dose")
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setBold(True)
        font.setPixelSize(120)
        self.clock.setFont(font)
        self.phase = plain_label()
        self.phase.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.phase.setStyleSheet("font-size: 18pt;")
        self.phase.setAccessibleName("Planned length and phase")
        self.next_up = _muted("What is due next", 14)
        self.music_line = _muted("Music now playing", 13)
        self.music_line.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setRange(0, 1000)
        self.progress.setAccessibleName("Progress through the planned session")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.clock, 1)
        for widget in (self.phase, self.next_up, self.music_line, self.progress):
            layout.addWidget(widget)

    def fit(self, width: int, height: int) -> None:
        """The clock is sized to be read from across the room, whatever the window size."""
        font = self.clock.font()
        font.setPixelSize(max(56, min(int(width / 5.2), int(height / 4.2))))
        self.clock.setFont(font)

    def show_time(self, live: LiveSession) -> None:
        t = live.elapsed()
        self.clock.setText(t_plus(t))
        planned = live.record.planned_minutes
        over = t - live.planned_seconds
        self.phase.setText(
            f"of {planned} min · {live.phase().name.capitalize()} phase"
            + (f" · {minutes_seconds(over)} over plan" if over > 0 else "")
        )
        upcoming = live.next_up()
        if upcoming:
            label, at = upcoming[0]
            text = f"Next: {label.capitalize()} at {t_plus(at)} (in {minutes_seconds(at - t)})"
            if len(upcoming) > 1:
                text += f" · {upcoming[1][0]} {t_plus(upcoming[1][1])}"
        else:
            text = "Past the planned end: end the session when the client is ready"
        self.next_up.setText(text)
        self.progress.setValue(min(1000, int(1000 * t / live.planned_seconds)))

    def show_music(self, line: str) -> None:
        self.music_line.setText(line)
        self.music_line.setVisible(True)
